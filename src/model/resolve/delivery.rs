//! A service's delivery: its profile with the service's overrides, checked against the
//! strategy they belong to.

use std::ops::Range;

use super::{Resolver, duration, names, sp, unknown};
use crate::model::raw::{RawDelivery, RawDeliveryProfile, RawDocument, RawService};
use crate::model::{BlueGreen, Canary, Delivery, Sp, Strategy, Traffic};
use crate::units::Duration;

/// The strategies of `[delivery.<profile>] strategy`, and the keys each takes.
const STRATEGY_KEYS: [(&str, &[&str]); 3] = [
    ("rolling", &[]),
    (
        "canary",
        &[
            "steps",
            "pause",
            "analysis",
            "max_burn_rate",
            "min_requests",
            "traffic",
        ],
    ),
    (
        "blue-green",
        &[
            "pause",
            "analysis",
            "max_burn_rate",
            "min_requests",
            "auto_promote",
            "scale_down_delay",
            "preview_replicas",
        ],
    ),
];

const DEFAULT_STEPS: [u32; 4] = [10, 25, 50, 75];
const DEFAULT_MIN_REQUESTS: u64 = 50;

/// The keys a profile or an override sets, each with its span.
fn keys_set(p: &RawDeliveryProfile) -> Vec<(&'static str, Range<usize>)> {
    let mut keys = Vec::new();
    let mut add = |name: &'static str, span: Option<Range<usize>>| {
        if let Some(span) = span {
            keys.push((name, span));
        }
    };
    add("steps", p.steps.as_ref().map(|v| v.span()));
    add("pause", p.pause.as_ref().map(|v| v.span()));
    add("analysis", p.analysis.as_ref().map(|v| v.span()));
    add("max_burn_rate", p.max_burn_rate.as_ref().map(|v| v.span()));
    add("min_requests", p.min_requests.as_ref().map(|v| v.span()));
    add("traffic", p.traffic.as_ref().map(|v| v.span()));
    add("auto_promote", p.auto_promote.as_ref().map(|v| v.span()));
    add(
        "scale_down_delay",
        p.scale_down_delay.as_ref().map(|v| v.span()),
    );
    add(
        "preview_replicas",
        p.preview_replicas.as_ref().map(|v| v.span()),
    );
    keys
}

fn strategy_name(p: &RawDeliveryProfile) -> &str {
    p.strategy
        .as_ref()
        .map_or("rolling", |s| s.get_ref().as_str())
}

/// The strategy that takes `key`, for the message about a key in the wrong profile.
fn owner_of(key: &str) -> &'static str {
    match key {
        "steps" | "traffic" => "canary",
        _ => "blue-green",
    }
}

/// A duration the profile checks have already reported if it does not parse.
fn parsed(value: &Sp<String>) -> Sp<Duration> {
    sp(
        value.span(),
        Duration::parse(value.get_ref()).unwrap_or(Duration { millis: 0 }),
    )
}

/// Checks every profile: its keys belong to its strategy and its steps increase.
pub(super) fn check_delivery_profiles(r: &mut Resolver<'_>, raw: &RawDocument) {
    for profile in raw.delivery.values() {
        let p = profile.get_ref();
        r.check_keys(p, strategy_name(p), "profile");
        r.check_steps(p);
        r.check_pause(p);
    }
}

