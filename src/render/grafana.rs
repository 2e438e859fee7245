//! Grafana dashboards: one per service, an SLO overview and a platform overview, as classic
//! dashboard JSON and as ConfigMaps for the Grafana sidecar.
//!
//! Dashboards are text in their natural form (`templates/grafana/*.json`, minijinja with
//! strict undefined and JSON auto-escaping); berrys supplies the data — queries built from
//! typed PromQL pieces, the configured numbers for threshold lines — and, after rendering,
//! parses the result, assigns panel ids and grid positions, and prints it canonically.
//! Service dashboards run the template once per shape, not once per service ([`Renderer`]).

use std::collections::{BTreeMap, HashMap};
use std::ops::{Div, Sub};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::prometheus::{PAGE, burn_factor, slos};
use super::promql::{
    Expr, Matcher, Ratio, aggregate, binary, binary_on, call, call_args, number, paren,
    range_grafana, selector, sum,
};
use crate::Compiled;
use crate::emit::{Document, EmitError, OutputFile};
use crate::model::{Platform, Replicas, Service};

mod shape;

const TEMPLATES: [(&str, &str); 4] = [
    (
        "panels.json",
        include_str!("../../templates/grafana/panels.json"),
    ),
    (
        "service.json",
        include_str!("../../templates/grafana/service.json"),
    ),
    (
        "slo-overview.json",
        include_str!("../../templates/grafana/slo-overview.json"),
    ),
    (
        "platform-overview.json",
        include_str!("../../templates/grafana/platform-overview.json"),
    ),
];

/// One rendered dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Path under the output directory, e.g. `grafana/services/api-gateway.json`.
    pub path: String,
    /// Short name: the service's, `slo-overview` or `platform-overview`.
    pub name: String,
    pub uid: String,
    pub json: Value,
}

impl Dashboard {
    /// The file contents: pretty-printed JSON with a final newline.
    pub fn text(&self) -> Result<String, EmitError> {
        let mut text =
            serde_json::to_string_pretty(&self.json).map_err(|e| EmitError::Serialise {
                kind: "dashboard".to_string(),
                message: e.to_string(),
            })?;
        text.push('\n');
        Ok(text)
    }
}

/// A dashboard uid: readable (the dashboard's name) and unique per platform and environment
/// (a hash of both), at most 40 characters as Grafana requires.
pub fn uid(platform: &Platform, name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::new()
        .chain_update(&platform.name)
        .chain_update("/")
        .chain_update(&platform.env)
        .chain_update("/")
        .chain_update(name)
        .finalize();
    let readable = match name.char_indices().nth(29) {
        Some((end, _)) => &name[..end],
        None => name,
    };
    let mut uid = readable.trim_end_matches('-').to_string();
    uid.push('-');
    for b in &digest[..5] {
        uid.push(char::from(HEX[usize::from(b >> 4)]));
        uid.push(char::from(HEX[usize::from(b & 15)]));
    }
    uid
}

fn title(platform: &Platform, name: &str) -> String {
    if platform.env == "base" {
        format!("{} / {name}", platform.name)
    } else {
        format!("{} ({}) / {name}", platform.name, platform.env)
    }
}

#[derive(Serialize)]
struct Target {
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
struct Step {
    color: &'static str,
    #[serde(serialize_with = "plain_number")]
    value: f64,
}

/// Whole numbers without a fractional part (`1073741824`, not `1073741824.0`).
fn plain_number<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        s.serialize_i64(*value as i64)
    } else {
        s.serialize_f64(*value)
    }
}

struct Queries<'a> {
    platform: &'a Platform,
    datasource: Value,
}

impl Queries<'_> {
    /// Time-series targets, lettered A, B, C… in order.
    fn series(&self, exprs: Vec<(Expr, &str)>) -> Vec<Target> {
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

    fn service(&self, matcher: Matcher, extra: Option<Matcher>) -> Vec<Matcher> {
        let mut m = vec![matcher];
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
                        range_grafana(&format!("{}_bucket", o.latency_metric), vec![svc.clone()]),
                    ),
                ),
            ],
        )
    }

    fn kube(&self, metric: &str, label: &str, value: Matcher) -> Expr {
        let mut value = value;
        value.label = label.to_string();
        selector(
            metric,
            vec![Matcher::eq("namespace", &self.platform.namespace), value],
        )
    }
}

