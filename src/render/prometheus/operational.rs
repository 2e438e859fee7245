//! A service's operational alerts: its targets down, a high 5xx ratio, its autoscaler at
//! its maximum, its connection pools saturated, its rate limit rejecting, its pods crash
//! looping.
//!
//! The group is made from an [`OperationalInputs`] alone: everything the alerts read is a
//! field of it, so the patterns of [`super::reuse`], keyed on it, cannot miss a value a new
//! alert starts to read.

use std::collections::BTreeMap;
use std::ops::Mul;

use super::annotations::Annotations;
use super::{Rule, RuleGroup, alert, rate_sum};
use crate::model::{Platform, Replicas, Service};
use crate::render::error::RenderError;
use crate::render::promql::{
    Expr, Matcher, Ratio, aggregate, binary, binary_on, call, number, range, selector,
};
use crate::render::slo::MINUTE;
use crate::units::Duration;

/// What one service's operational group is made from. Names are owned: a pattern's key
/// holds placeholders in their place ([`OperationalInputs::with_placeholders`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OperationalInputs<'p> {
    pub service: String,
    pub namespace: &'p str,
    pub metrics: MetricNames<'p>,
    pub critical: bool,
    /// The service's team, which its alerts carry.
    pub team: Option<&'p str>,
    /// Maximum replicas and tier, when the service autoscales.
    pub autoscale: Option<(u32, &'p str)>,
    /// In the service's order.
    pub datastores: Vec<DatastoreInputs<'p>>,
    pub rate_limit: Option<RateLimitInputs<'p>>,
}

/// The metric and label names of `[observability]` the alerts query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetricNames<'p> {
    pub requests_metric: &'p str,
    pub service_label: &'p str,
    pub code_label: &'p str,
    pub pool_metric: &'p str,
    pub datastore_label: &'p str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatastoreInputs<'p> {
    pub datastore: String,
    pub pool: &'p str,
    pub pool_max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimitInputs<'p> {
    pub tier: &'p str,
    pub requests: u64,
    pub window: Duration,
}

impl<'p> OperationalInputs<'p> {
    pub fn of(platform: &'p Platform, service: &'p Service) -> OperationalInputs<'p> {
        let o = &platform.observability;
        OperationalInputs {
            service: service.name.get_ref().clone(),
            namespace: &platform.namespace,
            metrics: MetricNames {
                requests_metric: &o.requests_metric,
                service_label: &o.service_label,
                code_label: &o.code_label,
                pool_metric: &o.pool_metric,
                datastore_label: &o.datastore_label,
            },
            critical: *service.critical.get_ref(),
            team: service.team.as_ref().map(|t| t.get_ref().as_str()),
            autoscale: match &service.replicas {
                Replicas::Auto(auto) => Some((*auto.max.get_ref(), auto.tier.get_ref().as_str())),
                Replicas::Fixed { .. } => None,
            },
            datastores: service
                .datastores
                .iter()
                .filter_map(|(ds, pool_name)| {
                    let pool = platform.pools.get(pool_name.get_ref())?;
                    Some(DatastoreInputs {
                        datastore: ds.get_ref().clone(),
                        pool: &pool.name,
                        pool_max: *pool.max.get_ref(),
                    })
                })
                .collect(),
            rate_limit: service
                .rate_limit
                .as_ref()
                .and_then(|tier| platform.rate_limits.get(tier.get_ref()))
                .map(|rl| RateLimitInputs {
                    tier: &rl.name,
                    requests: rl.requests,
                    window: rl.window,
                }),
        }
    }

    /// The names that go into the group's strings as they are, in placeholder order: the
    /// service's, then its datastores'.
    pub fn names(&self) -> Vec<&str> {
        std::iter::once(self.service.as_str())
            .chain(self.datastores.iter().map(|d| d.datastore.as_str()))
            .collect()
    }

    /// The same inputs with `placeholder(i)` in place of name `i` of [`Self::names`].
    pub fn with_placeholders(&self, placeholder: impl Fn(usize) -> char) -> OperationalInputs<'p> {
        let mut marked = self.clone();
        marked.service = placeholder(0).to_string();
        for (i, d) in marked.datastores.iter_mut().enumerate() {
            d.datastore = placeholder(i + 1).to_string();
        }
        marked
    }
}

