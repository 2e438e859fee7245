//! What the dashboard templates are given: typed contexts with the queries, built from
//! typed PromQL pieces, and the configured numbers for threshold lines.

use std::collections::BTreeMap;
use std::ops::{Div, Sub};

use serde::Serialize;
use serde_json::{Value, json};

use super::{title, uid};
use crate::graph::Compiled;
use crate::model::{Platform, Replicas, Service};
use crate::render::analysis::HASH_LABEL;
use crate::render::promql::{
    Expr, Matcher, Ratio, aggregate, binary, binary_on, call, call_args, number, paren,
    range_grafana, selector, sum,
};
use crate::render::slo::{PAGE, burn_factor, slos};

#[derive(Serialize)]
pub(super) struct Target {
    datasource: Value,
    #[serde(rename = "refId")]
    ref_id: String,
    expr: String,
    #[serde(rename = "legendFormat")]
    legend: String,
    range: bool,
    instant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct Step {
    pub(super) color: &'static str,
    #[serde(serialize_with = "plain_number")]
    pub(super) value: f64,
}

/// Whole numbers without a fractional part (`1073741824`, not `1073741824.0`).
pub(super) fn plain_number<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        s.serialize_i64(*value as i64)
    } else {
        s.serialize_f64(*value)
    }
}

pub(super) struct Queries<'a> {
    pub(super) platform: &'a Platform,
    pub(super) datasource: Value,
}

impl Queries<'_> {
    /// Time-series targets, lettered A, B, C… in order.
    pub(super) fn series(&self, exprs: Vec<(Expr, &str)>) -> Vec<Target> {
        self.targets(exprs, false)
    }

    fn targets(&self, exprs: Vec<(Expr, &str)>, table: bool) -> Vec<Target> {
        exprs
            .into_iter()
            .enumerate()
            .map(|(i, (expr, legend))| Target {
                datasource: self.datasource.clone(),
                ref_id: ref_id(i),
                expr: expr.text(),
                legend: legend.to_string(),
                range: !table,
                instant: table,
                format: table.then_some("table"),
            })
            .collect()
    }

    /// A service's series in this environment's namespace alone, of `extra` if given.
    fn service(&self, matcher: Matcher, extra: Option<Matcher>) -> Vec<Matcher> {
        let mut m = vec![Matcher::eq("namespace", &self.platform.namespace), matcher];
        m.extend(extra);
        m
    }

    fn requests(&self, svc: &Matcher, code: Option<Matcher>) -> Expr {
        let o = &self.platform.observability;
        call(
            "rate",
            range_grafana(&o.requests_metric, self.service(svc.clone(), code)),
        )
    }

    fn ratio(&self, svc: &Matcher, code: Matcher, by: &[&str]) -> Expr {
        binary(
            aggregate("sum", false, by, self.requests(svc, Some(code))),
            "/",
            aggregate("sum", false, by, self.requests(svc, None)),
        )
    }

    fn quantile(&self, svc: &Matcher, q: Ratio, by: &[&str]) -> Expr {
        let o = &self.platform.observability;
        let mut labels = by.to_vec();
        labels.push("le");
        call_args(
            "histogram_quantile",
            vec![
                number(q),
                aggregate(
                    "sum",
                    false,
                    &labels,
                    call(
                        "rate",
                        range_grafana(
                            &format!("{}_bucket", o.latency_metric),
                            self.service(svc.clone(), None),
                        ),
                    ),
                ),
            ],
        )
    }

    pub(super) fn kube(&self, metric: &str, label: &str, value: Matcher) -> Expr {
        let mut value = value;
        value.label = label.to_string();
        selector(
            metric,
            vec![Matcher::eq("namespace", &self.platform.namespace), value],
        )
    }
}

pub(super) fn ref_id(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = String::new();
    let mut n = i;
    loop {
        id.insert(0, char::from(letters[n % 26]));
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    id
}

/// A dashboard link: to a dependency's dashboard, or to all of the platform's. The fields
/// are in the order of their names, the order in which the template engine writes a map's
/// keys, so the list prints as the dashboard prints it ([`pretty_links`]).
#[derive(Serialize)]
pub(super) struct Link<'a> {
    #[serde(rename = "asDropdown")]
    pub(super) as_dropdown: bool,
    pub(super) icon: &'static str,
    #[serde(rename = "includeVars")]
    pub(super) include_vars: bool,
    #[serde(rename = "keepTime")]
    pub(super) keep_time: bool,
    pub(super) tags: Vec<&'a str>,
    #[serde(rename = "targetBlank")]
    pub(super) target_blank: bool,
    pub(super) title: String,
    pub(super) tooltip: &'a str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) url: Option<String>,
}