fn ref_id(i: usize) -> String {
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
struct Link<'a> {
    #[serde(rename = "asDropdown")]
    as_dropdown: bool,
    icon: &'static str,
    #[serde(rename = "includeVars")]
    include_vars: bool,
    #[serde(rename = "keepTime")]
    keep_time: bool,
    tags: Vec<&'a str>,
    #[serde(rename = "targetBlank")]
    target_blank: bool,
    title: String,
    tooltip: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// Dashboard links: the dashboards this one points at, then every dashboard of the platform.
fn links<'a>(platform: &'a Platform, to: &[(&str, &'a str)]) -> Vec<Link<'a>> {
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

fn tags<'a>(platform: &'a Platform, kind: &'a str) -> [&'a str; 3] {
    ["berrys", &platform.name, kind]
}

/// The cores or bytes of a resource quantity, for a threshold line.
fn steps(request: Option<f64>, limit: Option<f64>) -> Vec<Step> {
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
struct ServiceContext<'a> {
    uid: String,
    title: String,
    tags: [&'a str; 3],
    links: Vec<Link<'a>>,
    datasource: &'a Value,
    service: &'a str,
    q: ServiceQueries,
    slo: SloContext,
    replicas: ReplicaContext<'a>,
    resources: ResourceContext,
    pools: Vec<PoolContext<'a>>,
    rate_limit: Option<RateLimitContext<'a>>,
}

#[derive(Serialize)]
struct ServiceQueries {
    rate: Vec<Target>,
    errors: Vec<Target>,
    latency: Vec<Target>,
    replicas: Vec<Target>,
    cpu: Vec<Target>,
    memory: Vec<Target>,
}

#[derive(Serialize)]
struct SloContext {
    availability: bool,
    availability_steps: Vec<Step>,
    latency: bool,
    latency_steps: Vec<Step>,
}

#[derive(Serialize)]
struct ReplicaContext<'a> {
    min: u32,
    max: u32,
    tier: &'a str,
}

#[derive(Serialize)]
struct ResourceContext {
    cpu: String,
    cpu_limit: String,
    memory: String,
    memory_limit: String,
    cpu_steps: Vec<Step>,
    memory_steps: Vec<Step>,
}

#[derive(Serialize)]
struct PoolContext<'a> {
    datastore: &'a str,
    profile: &'a str,
    max: u32,
    targets: Vec<Target>,
    steps: Vec<Step>,
}

#[derive(Serialize)]
struct RateLimitContext<'a> {
    tier: &'a str,
    requests: u64,
    window: String,
    targets: Vec<Target>,
    steps: Vec<Step>,
}

fn service_context<'a>(q: &'a Queries, service: &'a Service) -> ServiceContext<'a> {
    let platform = q.platform;
    let o = &platform.observability;
    let name = service.name.get_ref().as_str();
    let svc = Matcher::eq(&o.service_label, name);
    let code5xx = Matcher::re(&o.code_label, "5..");
    let code429 = Matcher::eq(&o.code_label, "429");

    let slo = service.slo.as_ref();
    let availability = slo.and_then(|s| s.availability.as_ref()).map(|a| {
        let objective = Ratio::from_f64(*a.get_ref());
        Ratio::int(100).sub(objective).div(Ratio::int(100))
    });
    let latency = slo.and_then(|s| s.latency.as_ref());

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
    let mut replica_targets = vec![(
        q.kube(
            "kube_deployment_status_replicas_available",
            "deployment",
            svc.clone(),
        ),
        "available",
    )];
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
        replica_targets.push((
            q.kube("kube_deployment_spec_replicas", "deployment", svc.clone()),
            "desired",
        ));
    }

    let r = service.resources.get_ref();
    let value =
        |x: &Option<toml::Spanned<crate::units::Quantity>>| x.as_ref().map(|x| x.get_ref().value);
    let text = |x: &Option<toml::Spanned<crate::units::Quantity>>| {
        x.as_ref()
            .map(|x| x.get_ref().text.clone())
            .unwrap_or_else(|| "none".to_string())
    };
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

    let pools: Vec<PoolContext> = service
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
                    vec![svc.clone(), Matcher::eq(&o.datastore_label, ds.get_ref())],
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
        .collect();

    let rate_limit = service
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
                    (sum(q.requests(&svc, None)), "requests"),
                    (
                        sum(q.requests(&svc, Some(code429.clone()))),
                        "rejected (429)",
                    ),
                ]),
                steps: vec![Step {
                    color: "red",
                    value: per_second.to_f64(),
                }],
            }
        });

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
        slo: SloContext {
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
        },
        replicas,
        resources: ResourceContext {
            cpu: text(&r.cpu),
            cpu_limit: text(&r.cpu_limit),
            memory: text(&r.memory),
            memory_limit: text(&r.memory_limit),
            cpu_steps: steps(value(&r.cpu), value(&r.cpu_limit)),
            memory_steps: steps(value(&r.memory), value(&r.memory_limit)),
        },
        pools,
        rate_limit,
    }
}

/// `label=~"a|b|c"` over validated names (letters, digits and `-`: nothing a regex reads).
fn any_of<'a>(label: &str, names: impl Iterator<Item = &'a str>) -> Matcher {
    let names: Vec<&str> = names.collect();
    Matcher::re(label, &names.join("|"))
}