/// The alert of a service whose every target is down.
pub const SERVICE_DOWN: &str = "ServiceDown";

/// The alerts of the group, by name.
pub const ALERTS: [&str; 7] = [
    "ServiceDown",
    "TargetDown",
    "High5xxRatio",
    "HPAMaxedOut",
    "PoolSaturation",
    "RateLimitRejections",
    "PodCrashLooping",
];

/// The operational group of the service `inputs` describes.
pub fn group(
    inputs: &OperationalInputs<'_>,
    annotations: &Annotations,
) -> Result<RuleGroup, RenderError> {
    let alerts = Alerts {
        inputs,
        annotations,
    };
    let mut rules = vec![
        alerts.service_down()?,
        alerts.target_down()?,
        alerts.high_5xx_ratio()?,
    ];
    if let Some((max, tier)) = inputs.autoscale {
        rules.push(alerts.hpa_maxed_out(max, tier)?);
    }
    for datastore in &inputs.datastores {
        rules.push(alerts.pool_saturation(datastore)?);
    }
    if let Some(rate_limit) = &inputs.rate_limit {
        rules.push(alerts.rate_limit_rejections(rate_limit)?);
    }
    rules.push(alerts.pod_crash_looping()?);
    Ok(RuleGroup {
        name: format!("berrys-{}-operational", inputs.service),
        rules,
    })
}

/// The service's ServiceDown alert alone, as its group holds it.
pub fn service_down(
    inputs: &OperationalInputs<'_>,
    annotations: &Annotations,
) -> Result<Rule, RenderError> {
    Alerts {
        inputs,
        annotations,
    }
    .service_down()
}

/// The alerts of one service's group.
struct Alerts<'a, 'p> {
    inputs: &'a OperationalInputs<'p>,
    annotations: &'a Annotations,
}

impl Alerts<'_, '_> {
    fn svc(&self) -> &str {
        &self.inputs.service
    }