impl Resolver<'_> {
    /// Keys set in `p` that the strategy `strategy` does not take.
    fn check_keys(&mut self, p: &RawDeliveryProfile, strategy: &str, whose: &str) {
        let allowed = STRATEGY_KEYS
            .iter()
            .find(|(s, _)| *s == strategy)
            .map_or(&[][..], |(_, keys)| *keys);
        for (key, span) in keys_set(p) {
            if allowed.contains(&key) {
                continue;
            }
            let help = if strategy == "rolling" {
                format!(
                    "a rolling update takes no delivery settings: set `strategy = \"{}\"` in the profile, or remove `{key}`",
                    owner_of(key)
                )
            } else {
                format!(
                    "`{key}` is a setting of `{}` releases; remove it, or use a `{}` profile",
                    owner_of(key),
                    owner_of(key)
                )
            };
            self.invalid(
                format!("`{key}` does not apply to a {strategy} {whose}"),
                span,
                "not a setting of this strategy",
                &help,
            );
        }
    }

    fn check_steps(&mut self, p: &RawDeliveryProfile) {
        let Some(steps) = &p.steps else {
            return;
        };
        for pair in steps.get_ref().windows(2) {
            if pair[1].get_ref() <= pair[0].get_ref() {
                self.invalid(
                    format!(
                        "canary steps must increase: {} follows {}",
                        pair[1].get_ref(),
                        pair[0].get_ref()
                    ),
                    pair[1].span(),
                    "not above the previous step",
                    "list the traffic weights in increasing order, e.g. [10, 25, 50, 75]; 100 follows the last",
                );
            }
        }
    }

    fn check_pause(&mut self, p: &RawDeliveryProfile) {
        for (value, what) in [
            (&p.pause, "pause"),
            (&p.scale_down_delay, "scale-down delay"),
        ] {
            let Some(value) = value else { continue };
            let millis = duration(&mut self.diags, value, what).get_ref().millis;
            // A duration that does not parse has been reported (as 0) just above.
            let problem = match Duration::parse(value.get_ref()) {
                Ok(_) if millis == 0 => "is no time at all",
                Ok(_) if !millis.is_multiple_of(1000) => "is not a whole number of seconds",
                _ => continue,
            };
            self.invalid(
                format!("a {what} of {} {problem}", value.get_ref()),
                value.span(),
                "whole seconds",
                "Argo Rollouts counts in seconds: write \"30s\", \"5m\" or \"1h\"",
            );
        }
    }

    /// The delivery of a service, or `None` for a rolling update (also when the
    /// environment turns progressive delivery off).
    pub(super) fn delivery(
        &mut self,
        svc: &RawService,
        progressive: bool,
        has_ingress: Option<Range<usize>>,
    ) -> Option<Delivery> {
        let value = svc.delivery.as_ref()?;
        let (name, over) = match value.get_ref() {
            RawDelivery::Profile(name) => (sp(value.span(), name.clone()), None),
            RawDelivery::Inline(o) => (o.profile.clone()?, Some(o.as_ref())),
        };
        let Some(profile) = self.raw.delivery.get(name.get_ref().as_str()) else {
            let known = names(&self.raw.delivery);
            self.diags.push(unknown(
                "delivery profile",
                &name,
                &known,
                "a `[delivery.<profile>]` table",
            ));
            return None;
        };
        let base = profile.get_ref();
        let strategy = strategy_name(base).to_string();
        if let Some(o) = over {
            self.check_keys(o, &strategy, "profile's override");
            self.check_steps(o);
            self.check_pause(o);
        }
        if !progressive || strategy == "rolling" {
            return None;
        }
        let empty = RawDeliveryProfile::default();
        let o = over.unwrap_or(&empty);
        macro_rules! pick {
            ($field:ident) => {
                o.$field.as_ref().or(base.$field.as_ref())
            };
        }
        let strategy = match strategy.as_str() {
            "canary" => {
                let traffic = pick!(traffic);
                let nginx = traffic.is_some_and(|t| t.get_ref() == "nginx");
                if let (true, None, Some(t)) = (nginx, &has_ingress, traffic) {
                    self.diags.push(
                        crate::diagnostic::Diagnostic::new(
                            crate::diagnostic::codes::INVALID_VALUE,
                            "`traffic = \"nginx\"` needs the service's Ingress, and it has none"
                                .to_string(),
                            t.span(),
                            "nginx canary",
                        )
                        .with_secondary(value.span(), "a service without `ingress`")
                        .with_help("add `ingress = { host = \"…\" }` to the service, or use `traffic = \"replicas\"`"),
                    );
                }
                Strategy::Canary(Canary {
                    steps: pick!(steps).map_or_else(
                        || DEFAULT_STEPS.map(|s| sp(name.span(), s)).to_vec(),
                        |s| s.get_ref().clone(),
                    ),
                    traffic: if nginx {
                        Traffic::Nginx
                    } else {
                        Traffic::Replicas
                    },
                })
            }
            _ => Strategy::BlueGreen(BlueGreen {
                auto_promote: pick!(auto_promote).is_some_and(|a| *a.get_ref()),
                scale_down_delay: pick!(scale_down_delay).map(parsed),
                preview_replicas: pick!(preview_replicas).cloned(),
            }),
        };
        let pause = match pick!(pause) {
            Some(p) => parsed(p),
            None => sp(name.span(), Duration::from_secs(300)),
        };
        Some(Delivery {
            profile: name.clone(),
            strategy,
            pause,
            analysis: pick!(analysis)
                .cloned()
                .unwrap_or_else(|| sp(name.span(), true)),
            max_burn_rate: pick!(max_burn_rate).cloned(),
            min_requests: pick!(min_requests).map_or(DEFAULT_MIN_REQUESTS, |m| *m.get_ref()),
            span: value.span(),
        })
    }
}