fn slo_overview_context(q: &Queries) -> Value {
    let platform = q.platform;
    let all = slos(platform);
    let mut services: Vec<&str> = all.iter().map(|s| s.service.as_str()).collect();
    services.dedup();
    let filter = || vec![any_of("sloth_service", services.iter().copied())];
    let on = "on (sloth_id, sloth_service, sloth_slo)";
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

fn platform_overview_context(q: &Queries, compiled: &Compiled) -> Value {
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
                "replicas": q.series(vec![(
                    aggregate(
                        "sum",
                        false,
                        &["deployment"],
                        q.kube(
                            "kube_deployment_status_replicas_available",
                            "deployment",
                            any_of("deployment", names.iter().copied()),
                        ),
                    ),
                    "{{deployment}}",
                )]),
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

/// Assigns panel ids and grid positions in reading order: rows take a line of their own,
/// panels flow left to right and wrap at Grafana's 24 columns.
fn layout(dashboard: &mut Value) {
    let Some(panels) = dashboard.get_mut("panels").and_then(Value::as_array_mut) else {
        return;
    };
    let (mut x, mut y, mut line_height) = (0u64, 0u64, 0u64);
    for (i, panel) in panels.iter_mut().enumerate() {
        let is_row = panel.get("type").and_then(Value::as_str) == Some("row");
        let size = |key: &str| {
            panel
                .pointer(&format!("/gridPos/{key}"))
                .and_then(Value::as_u64)
                .unwrap_or(1)
        };
        let (w, h) = (size("w").min(24), size("h"));
        if is_row || x + w > 24 {
            y += line_height;
            x = 0;
            line_height = 0;
        }
        panel["id"] = json!(i + 1);
        panel["gridPos"] = json!({ "h": h, "w": w, "x": x, "y": y });
        if is_row {
            y += h;
        } else {
            x += w;
            line_height = line_height.max(h);
        }
    }
}

fn template_error(e: minijinja::Error) -> EmitError {
    EmitError::Serialise {
        kind: "dashboard template".to_string(),
        message: format!("{e:#}"),
    }
}

/// Renders dashboards: the templates are loaded once and shared by every thread.
///
/// Service dashboards differ from one another only in their values, and in the few things
/// the template branches on (which SLOs, how many pools, a rate limit, fixed or autoscaled
/// replicas). Each such *shape* is rendered through the template once, with a marker in
/// place of every value, and kept as a [`Skeleton`]; a service's dashboard is its skeleton
/// with the values written into the holes. The result is byte-for-byte what a template run
/// of its own would print (tested on every service of the reference and the fixtures), at a
/// small fraction of the cost: no template run, no JSON parse and re-print per service.
pub struct Renderer<'a> {
    compiled: &'a Compiled,
    env: minijinja::Environment<'static>,
    q: Queries<'a>,
    /// By shape key: a dashboard's JSON without its values, kilobytes long, hashed once per
    /// service (foldhash: SipHash was most of the lookup).
    skeletons: Mutex<HashMap<String, Arc<Skeleton>, foldhash::fast::FixedState>>,
    template_runs: AtomicUsize,
    text_shapes: AtomicUsize,
}

impl<'a> Renderer<'a> {
    pub fn new(compiled: &'a Compiled) -> Result<Renderer<'a>, EmitError> {
        let platform = &compiled.platform;
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).map_err(template_error)?;
        }
        let q = Queries {
            platform,
            datasource: json!({ "type": "prometheus", "uid": platform.observability.datasource }),
        };
        Ok(Renderer {
            compiled,
            env,
            q,
            skeletons: Mutex::new(HashMap::default()),
            template_runs: AtomicUsize::new(0),
            text_shapes: AtomicUsize::new(0),
        })
    }

    /// Runs a template, then parses its output, lays the panels out and prints it.
    fn render(
        &self,
        template: &str,
        name: &str,
        path: String,
        ctx: &Value,
    ) -> Result<Dashboard, EmitError> {
        self.template_runs.fetch_add(1, Ordering::Relaxed);
        let text = self
            .env
            .get_template(template)
            .and_then(|t| t.render(minijinja::value::Serde(ctx)))
            .map_err(template_error)?;
        let mut json: Value = serde_json::from_str(&text).map_err(|e| EmitError::Serialise {
            kind: format!("dashboard {template}"),
            message: format!("the template produced invalid JSON: {e}"),
        })?;
        layout(&mut json);
        Ok(Dashboard {
            path,
            name: name.to_string(),
            uid: uid(&self.compiled.platform, name),
            json,
        })
    }

    /// The dashboard of one service, through a template run of its own: what
    /// [`Renderer::service_file`] must print, and what it falls back to.
    pub fn service_by_template(&self, service: &Service) -> Result<Dashboard, EmitError> {
        let name = service.name.get_ref();
        let ctx = serde_json::to_value(service_context(&self.q, service)).map_err(json_error)?;
        self.render("service.json", name, service_path(name), &ctx)
    }

    /// How many times a template has run so far (skeletons, fallbacks and overviews).
    pub fn template_runs(&self) -> usize {
        self.template_runs.load(Ordering::Relaxed)
    }

    /// The dashboard of one service, parsed (for tests and tools that inspect it).
    pub fn service(&self, service: &Service) -> Result<Dashboard, EmitError> {
        let file = self.service_file(service)?;
        let name = service.name.get_ref();
        let json = serde_json::from_str(&file.contents).map_err(|e| EmitError::Serialise {
            kind: "dashboard".to_string(),
            message: e.to_string(),
        })?;
        Ok(Dashboard {
            path: file.path,
            name: name.clone(),
            uid: uid(&self.compiled.platform, name),
            json,
        })
    }

    /// The file of one service's dashboard: its shape's skeleton with its values filled in.
    pub fn service_file(&self, service: &Service) -> Result<OutputFile, EmitError> {
        let name = service.name.get_ref();
        let context = service_context(&self.q, service);
        let by_template = || -> Result<OutputFile, EmitError> {
            Ok(OutputFile::new(
                &service_path(name),
                self.service_by_template(service)?.text()?,
            ))
        };
        let json = || -> Result<String, EmitError> {
            // Sized for a typical context, which would otherwise grow through a dozen copies.
            let mut ctx = Vec::with_capacity(8 << 10);
            serde_json::to_writer(&mut ctx, &context).map_err(json_error)?;
            String::from_utf8(ctx).map_err(|e| EmitError::Serialise {
                kind: "dashboard context".to_string(),
                message: e.to_string(),
            })
        };
        // The shape read off the context as it is serialised; from its JSON text only when
        // the context holds something that walk does not model.
        let direct = shape::Shape::of(&context);
        let text;
        let text_key;
        let (key, mut values, links) = match &direct {
            Some(shape) => (shape.key.as_str(), shape.values(), shape.links),
            None => {
                self.text_shapes.fetch_add(1, Ordering::Relaxed);
                text = json()?;
                let (mut key, mut values) = (String::new(), Vec::new());
                let Some(links) = shape_of(&text, &mut key, &mut values) else {
                    return by_template();
                };
                text_key = key;
                (text_key.as_str(), values, links)
            }
        };
        let links = match links.map(|i| (i, pretty_links(&context.links))) {
            Some((i, Some(text))) => Some((i, text)),
            Some((_, None)) => return by_template(),
            None => None,
        };
        if let Some((i, text)) = &links {
            values[*i] = text;
        }
        let skeleton = self.skeleton(key, json)?;
        match skeleton.fill(&values) {
            Some(text) => Ok(OutputFile::new(&service_path(name), text)),
            // A value the skeleton cannot place (a fraction printed inside a text).
            None => by_template(),
        }
    }

    /// Service dashboards whose shape was read from their context's JSON text rather than
    /// off the context ([`shape::Shape`]): none on the platforms the tests render.
    #[doc(hidden)]
    pub fn text_shapes(&self) -> usize {
        self.text_shapes.load(Ordering::Relaxed)
    }

    /// The skeleton of the shape `key`, made from `ctx` (a context of that shape, as JSON
    /// text) when it is new.
    fn skeleton(
        &self,
        key: &str,
        ctx: impl FnOnce() -> Result<String, EmitError>,
    ) -> Result<Arc<Skeleton>, EmitError> {
        let poisoned = || EmitError::Serialise {
            kind: "dashboard".to_string(),
            message: "a rendering thread failed".to_string(),
        };
        if let Some(s) = self.skeletons.lock().map_err(|_| poisoned())?.get(key) {
            return Ok(Arc::clone(s));
        }
        let ctx: Value = serde_json::from_str(&ctx()?).map_err(json_error)?;
        let mut next = 0;
        let marked = context_markers(&ctx, &mut next);
        let text = self
            .render("service.json", "", String::new(), &marked)?
            .text()?;
        let skeleton = Arc::new(Skeleton::parse(&text));
        let mut cache = self.skeletons.lock().map_err(|_| poisoned())?;
        Ok(Arc::clone(cache.entry(key.to_string()).or_insert(skeleton)))
    }

    /// The SLO overview (when the platform has SLOs) and the platform overview.
    pub fn overviews(&self) -> Result<Vec<Dashboard>, EmitError> {
        let mut out = Vec::new();
        if !slos(&self.compiled.platform).is_empty() {
            out.push(self.render(
                "slo-overview.json",
                "slo-overview",
                "grafana/slo-overview.json".to_string(),
                &slo_overview_context(&self.q),
            )?);
        }
        out.push(self.render(
            "platform-overview.json",
            "platform-overview",
            "grafana/platform-overview.json".to_string(),
            &platform_overview_context(&self.q, self.compiled),
        )?);
        Ok(out)
    }
}