    /// Critical services page for what stops them serving; others open a ticket.
    fn urgent(&self) -> &'static str {
        if self.inputs.critical {
            "page"
        } else {
            "ticket"
        }
    }

    /// What every alert of the service carries: its severity, its service, and the
    /// namespace and team that alert routing matches on.
    fn labels(&self, severity: &str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            ("severity".to_string(), severity.to_string()),
            ("service".to_string(), self.svc().to_string()),
            ("namespace".to_string(), self.inputs.namespace.to_string()),
        ]);
        if let Some(team) = self.inputs.team {
            labels.insert("team".to_string(), team.to_string());
        }
        labels
    }

    fn context(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("service", self.svc().to_string()),
            ("namespace", self.inputs.namespace.to_string()),
        ])
    }

    fn alert(
        &self,
        name: &str,
        expr: Expr,
        for_: &str,
        severity: &str,
        ctx: &BTreeMap<&str, String>,
    ) -> Result<Rule, RenderError> {
        Ok(alert(
            name,
            expr,
            Some(for_),
            self.labels(severity),
            self.annotations.render(name, self.svc(), ctx)?,
        ))
    }

    /// The service's request rate over five minutes, of responses with `code` if given.
    fn requests(&self, code: Option<Matcher>) -> Expr {
        let m = &self.inputs.metrics;
        let mut matchers = vec![
            Matcher::eq("namespace", self.inputs.namespace),
            Matcher::eq(m.service_label, self.svc()),
        ];
        matchers.extend(code);
        rate_sum(m.requests_metric, matchers, Duration { millis: 5 * MINUTE })
    }

    fn up(&self) -> Expr {
        selector(
            "up",
            vec![
                Matcher::eq("namespace", self.inputs.namespace),
                Matcher::eq("job", self.svc()),
            ],
        )
    }

    /// Every target of the service down: the cause alert routing pages for, which
    /// silences its dependents' alerts. Pages whether or not the service is critical.
    ///
    /// No target at all (every pod gone, or none discovered) is down too: `up` then has no
    /// series, so `absent` answers, aggregated to the same labels so the alert keeps one
    /// identity whichever branch holds.
    fn service_down(&self) -> Result<Rule, RenderError> {
        let every_target_down = binary(
            aggregate("max", false, &["namespace"], self.up()),
            "==",
            number(Ratio::int(0)),
        );
        let no_target = aggregate("max", false, &["namespace"], call("absent", self.up()));
        let expr = binary(every_target_down, "or", no_target);
        self.alert(SERVICE_DOWN, expr, "2m", "page", &self.context())
    }

    fn target_down(&self) -> Result<Rule, RenderError> {
        let expr = binary(self.up(), "==", number(Ratio::int(0)));
        self.alert("TargetDown", expr, "5m", self.urgent(), &self.context())
    }

    fn high_5xx_ratio(&self) -> Result<Rule, RenderError> {
        let errors = self.requests(Some(Matcher::re(self.inputs.metrics.code_label, "5..")));
        let ratio = binary(errors, "/", self.requests(None));
        let expr = binary(ratio, ">", number(Ratio::new(5, 100)));
        self.alert("High5xxRatio", expr, "10m", self.urgent(), &self.context())
    }

    fn hpa_maxed_out(&self, max: u32, tier: &str) -> Result<Rule, RenderError> {
        let hpa = |metric: &str| {
            selector(
                metric,
                vec![
                    Matcher::eq("namespace", self.inputs.namespace),
                    Matcher::eq("horizontalpodautoscaler", self.svc()),
                ],
            )
        };
        let mut ctx = self.context();
        ctx.insert("max_replicas", max.to_string());
        ctx.insert("tier", tier.to_string());
        let expr = binary_on(
            hpa("kube_horizontalpodautoscaler_status_current_replicas"),
            ">=",
            "on (namespace, horizontalpodautoscaler)",
            hpa("kube_horizontalpodautoscaler_spec_max_replicas"),
        );
        self.alert("HPAMaxedOut", expr, "15m", "ticket", &ctx)
    }

    fn pool_saturation(&self, d: &DatastoreInputs<'_>) -> Result<Rule, RenderError> {
        let m = &self.inputs.metrics;
        let threshold = Ratio::int(i128::from(d.pool_max)).mul(Ratio::new(9, 10));
        let mut ctx = self.context();
        ctx.insert("datastore", d.datastore.clone());
        ctx.insert("pool", d.pool.to_string());
        ctx.insert("pool_max", d.pool_max.to_string());
        let in_use = selector(
            m.pool_metric,
            vec![
                Matcher::eq("namespace", self.inputs.namespace),
                Matcher::eq(m.service_label, self.svc()),
                Matcher::eq(m.datastore_label, &d.datastore),
            ],
        );
        let expr = binary(
            aggregate("max", false, &["pod"], in_use),
            ">",
            number(threshold),
        );
        let mut rule = self.alert("PoolSaturation", expr, "10m", "ticket", &ctx)?;
        rule.labels
            .insert("datastore".to_string(), d.datastore.clone());
        Ok(rule)
    }

    fn rate_limit_rejections(&self, rl: &RateLimitInputs<'_>) -> Result<Rule, RenderError> {
        let limit_per_second = Ratio::new(
            i128::from(rl.requests) * 1000,
            i128::from(rl.window.millis.max(1)),
        );
        let mut ctx = self.context();
        ctx.insert("requests", rl.requests.to_string());
        ctx.insert("window", rl.window.to_string());
        ctx.insert("tier", rl.tier.to_string());
        let rejected = self.requests(Some(Matcher::eq(self.inputs.metrics.code_label, "429")));
        let expr = binary(
            rejected,
            ">",
            number(limit_per_second.mul(Ratio::new(5, 100))),
        );
        self.alert("RateLimitRejections", expr, "10m", "ticket", &ctx)
    }

    fn pod_crash_looping(&self) -> Result<Rule, RenderError> {
        let restarts = range(
            "kube_pod_container_status_restarts_total",
            vec![
                Matcher::eq("namespace", self.inputs.namespace),
                Matcher::eq("container", self.svc()),
            ],
            Duration {
                millis: 15 * MINUTE,
            },
        );
        let expr = binary(call("increase", restarts), ">=", number(Ratio::int(3)));
        self.alert(
            "PodCrashLooping",
            expr,
            "5m",
            self.urgent(),
            &self.context(),
        )
    }
}