/// Dashboard links: the dashboards this one points at, then every dashboard of the platform.
pub(super) fn links<'a>(platform: &'a Platform, to: &[(&str, &'a str)]) -> Vec<Link<'a>> {
    let mut out: Vec<Link> = to
        .iter()
        .map(|(name, tooltip)| Link {
            title: name.to_string(),
            kind: "link",
            url: Some(format!("/d/{}", uid(platform, name))),
            icon: "dashboard",
            tooltip,
            tags: Vec::new(),
            as_dropdown: false,
            target_blank: false,
            include_vars: false,
            keep_time: true,
        })
        .collect();
    out.push(Link {
        title: format!("{} dashboards", platform.name),
        kind: "dashboards",
        url: None,
        icon: "external link",
        tooltip: "",
        tags: vec![&platform.name],
        as_dropdown: true,
        target_blank: false,
        include_vars: false,
        keep_time: true,
    });
    out
}

pub(super) fn tags<'a>(platform: &'a Platform, kind: &'a str) -> [&'a str; 3] {
    ["berrys", &platform.name, kind]
}

/// The cores or bytes of a resource quantity, for a threshold line.
pub(super) fn steps(request: Option<f64>, limit: Option<f64>) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(v) = request {
        out.push(Step {
            color: "orange",
            value: v,
        });
    }
    if let Some(v) = limit {
        out.push(Step {
            color: "red",
            value: v,
        });
    }
    out.sort_by(|a, b| a.value.total_cmp(&b.value));
    out
}

/// What the service dashboard template is given. Typed rather than a JSON tree: a
/// service's dashboard needs only the context's shape and values ([`shape_of`] reads them
/// from its JSON text), and a tree only for a shape seen for the first time.
#[derive(Serialize)]
pub(super) struct ServiceContext<'a> {
    pub(super) uid: String,
    pub(super) title: String,
    pub(super) tags: [&'a str; 3],
    pub(super) links: Vec<Link<'a>>,
    pub(super) datasource: &'a Value,
    pub(super) service: &'a str,
    pub(super) q: ServiceQueries,
    pub(super) slo: SloContext,
    pub(super) replicas: ReplicaContext<'a>,
    pub(super) resources: ResourceContext,
    pub(super) pools: Vec<PoolContext<'a>>,
    pub(super) rate_limit: Option<RateLimitContext<'a>>,
    /// A canary or blue-green service: its error ratio per version.
    pub(super) versions: Option<Vec<Target>>,
}

#[derive(Serialize)]
pub(super) struct ServiceQueries {
    rate: Vec<Target>,
    errors: Vec<Target>,
    latency: Vec<Target>,
    replicas: Vec<Target>,
    cpu: Vec<Target>,
    memory: Vec<Target>,
}

#[derive(Serialize)]
pub(super) struct SloContext {
    availability: bool,
    availability_steps: Vec<Step>,
    latency: bool,
    latency_steps: Vec<Step>,
}

#[derive(Serialize)]
pub(super) struct ReplicaContext<'a> {
    min: u32,
    max: u32,
    tier: &'a str,
}

#[derive(Serialize)]
pub(super) struct ResourceContext {
    cpu: String,
    cpu_limit: String,
    memory: String,
    memory_limit: String,
    cpu_steps: Vec<Step>,
    memory_steps: Vec<Step>,
}

#[derive(Serialize)]
pub(super) struct PoolContext<'a> {
    datastore: &'a str,
    profile: &'a str,
    max: u32,
    targets: Vec<Target>,
    steps: Vec<Step>,
}

#[derive(Serialize)]
pub(super) struct RateLimitContext<'a> {
    tier: &'a str,
    requests: u64,
    window: String,
    targets: Vec<Target>,
    steps: Vec<Step>,
}