pub fn service_path(name: &str) -> String {
    format!("grafana/services/{name}.json")
}

// A value's place in a skeleton: private-use characters, which neither the templates nor
// JSON escaping produce, around the value's index.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// The context with every value replaced by its marker. What the template branches on is
/// kept: booleans, nulls, empty strings and the length of every list.
/// The context with a marker (`OPEN` index `CLOSE`) in place of every value [`shape_of`]
/// reads: strings, numbers, and the top-level `links` list as a whole.
fn context_markers(ctx: &Value, next: &mut usize) -> Value {
    match ctx {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::Array(_) if k == LINKS => {
                        *next += 1;
                        (
                            k.clone(),
                            Value::String(format!("{OPEN}{}{CLOSE}", *next - 1)),
                        )
                    }
                    _ => (k.clone(), with_markers(v, next)),
                })
                .collect(),
        ),
        _ => with_markers(ctx, next),
    }
}

fn with_markers(v: &Value, next: &mut usize) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_markers(v, next)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| with_markers(v, next)).collect()),
        Value::String(s) if s.is_empty() => v.clone(),
        Value::String(_) | Value::Number(_) => {
            *next += 1;
            Value::String(format!("{OPEN}{}{CLOSE}", *next - 1))
        }
        Value::Bool(_) | Value::Null => v.clone(),
    }
}

