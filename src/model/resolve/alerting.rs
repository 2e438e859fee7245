//! `[alerting]` with its defaults, and the references of its routes and of services'
//! `team`.

use std::collections::BTreeMap;

use super::{Resolver, duration, names, unknown};
use crate::model::Sp;
use crate::model::alerting::{
    Alerting, NONE_RECEIVER, Receiver, SecretKey, SeverityRoutes, Slack, Team,
};
use crate::model::raw::{RawAlerting, RawReceiver, RawService, RawSeverityRoutes};
use crate::units::Duration;

const DEFAULT_GROUP_BY: [&str; 2] = ["alertname", "service"];
const DEFAULT_REPEAT_INTERVAL: Duration = Duration {
    millis: 4 * 3600 * 1000,
};

/// `secret-name/key`, which the schema has checked the shape of.
fn secret_key(reference: &str) -> SecretKey {
    let (name, key) = reference.split_once('/').unwrap_or((reference, ""));
    SecretKey {
        name: name.to_string(),
        key: key.to_string(),
    }
}

fn receiver(name: &Sp<String>, raw: &RawReceiver) -> Receiver {
    Receiver {
        name: name.clone(),
        pagerduty: raw
            .pagerduty
            .as_ref()
            .map(|p| secret_key(p.get_ref().routing_key_secret.get_ref())),
        webhook: raw
            .webhook
            .as_ref()
            .map(|w| w.get_ref().url.get_ref().clone()),
        slack: raw.slack.as_ref().map(|s| {
            let s = s.get_ref();
            Slack {
                channel: s.channel.get_ref().clone(),
                api_url: secret_key(s.api_url_secret.get_ref()),
            }
        }),
    }
}

impl Resolver<'_> {
    /// `[alerting]`, when the document has one.
    pub(super) fn alerting(&mut self) -> Option<Alerting> {
        let table = self.raw.alerting.as_ref()?;
        let raw = table.get_ref();
        let mut receivers = BTreeMap::new();
        for (name, r) in &raw.receivers {
            if name.get_ref() == NONE_RECEIVER {
                self.invalid(
                    format!("`{NONE_RECEIVER}` is the built-in receiver that drops alerts"),
                    name.span(),
                    "reserved name",
                    "give this receiver another name; route to `none` to drop a severity",
                );
                continue;
            }
            if let Some(webhook) = &r.get_ref().webhook {
                self.check_webhook_url(&webhook.get_ref().url);
            }
            if let Some(slack) = &r.get_ref().slack {
                self.check_template_text(&slack.get_ref().channel, "the Slack channel");
            }
            receivers.insert(name.get_ref().clone(), receiver(name, r.get_ref()));
        }
        let known: Vec<&str> = names(&raw.receivers)
            .into_iter()
            .filter(|n| *n != NONE_RECEIVER)
            .chain([NONE_RECEIVER])
            .collect();
        let routes = raw
            .routes
            .as_ref()
            .map(|r| self.severity_routes(r.get_ref(), &known))
            .unwrap_or_default();
        let teams = raw
            .teams
            .iter()
            .map(|(name, routes)| {
                let team = Team {
                    name: name.clone(),
                    routes: self.severity_routes(routes.get_ref(), &known),
                };
                (name.get_ref().clone(), team)
            })
            .collect();
        Some(Alerting {
            span: table.span(),
            group_by: raw.group_by.as_ref().map_or_else(
                || DEFAULT_GROUP_BY.map(str::to_string).to_vec(),
                |g| g.iter().map(|l| l.get_ref().clone()).collect(),
            ),
            repeat_interval: self.repeat_interval(raw),
            inhibit_dependents: raw.inhibit_dependents.as_ref().is_none_or(|v| *v.get_ref()),
            receivers,
            routes,
            teams,
        })
    }

    fn repeat_interval(&mut self, raw: &RawAlerting) -> Duration {
        let Some(value) = &raw.repeat_interval else {
            return DEFAULT_REPEAT_INTERVAL;
        };
        let reported = self.diags.len();
        let interval = duration(&mut self.diags, value, "repeat interval");
        if self.diags.len() > reported {
            return DEFAULT_REPEAT_INTERVAL;
        }
        if interval.get_ref().millis == 0 {
            self.invalid(
                "a repeat interval of zero would notify without pause".to_string(),
                interval.span(),
                "zero interval",
                "use the time after which a still-firing alert is worth telling again, e.g. \"4h\"",
            );
            return DEFAULT_REPEAT_INTERVAL;
        }
        interval.into_inner()
    }

    /// A route per severity, each naming a defined receiver or `none` (others are reported
    /// and left out).
    fn severity_routes(&mut self, raw: &RawSeverityRoutes, known: &[&str]) -> SeverityRoutes {
        let mut check = |route: &Option<Sp<String>>| {
            let route = route.as_ref()?;
            if known.contains(&route.get_ref().as_str()) {
                return Some(route.clone());
            }
            self.diags.push(unknown(
                "receiver",
                route,
                known,
                "an `[alerting.receivers.<name>]` table, or route to `none`",
            ));
            None
        };
        SeverityRoutes {
            page: check(&raw.page),
            ticket: check(&raw.ticket),
            info: check(&raw.info),
        }
    }

    /// A service's `team`, when it names a team of `[alerting.teams]`.
    pub(super) fn team(&mut self, svc: &RawService) -> Option<Sp<String>> {
        let team = svc.team.as_ref()?;
        let teams = self.raw.alerting.as_ref().map(|a| &a.get_ref().teams);
        if teams.is_some_and(|t| t.contains_key(team.get_ref().as_str())) {
            return Some(team.clone());
        }
        let known = teams.map(names).unwrap_or_default();
        self.diags.push(unknown(
            "team",
            team,
            &known,
            "an `[alerting.teams.<team>]` table (it may be empty)",
        ));
        None
    }
}