pub(super) fn service_context<'a>(q: &'a Queries, service: &'a Service) -> ServiceContext<'a> {
    let platform = q.platform;
    let o = &platform.observability;
    let name = service.name.get_ref().as_str();
    let svc = Matcher::eq(&o.service_label, name);
    let code5xx = Matcher::re(&o.code_label, "5..");
    let code429 = Matcher::eq(&o.code_label, "429");
    let container = |metric: &str, rate: bool| {
        let m = vec![
            Matcher::eq("namespace", &platform.namespace),
            Matcher::eq("container", name),
        ];
        let inner = if rate {
            call("rate", range_grafana(metric, m))
        } else {
            selector(metric, m)
        };
        aggregate("sum", false, &["pod"], inner)
    };

    let (replicas, replica_targets) = replica_context(q, service, &svc);
    let pools = pool_contexts(q, service, &svc);
    let rate_limit = rate_limit_context(q, service, &svc, &code429);

    let dependencies: Vec<(&str, &str)> = service
        .depends_on
        .iter()
        .map(|d| (d.get_ref().as_str(), "hard dependency"))
        .chain(
            service
                .soft_depends_on
                .iter()
                .map(|d| (d.get_ref().as_str(), "soft dependency")),
        )
        .collect();

    let versions = service.delivery.as_ref().map(|_| {
        q.series(vec![(
            q.ratio(&svc, code5xx.clone(), &[HASH_LABEL]),
            "5xx {{rollouts_pod_template_hash}}",
        )])
    });
    let percentile = |p: i128, legend| (q.quantile(&svc, Ratio::new(p, 100), &[]), legend);
    ServiceContext {
        uid: uid(platform, name),
        title: title(platform, name),
        tags: tags(platform, "service"),
        links: links(platform, &dependencies),
        datasource: &q.datasource,
        service: name,
        q: ServiceQueries {
            rate: q.series(vec![(sum(q.requests(&svc, None)), "requests/s")]),
            errors: q.series(vec![
                (q.ratio(&svc, code5xx, &[]), "5xx"),
                (q.ratio(&svc, code429, &[]), "429"),
            ]),
            latency: q.series(vec![
                percentile(50, "p50"),
                percentile(95, "p95"),
                percentile(99, "p99"),
            ]),
            replicas: q.series(replica_targets),
            cpu: q.series(vec![(
                container("container_cpu_usage_seconds_total", true),
                "{{pod}}",
            )]),
            memory: q.series(vec![(
                container("container_memory_working_set_bytes", false),
                "{{pod}}",
            )]),
        },
        slo: slo_context(service),
        replicas,
        resources: resource_context(service),
        pools,
        rate_limit,
        versions,
    }
}

/// The SLO panels' switches and threshold lines.
fn slo_context(service: &Service) -> SloContext {
    let slo = service.slo.as_ref();
    let availability = slo.and_then(|s| s.availability.as_ref()).map(|a| {
        let objective = Ratio::from_f64(*a.get_ref());
        Ratio::int(100).sub(objective).div(Ratio::int(100))
    });
    let latency = slo.and_then(|s| s.latency.as_ref());
    SloContext {
        availability: availability.is_some(),
        availability_steps: availability
            .map(|b| {
                vec![Step {
                    color: "red",
                    value: b.to_f64(),
                }]
            })
            .unwrap_or_default(),
        latency: latency.is_some(),
        latency_steps: latency
            .map(|l| {
                vec![Step {
                    color: "red",
                    value: l.threshold.get_ref().as_secs_f64(),
                }]
            })
            .unwrap_or_default(),
    }
}

/// The replica bounds, and the replica panel's targets.
fn replica_context<'a>(
    q: &Queries,
    service: &'a Service,
    svc: &Matcher,
) -> (ReplicaContext<'a>, Vec<(Expr, &'static str)>) {
    let replicas = match &service.replicas {
        Replicas::Auto(auto) => ReplicaContext {
            min: *auto.min.get_ref(),
            max: *auto.max.get_ref(),
            tier: auto.tier.get_ref(),
        },
        Replicas::Fixed { count, .. } => ReplicaContext {
            min: *count,
            max: *count,
            tier: "",
        },
    };
    // kube-state-metrics knows Deployments only; Argo Rollouts' controller reports its own.
    let (available, desired, label) = match service.delivery {
        None => (
            "kube_deployment_status_replicas_available",
            "kube_deployment_spec_replicas",
            "deployment",
        ),
        Some(_) => (
            "rollout_info_replicas_available",
            "rollout_info_replicas_desired",
            "name",
        ),
    };
    let mut replica_targets = vec![(q.kube(available, label, svc.clone()), "available")];
    if matches!(service.replicas, Replicas::Auto(_)) {
        for (metric, legend) in [
            ("kube_horizontalpodautoscaler_spec_min_replicas", "HPA min"),
            ("kube_horizontalpodautoscaler_spec_max_replicas", "HPA max"),
        ] {
            replica_targets.push((
                q.kube(metric, "horizontalpodautoscaler", svc.clone()),
                legend,
            ));
        }
    } else {
        replica_targets.push((q.kube(desired, label, svc.clone()), "desired"));
    }
    (replicas, replica_targets)
}