/// The shape of a context, read from its compact JSON text: the text with every string
/// and number that [`context_markers`] replaces written as `$` (equal for contexts that it
/// maps to the same value), and those scalars as JSON tokens, in marker order; the
/// top-level `links` list is one such value, and its index is returned. `None` for text
/// this reader does not expect (the caller then runs the template).
fn shape_of<'t>(
    json: &'t str,
    key: &mut String,
    values: &mut Vec<&'t str>,
) -> Option<Option<usize>> {
    let bytes = json.as_bytes();
    let mut at = 0;
    let mut depth = 0usize;
    let mut links = None;
    while at < bytes.len() {
        match bytes[at] {
            b'{' | b'}' | b'[' | b']' | b',' | b':' => {
                match bytes[at] {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.checked_sub(1)?,
                    _ => {}
                }
                key.push(char::from(bytes[at]));
                at += 1;
            }
            b'"' => {
                let start = at;
                at = string_end(bytes, at)?;
                let token = &json[start..at];
                // Object keys and empty strings are shape; other strings are values.
                if bytes.get(at) == Some(&b':') || token == "\"\"" {
                    key.push_str(token);
                    // The top-level link list is one value: its length is not shape.
                    if depth == 1 && token == LINKS_KEY && bytes.get(at + 1) == Some(&b'[') {
                        key.push_str(":$");
                        let list = at + 1;
                        at = list_end(bytes, list)?;
                        links = Some(values.len());
                        values.push(&json[list..at]);
                    }
                } else {
                    key.push('$');
                    values.push(token);
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while at < bytes.len()
                    && matches!(bytes[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    at += 1;
                }
                key.push('$');
                values.push(&json[start..at]);
            }
            _ => {
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| json[at..].starts_with(w))?;
                key.push_str(word);
                at += word.len();
            }
        }
    }
    Some(links)
}

const LINKS: &str = "links";
const LINKS_KEY: &str = "\"links\"";

/// The index just past the JSON string that starts at `start` (its opening quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    // Queries make most of the text: skip to the next quote or escape at once.
    loop {
        at += memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// The index just past the JSON list that starts at `start` (its `[`).
fn list_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = start;
    loop {
        match bytes.get(at)? {
            b'"' => {
                at = string_end(bytes, at)?;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
        at += 1;
    }
}

/// The link list as the dashboard prints it: keys sorted (the fields' order), pretty-printed
/// for its place, a value of the top-level object.
fn pretty_links(links: &[Link<'_>]) -> Option<String> {
    let text = serde_json::to_string_pretty(links).ok()?;
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\n  ");
        }
        out.push_str(line);
    }
    Some(out)
}

fn json_error(e: serde_json::Error) -> EmitError {
    EmitError::Serialise {
        kind: "dashboard context".to_string(),
        message: e.to_string(),
    }
}

/// A dashboard printed with markers in place of its values.
#[derive(Debug)]
struct Skeleton {
    parts: Vec<Part>,
    /// Bytes of text, to size the output.
    len: usize,
    /// A marker that could not be read back (never expected): every fill falls back.
    broken: bool,
}

#[derive(Debug)]
enum Part {
    Text(String),
    /// Value `index`; `whole` when the marker was a JSON string of its own (`"…"` included),
    /// where a number is printed as a number.
    Value {
        index: usize,
        whole: bool,
    },
}

impl Skeleton {
    fn parse(text: &str) -> Skeleton {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut len = 0;
        let mut broken = false;
        while let Some(open) = rest.find(OPEN) {
            let after = &rest[open + OPEN.len_utf8()..];
            let Some((close, index)) = after
                .find(CLOSE)
                .and_then(|close| Some((close, after[..close].parse::<usize>().ok()?)))
            else {
                broken = true;
                break;
            };
            let tail = &after[close + CLOSE.len_utf8()..];
            // An opening quote right before and a closing one right after (not `\"`, which
            // is a quote inside the text).
            let head = &rest[..open];
            let whole = head.ends_with('"') && !head.ends_with("\\\"") && tail.starts_with('"');
            let (before, tail) = if whole {
                (&rest[..open - 1], &tail[1..])
            } else {
                (&rest[..open], tail)
            };
            len += before.len();
            parts.push(Part::Text(before.to_string()));
            parts.push(Part::Value { index, whole });
            rest = tail;
        }
        len += rest.len();
        parts.push(Part::Text(rest.to_string()));
        Skeleton { parts, len, broken }
    }

    /// The dashboard with `values` (JSON tokens from [`shape_of`]) in place, or `None`
    /// when one cannot be placed.
    fn fill(&self, values: &[&str]) -> Option<String> {
        if self.broken {
            return None;
        }
        let mut out = String::with_capacity(self.len + 64 * values.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value { index, whole } => {
                    let token = values.get(*index)?;
                    match (token.strip_prefix('"'), whole) {
                        (_, true) => out.push_str(token),
                        // Inside a text: a string's escaped characters without its quotes.
                        (Some(inner), false) => out.push_str(inner.strip_suffix('"')?),
                        // Inside a text the template printed an integer in decimal; any
                        // other number takes a template run.
                        (None, false) => {
                            let digits = token.strip_prefix('-').unwrap_or(token);
                            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                                return None;
                            }
                            out.push_str(token);
                        }
                    }
                }
            }
        }
        Some(out)
    }
}

