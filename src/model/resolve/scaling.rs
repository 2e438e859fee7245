//! A service's replicas: its scaling tier with the service's and the environment's
//! overrides, or a fixed count.

use super::{Resolver, duration, names, sp, unknown};
use crate::diagnostic::Diagnostic;
use crate::model::raw::{RawPolicy, RawScaling, RawService};
use crate::model::{Autoscale, Policy, Replicas, Sp};
use crate::units::Duration;

impl Resolver<'_> {
    pub(super) fn policy(
        &mut self,
        base: Option<&RawPolicy>,
        over: Option<&RawPolicy>,
    ) -> Option<Policy> {
        if base.is_none() && over.is_none() {
            return None;
        }
        let empty = RawPolicy::default();
        let b = base.unwrap_or(&empty);
        let o = over.unwrap_or(&empty);
        let stabilization = o
            .stabilization
            .as_ref()
            .or(b.stabilization.as_ref())
            .map(|s| duration(&mut self.diags, s, "stabilization window"));
        let period = o
            .period
            .as_ref()
            .or(b.period.as_ref())
            .map(|s| duration(&mut self.diags, s, "policy period"));
        if let Some(s) = &stabilization
            && s.get_ref().millis > 3_600_000
        {
            self.invalid(
                format!(
                    "stabilization window {} is longer than one hour",
                    s.get_ref()
                ),
                s.span(),
                "at most 1h",
                "Kubernetes accepts HPA stabilization windows from 0s to 1h",
            );
        }
        if let Some(p) = &period
            && !(1_000..=1_800_000).contains(&p.get_ref().millis)
        {
            self.invalid(
                format!("policy period {} is outside 1s–30m", p.get_ref()),
                p.span(),
                "between 1s and 30m",
                "Kubernetes accepts HPA policy periods from 1s to 30m",
            );
        }
        Some(Policy {
            stabilization,
            max_pods: o
                .max_pods
                .as_ref()
                .or(b.max_pods.as_ref())
                .map(|v| *v.get_ref()),
            max_percent: o
                .max_percent
                .as_ref()
                .or(b.max_percent.as_ref())
                .map(|v| *v.get_ref()),
            period: period.map_or(Duration::from_secs(60), |p| p.into_inner()),
        })
    }

    /// The replica settings of a service: its tier with overrides, or a fixed count.
    pub(super) fn replicas(
        &mut self,
        svc: &RawService,
        autoscaling: bool,
        env_replicas: Option<&Sp<u32>>,
        env_set_replicas: bool,
    ) -> Replicas {
        if let (Some(scaling), Some(replicas), false) =
            (&svc.scaling, &svc.replicas, env_set_replicas)
        {
            self.diags.push(
                Diagnostic::new(
crate::diagnostic::codes::INVALID_VALUE,
                    "`scaling` and `replicas` are both set".to_string(),
                    replicas.span(),
                    "fixed replica count",
                )
                .with_secondary(scaling.span(), "scaling tier")
                .with_help("a service either autoscales within a tier or runs a fixed number of replicas: remove one of them"),
            );
        }
        let tier = svc.scaling.as_ref().and_then(|s| {
            let (tier_name, over) = match s.get_ref() {
                RawScaling::Tier(name) => (sp(s.span(), name.clone()), None),
                RawScaling::Inline(o) => (o.tier.clone(), Some(o.as_ref())),
            };
            let Some((_, tier)) = self.raw.scaling.get_key_value(tier_name.get_ref().as_str())
            else {
                let known = names(&self.raw.scaling);
                self.diags.push(unknown(
                    "scaling tier",
                    &tier_name,
                    &known,
                    "a `[scaling.<tier>]` table",
                ));
                return None;
            };
            let tier = tier.get_ref();
            let pick = |o: Option<&Option<Sp<u32>>>, b: &Option<Sp<u32>>| {
                o.and_then(|v| v.clone()).or_else(|| b.clone())
            };
            let min = over
                .and_then(|o| o.min_replicas.clone())
                .unwrap_or_else(|| tier.min_replicas.clone());
            let max = over
                .and_then(|o| o.max_replicas.clone())
                .unwrap_or_else(|| tier.max_replicas.clone());
            let overridden =
                over.is_some_and(|o| o.min_replicas.is_some() || o.max_replicas.is_some());
            if overridden && min.get_ref() > max.get_ref() {
                self.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!(
                            "`min_replicas` ({}) is greater than `max_replicas` ({})",
                            min.get_ref(),
                            max.get_ref()
                        ),
                        min.span(),
                        "minimum",
                    )
                    .with_secondary(max.span(), "maximum")
                    .with_help("raise `max_replicas` or lower `min_replicas`"),
                );
            }
            let scale_up = self.policy(
                tier.scale_up.as_ref().map(|p| p.get_ref()),
                over.and_then(|o| o.scale_up.as_ref()).map(|p| p.get_ref()),
            );
            let scale_down = self.policy(
                tier.scale_down.as_ref().map(|p| p.get_ref()),
                over.and_then(|o| o.scale_down.as_ref())
                    .map(|p| p.get_ref()),
            );
            Some(Autoscale {
                tier: tier_name,
                min,
                max,
                cpu_target: pick(over.map(|o| &o.cpu_target), &tier.cpu_target),
                memory_target: pick(over.map(|o| &o.memory_target), &tier.memory_target),
                scale_up,
                scale_down,
            })
        });
        let fallback_span = svc.image.span();
        match (tier, &svc.replicas) {
            // An environment's service override of `replicas` is the most specific setting.
            (_, Some(r)) if env_set_replicas => Replicas::Fixed {
                count: *r.get_ref(),
                span: r.span(),
            },
            (Some(auto), _) if autoscaling => Replicas::Auto(Box::new(auto)),
            (Some(auto), _) => match env_replicas {
                Some(r) => Replicas::Fixed {
                    count: *r.get_ref(),
                    span: r.span(),
                },
                None => Replicas::Fixed {
                    count: *auto.min.get_ref(),
                    span: auto.min.span(),
                },
            },
            (None, Some(r)) => match env_replicas {
                Some(er) => Replicas::Fixed {
                    count: *er.get_ref(),
                    span: er.span(),
                },
                None => Replicas::Fixed {
                    count: *r.get_ref(),
                    span: r.span(),
                },
            },
            (None, None) => match env_replicas {
                Some(er) => Replicas::Fixed {
                    count: *er.get_ref(),
                    span: er.span(),
                },
                None => Replicas::Fixed {
                    count: 1,
                    span: fallback_span,
                },
            },
        }
    }
}