/// The resource panels' texts and threshold lines.
fn resource_context(service: &Service) -> ResourceContext {
    let r = service.resources.get_ref();
    let value =
        |x: &Option<toml::Spanned<crate::units::Quantity>>| x.as_ref().map(|x| x.get_ref().value);
    let text = |x: &Option<toml::Spanned<crate::units::Quantity>>| {
        x.as_ref()
            .map(|x| x.get_ref().text.clone())
            .unwrap_or_else(|| "none".to_string())
    };
    ResourceContext {
        cpu: text(&r.cpu),
        cpu_limit: text(&r.cpu_limit),
        memory: text(&r.memory),
        memory_limit: text(&r.memory_limit),
        cpu_steps: steps(value(&r.cpu), value(&r.cpu_limit)),
        memory_steps: steps(value(&r.memory), value(&r.memory_limit)),
    }
}

/// One panel per datastore: its pool's connections against the pool's maximum.
fn pool_contexts<'a>(q: &Queries<'a>, service: &'a Service, svc: &Matcher) -> Vec<PoolContext<'a>> {
    let platform = q.platform;
    let o = &platform.observability;
    service
        .datastores
        .iter()
        .filter_map(|(ds, profile)| {
            let pool = platform.pools.get(profile.get_ref())?;
            let expr = aggregate(
                "max",
                false,
                &["pod"],
                selector(
                    &o.pool_metric,
                    q.service(
                        svc.clone(),
                        Some(Matcher::eq(&o.datastore_label, ds.get_ref())),
                    ),
                ),
            );
            Some(PoolContext {
                datastore: ds.get_ref(),
                profile: &pool.name,
                max: *pool.max.get_ref(),
                targets: q.series(vec![(expr, "{{pod}}")]),
                steps: vec![Step {
                    color: "red",
                    value: f64::from(*pool.max.get_ref()),
                }],
            })
        })
        .collect()
}

/// The rate-limit panel: requests and rejections against the tier's rate.
fn rate_limit_context<'a>(
    q: &Queries<'a>,
    service: &Service,
    svc: &Matcher,
    code429: &Matcher,
) -> Option<RateLimitContext<'a>> {
    let platform = q.platform;
    service
        .rate_limit
        .as_ref()
        .and_then(|t| platform.rate_limits.get(t.get_ref()))
        .map(|rl| {
            let per_second = Ratio::new(
                i128::from(rl.requests) * 1000,
                i128::from(rl.window.millis.max(1)),
            );
            RateLimitContext {
                tier: &rl.name,
                requests: rl.requests,
                window: rl.window.to_string(),
                targets: q.series(vec![
                    (sum(q.requests(svc, None)), "requests"),
                    (
                        sum(q.requests(svc, Some(code429.clone()))),
                        "rejected (429)",
                    ),
                ]),
                steps: vec![Step {
                    color: "red",
                    value: per_second.to_f64(),
                }],
            }
        })
}

/// `label=~"a|b|c"` over validated names (letters, digits and `-`: nothing a regex reads).
pub(super) fn any_of<'a>(label: &str, names: impl Iterator<Item = &'a str>) -> Matcher {
    let names: Vec<&str> = names.collect();
    Matcher::re(label, &names.join("|"))
}