/// Every dashboard of the platform, sorted by path.
pub fn dashboards(compiled: &Compiled) -> Result<Vec<Dashboard>, EmitError> {
    let renderer = Renderer::new(compiled)?;
    let mut out = renderer.overviews()?;
    for service in compiled.platform.services.values() {
        out.push(renderer.service(service)?);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// `(configMap name, data key, file relative to grafana/)` of a dashboard.
fn generated(platform: &Platform, name: &str, path: &str) -> (String, String, String) {
    let relative = path.strip_prefix("grafana/").unwrap_or(path).to_string();
    // The data key is the file name Grafana's sidecar writes; service dashboards are
    // prefixed so a service called `slo-overview` cannot collide with the overview.
    let key = match relative.strip_prefix("services/") {
        Some(file) => format!("service-{file}"),
        None => relative.clone(),
    };
    (format!("{}-dashboard-{name}", platform.name), key, relative)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    namespace: String,
    generator_options: GeneratorOptions,
    config_map_generator: Vec<Generator>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GeneratorOptions {
    disable_name_suffix_hash: bool,
}

#[derive(Serialize)]
struct Generator {
    name: String,
    files: Vec<String>,
    options: GeneratorLabels,
}

#[derive(Serialize)]
struct GeneratorLabels {
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// `grafana/kustomization.yaml`: one ConfigMap per dashboard, generated by kustomize from
/// the JSON files (so the dashboards are written once, not again inside YAML), labelled
/// `grafana_dashboard: "1"` for the Grafana sidecar, in the namespace where the monitoring
/// stack runs.
pub fn kustomization(
    platform: &Platform,
    dashboards: &[(String, String)],
    meta: impl Fn(&str) -> ObjectMeta,
) -> Result<Document, EmitError> {
    let head = crate::emit::to_yaml(&Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        namespace: platform.observability.prometheus_namespace.clone(),
        generator_options: GeneratorOptions {
            disable_name_suffix_hash: true,
        },
        config_map_generator: Vec::new(),
    })?;
    // One generator per dashboard, all of one shape: each written as it is made, item by
    // item (at 10,000 services, holding them all took 20 MB).
    let mut text = String::new();
    crate::emit::write_spliced(&mut text, &head, "configMapGenerator", 0, |out| {
        dashboards.iter().try_for_each(|(name, path)| {
            let (name, key, relative) = generated(platform, name, path);
            let m = meta(&name);
            let mut labels = m.labels.unwrap_or_default();
            labels.insert("grafana_dashboard".to_string(), "1".to_string());
            let generator = Generator {
                name,
                files: vec![format!("{key}={relative}")],
                options: GeneratorLabels {
                    labels,
                    annotations: m.annotations.unwrap_or_default(),
                },
            };
            crate::emit::push_list_item(out, &generator, 0)
        })
    })?;
    Ok(Document(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk reads the same key and values off a value as the scan reads from its JSON
    /// text: strings that need escaping, empty strings, numbers of every kind, a float that
    /// is not finite, maps, nested lists, and a `links` list at the top level only.
    #[test]
    fn shapes_read_off_values_equal_those_read_from_their_text() {
        #[derive(Serialize)]
        struct Inner {
            links: Vec<u8>,
            q: &'static str,
        }
        #[derive(Serialize)]
        struct Top {
            title: String,
            empty: &'static str,
            links: Vec<Inner>,
            n: i64,
            f: f64,
            nan: f64,
            flag: bool,
            none: Option<u8>,
            map: BTreeMap<&'static str, Vec<(u8, &'static str)>>,
            nested: Vec<Vec<Inner>>,
        }
        let top = Top {
            title: "quote \" backslash \\ tab \t line\n".to_string(),
            empty: "",
            links: vec![Inner {
                links: vec![1],
                q: "a",
            }],
            n: -42,
            f: 0.5,
            nan: f64::NAN,
            flag: true,
            none: None,
            map: BTreeMap::from([("", vec![]), ("k", vec![(7, "v"), (8, "")])]),
            nested: vec![vec![Inner {
                links: vec![],
                q: r#"up{job="x"}"#,
            }]],
        };
        let text = serde_json::to_string(&top).unwrap();
        let (mut key, mut values) = (String::new(), Vec::new());
        let links = shape_of(&text, &mut key, &mut values).unwrap();
        let direct = shape::Shape::of(&top).unwrap();
        assert_eq!(direct.key, key);
        assert_eq!(direct.links, links);
        let i = links.unwrap();
        let mut direct_values = direct.values();
        assert_eq!(
            direct_values[i], "",
            "the links list is the caller's to write"
        );
        direct_values[i] = values[i];
        assert_eq!(direct_values, values);
    }

    #[test]
    fn shapes_the_walk_does_not_model_are_refused() {
        #[derive(Serialize)]
        enum E {
            Data(u8),
        }
        assert!(shape::Shape::of(&vec![E::Data(1)]).is_none());
        assert!(shape::Shape::of(&BTreeMap::from([(1u8, 2u8)])).is_none());
        assert!(shape::Shape::of(&BTreeMap::from([("links", vec![1u8])])).is_none());
        #[derive(Serialize)]
        struct NotAList {
            links: u8,
        }
        assert!(shape::Shape::of(&NotAList { links: 1 }).is_none());
    }

    #[test]
    fn ref_ids_continue_after_z() {
        assert_eq!(ref_id(0), "A");
        assert_eq!(ref_id(25), "Z");
        assert_eq!(ref_id(26), "AA");
        assert_eq!(ref_id(27), "AB");
    }

    fn marker(i: usize) -> String {
        format!("{OPEN}{i}{CLOSE}")
    }

    #[test]
    fn skeleton_places_strings_escaped_and_numbers_by_position() {
        let text = format!(
            r#"{{"a": "{}", "b": "x {} y", "c": "{}", "d": "say \"{}\"", "e": "{}"}}"#,
            marker(0),
            marker(1),
            marker(2),
            marker(3),
            marker(4)
        );
        let skeleton = Skeleton::parse(&text);
        // JSON tokens, as `shape_of` reads them.
        let values = [r#""q=\"1\"""#, "3", "0.25", r#""it""#, r#""<&>""#];
        assert_eq!(
            skeleton.fill(&values).unwrap(),
            r#"{"a": "q=\"1\"", "b": "x 3 y", "c": 0.25, "d": "say \"it\"", "e": "<&>"}"#
        );
    }

    #[test]
    fn skeleton_refuses_what_it_cannot_place() {
        // A fraction inside a text would need the template's own number formatting.
        let skeleton = Skeleton::parse(&format!(r#"{{"a": "x {}"}}"#, marker(0)));
        assert_eq!(skeleton.fill(&["0.5"]), None);
        assert_eq!(skeleton.fill(&["-"]), None);
        // A missing value, and a marker that cannot be read back.
        assert_eq!(skeleton.fill(&[]), None);
        let broken = Skeleton::parse(&format!(r#"{{"a": "{OPEN}x"}}"#));
        assert_eq!(broken.fill(&[r#""v""#]), None);
    }

    #[test]
    fn the_top_level_link_list_is_one_value() {
        let shape = |ctx: Value| {
            let text = ctx.to_string();
            let (mut key, mut values) = (String::new(), Vec::new());
            let links = shape_of(&text, &mut key, &mut values).unwrap();
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            (key, links, values)
        };
        let one = json!({"a": "x", "links": [{"t": "b]\"", "tags": ["y"]}], "z": 1});
        let two = json!({"a": "x", "links": [{"t": "c"}, {"t": "d", "tags": []}], "z": 1});
        let (key, links, values) = shape(one);
        assert_eq!(key, r#"{"a":$,"links":$,"z":$}"#);
        assert_eq!(links, Some(1));
        assert_eq!(values[1], r#"[{"t":"b]\"","tags":["y"]}]"#);
        assert_eq!(
            shape(two).0,
            key,
            "the list's length and items are not shape"
        );
        // Only at the top level; a nested `links` is shape like any list.
        let (nested, links, _) = shape(json!({"p": {"links": [1]}}));
        assert_eq!((nested.as_str(), links), (r#"{"p":{"links":[$]}}"#, None));
        let (mut key, mut values) = (String::new(), Vec::new());
        assert!(shape_of(r#"{"links":[{"t":"x"}"#, &mut key, &mut values).is_none());
        // Marked as one value too, in the same place of the marker order.
        let mut next = 0;
        let marked = context_markers(&json!({"a": "x", "links": [{"t": "c"}], "z": 1}), &mut next);
        assert_eq!(
            marked,
            json!({"a": marker(0), "links": marker(1), "z": marker(2)})
        );
    }

    #[test]
    fn links_print_as_the_dashboard_prints_them() {
        let link = |title: &str, tags: Vec<&'static str>| Link {
            as_dropdown: false,
            icon: "dashboard",
            include_vars: false,
            keep_time: true,
            tags,
            target_blank: false,
            title: title.to_string(),
            tooltip: "t",
            kind: "link",
            url: (title == "a").then(|| "/d/a".to_string()),
        };
        let links = [link("a", vec![]), link("b", vec!["x"])];
        // What a whole dashboard prints for the same list: every object's keys sorted.
        let mut doc = json!({ "links": serde_json::to_value(&links).unwrap() });
        for l in doc["links"].as_array_mut().unwrap() {
            let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
            assert!(keys.is_sorted(), "fields out of order: {keys:?}");
            l.as_object_mut().unwrap().sort_keys();
        }
        let whole = serde_json::to_string_pretty(&doc).unwrap();
        let printed = pretty_links(&links).unwrap();
        assert_eq!(whole, format!("{{\n  \"links\": {printed}\n}}"));
        assert!(printed.contains("\n      \"tags\": [\n        \"x\"\n      ],\n"));
    }

    #[test]
    fn markers_keep_what_the_template_branches_on() {
        let ctx = json!({"s": "v", "e": "", "n": 2, "b": true, "z": null, "l": [1, "w"]});
        let mut next = 0;
        let marked = with_markers(&ctx, &mut next);
        assert_eq!(
            marked,
            json!({"s": marker(0), "e": "", "n": marker(1), "b": true, "z": null, "l": [marker(2), marker(3)]})
        );
        let text = ctx.to_string();
        let (mut key, mut values) = (String::new(), Vec::new());
        shape_of(&text, &mut key, &mut values).unwrap();
        // In marker order, as JSON tokens.
        assert_eq!(values, [r#""v""#, "2", "1", r#""w""#]);
        let key_of = |v: Value| {
            let text = v.to_string();
            let (mut key, mut values) = (String::new(), Vec::new());
            shape_of(&text, &mut key, &mut values).unwrap();
            key
        };
        let other = key_of(json!({"s": "w", "e": "", "n": 7, "b": true, "z": null, "l": [5, "x"]}));
        assert_eq!(key, other, "same shape, different values");
        let third =
            key_of(json!({"s": "w", "e": "x", "n": 7, "b": true, "z": null, "l": [5, "x"]}));
        assert_ne!(key, third, "an empty string is part of the shape");
        // Escaped quotes and backslashes stay inside their string; keys are shape.
        let tricky = json!({"k\"ey": "a\\\"b", "n": -1.5e-3});
        let tricky = tricky.to_string();
        let (mut key, mut values) = (String::new(), Vec::new());
        shape_of(&tricky, &mut key, &mut values).unwrap();
        assert_eq!(key, r#"{"k\"ey":$,"n":$}"#);
        assert_eq!(values, [r#""a\\\"b""#, "-0.0015"]);
        let (mut key, mut values) = (String::new(), Vec::new());
        assert!(shape_of(r#"{"a":"unterminated}"#, &mut key, &mut values).is_none());
        // An escape that runs past the end of the text.
        assert!(shape_of(r#"{"a":"x\"#, &mut key, &mut values).is_none());
        assert!(shape_of(r#"{"a":"\"#, &mut key, &mut values).is_none());
        assert!(shape_of("{\"a\":nope}", &mut key, &mut values).is_none());
    }

    #[test]
    fn layout_wraps_at_24_columns_and_rows_take_a_line() {
        let mut d = json!({ "panels": [
            { "type": "row", "gridPos": { "w": 24, "h": 1 } },
            { "type": "timeseries", "gridPos": { "w": 12, "h": 8 } },
            { "type": "timeseries", "gridPos": { "w": 12, "h": 6 } },
            { "type": "timeseries", "gridPos": { "w": 8, "h": 8 } },
            { "type": "row", "gridPos": { "w": 24, "h": 1 } },
            { "type": "timeseries", "gridPos": { "w": 8, "h": 8 } },
        ]});
        layout(&mut d);
        let pos: Vec<(u64, u64, u64)> = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_u64().unwrap(),
                    p["gridPos"]["x"].as_u64().unwrap(),
                    p["gridPos"]["y"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            pos,
            [
                (1, 0, 0),
                (2, 0, 1),
                (3, 12, 1),
                (4, 0, 9),
                (5, 0, 17),
                (6, 0, 18)
            ]
        );
    }
}