pub(super) fn slo_overview_context(q: &Queries) -> Value {
    let platform = q.platform;
    let all = slos(platform);
    let mut services: Vec<&str> = all.iter().map(|s| s.service.as_str()).collect();
    services.dedup();
    let filter = || {
        vec![
            Matcher::eq("namespace", &platform.namespace),
            any_of("sloth_service", services.iter().copied()),
        ]
    };
    let on = "on (namespace, sloth_id, sloth_service, sloth_slo)";
    let sli = binary(
        number(Ratio::int(1)),
        "-",
        paren(binary_on(
            selector("slo:period_burn_rate:ratio", filter()),
            "*",
            on,
            selector("slo:error_budget:ratio", filter()),
        )),
    );
    let columns = json!([
        { "field": "Value #A", "title": "Objective" },
        { "field": "Value #B", "title": "SLI over the window" },
        { "field": "Value #C", "title": "Error budget remaining" },
    ]);
    let table = q.targets(
        vec![
            (selector("slo:objective:ratio", filter()), "objective"),
            (sli, "sli"),
            (
                selector("slo:period_error_budget_remaining:ratio", filter()),
                "remaining",
            ),
        ],
        true,
    );
    // The page threshold differs by SLO window; the stat turns red at the lowest of them.
    let mut page_factors: Vec<Ratio> = all
        .iter()
        .map(|s| burn_factor(s.period, &PAGE[0]))
        .collect();
    page_factors.sort_by(|a, b| a.to_f64().total_cmp(&b.to_f64()));
    page_factors.dedup();
    let page_factor = page_factors
        .iter()
        .map(Ratio::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let page_factor_min = page_factors.first().map_or(0.0, |r| r.to_f64());
    json!({
        "uid": uid(platform, "slo-overview"),
        "title": title(platform, "SLOs"),
        "tags": tags(platform, "slo"),
        "links": links(platform, &[]),
        "datasource": q.datasource,
        "columns": columns,
        // A header, then one line per SLO.
        "table_height": (all.len() + 4).clamp(6, 40),
        "burn_height": (all.len().div_ceil(6) * 3 + 2).clamp(5, 40),
        "page_factor": page_factor,
        "page_factor_min": page_factor_min,
        "q": {
            "table": table,
            "burn_now": q.targets(vec![(selector("slo:current_burn_rate:ratio", filter()), "{{sloth_id}}")], true),
            "burn": q.series(vec![(selector("slo:current_burn_rate:ratio", filter()), "{{sloth_id}}")]),
            "remaining": q.series(vec![(
                selector("slo:period_error_budget_remaining:ratio", filter()),
                "{{sloth_id}}",
            )]),
        },
    })
}

/// Available replicas of a layer's services, by name: kube-state-metrics' for Deployments,
/// Argo Rollouts' controller's for Rollouts.
fn layer_replicas(q: &Queries, names: &[&str]) -> Vec<(Expr, &'static str)> {
    let (rollouts, deployments): (Vec<&str>, Vec<&str>) = names.iter().partition(|name| {
        q.platform
            .services
            .get(**name)
            .is_some_and(|s| s.delivery.is_some())
    });
    let mut targets = Vec::new();
    for (list, metric, label, legend) in [
        (
            deployments,
            "kube_deployment_status_replicas_available",
            "deployment",
            "{{deployment}}",
        ),
        (
            rollouts,
            "rollout_info_replicas_available",
            "name",
            "{{name}}",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        targets.push((
            aggregate(
                "sum",
                false,
                &[label],
                q.kube(metric, label, any_of(label, list.iter().copied())),
            ),
            legend,
        ));
    }
    targets
}

pub(super) fn platform_overview_context(q: &Queries, compiled: &Compiled) -> Value {
    let platform = q.platform;
    let o = &platform.observability;
    // Layers from the edge inwards: by the latest deploy wave of their services (callers
    // deploy after what they call), then by name.
    let mut layers: BTreeMap<&str, (u32, Vec<&str>)> = BTreeMap::new();
    for s in platform.services.values() {
        let name = s.name.get_ref().as_str();
        let wave = compiled.graph.wave(name);
        let entry = layers.entry(s.layer.as_str()).or_insert((0, Vec::new()));
        entry.0 = entry.0.max(wave);
        entry.1.push(name);
    }
    let mut ordered: Vec<(&str, (u32, Vec<&str>))> = layers.into_iter().collect();
    ordered.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));

    let layers: Vec<Value> = ordered
        .into_iter()
        .map(|(layer, (_, names))| {
            let svc = any_of(&o.service_label, names.iter().copied());
            let by = [o.service_label.as_str()];
            let legend = format!("{{{{{}}}}}", o.service_label);
            json!({
                "name": layer,
                "rate": q.series(vec![(
                    aggregate("sum", false, &by, q.requests(&svc, None)),
                    legend.as_str(),
                )]),
                "errors": q.series(vec![(
                    q.ratio(&svc, Matcher::re(&o.code_label, "5.."), &by),
                    legend.as_str(),
                )]),
                "latency": q.series(vec![(q.quantile(&svc, Ratio::new(95, 100), &by), legend.as_str())]),
                "replicas": q.series(layer_replicas(q, &names)),
            })
        })
        .collect();
    let slo_link = if slos(platform).is_empty() {
        Vec::new()
    } else {
        vec![("slo-overview", "every SLO")]
    };
    json!({
        "uid": uid(platform, "platform-overview"),
        "title": title(platform, "platform overview"),
        "tags": tags(platform, "overview"),
        "links": links(platform, &slo_link),
        "datasource": q.datasource,
        "layers": layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_ids_continue_after_z() {
        assert_eq!(ref_id(0), "A");
        assert_eq!(ref_id(25), "Z");
        assert_eq!(ref_id(26), "AA");
        assert_eq!(ref_id(27), "AB");
    }
}
