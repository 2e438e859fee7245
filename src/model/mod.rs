//! Phase 3: the typed model of one environment.
//!
//! The raw document (as written, with spans) is resolved into a [`Platform`]: tier references
//! replaced by their values with per-service overrides applied, defaults filled in, the
//! environment's settings and service overrides merged. Every reference that does not resolve
//! is reported (BR002) with a suggestion, and every problem of the file in one run.

pub mod raw;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::units::{Duration, Quantity};
pub use raw::{RawDocument, Sp};
use raw::{RawPolicy, RawResources, RawScaling, RawService};

/// Environment name used for the file as written (no `--env`).
pub const BASE_ENV: &str = "base";

#[derive(Debug, Clone)]
pub struct Platform {
    pub env: String,
    pub name: String,
    pub namespace: String,
    pub registry: Option<String>,
    pub kubernetes: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub autoscaling: bool,
    pub quota: Option<Sp<Resources>>,
    pub observability: Observability,
    pub rate_limits: BTreeMap<String, RateLimit>,
    pub pools: BTreeMap<String, Pool>,
    pub datastores: BTreeMap<String, Datastore>,
    pub services: BTreeMap<String, Service>,
    /// The document as written (with this environment's service overrides merged), for
    /// checks that need what the model resolves away. Shared between environments that
    /// override no service.
    pub raw: Arc<RawDocument>,
}

#[derive(Debug, Clone)]
pub struct Observability {
    pub requests_metric: String,
    pub latency_metric: String,
    pub service_label: String,
    pub code_label: String,
    pub pool_metric: String,
    pub datastore_label: String,
    pub latency_buckets: Option<Vec<Sp<Duration>>>,
    pub datasource: String,
    pub retention: Sp<Duration>,
    pub scrape_interval: Duration,
    pub runbook_url: Option<String>,
    pub prometheus_namespace: String,
    pub ingress_namespace: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub cpu: Option<Sp<Quantity>>,
    pub memory: Option<Sp<Quantity>>,
    pub cpu_limit: Option<Sp<Quantity>>,
    pub memory_limit: Option<Sp<Quantity>>,
}

#[derive(Debug, Clone)]
pub struct RateLimit {
    pub name: String,
    pub requests: u64,
    pub window: Duration,
    pub burst: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub min: u32,
    pub max: Sp<u32>,
    pub timeout: Duration,
    pub recycle: Duration,
    pub pre_ping: bool,
}

#[derive(Debug, Clone)]
pub struct Datastore {
    pub name: Sp<String>,
    pub engine: String,
    pub max_connections: Sp<u64>,
    pub reserved_connections: u64,
    pub port: u16,
    pub cidr: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: Sp<String>,
    pub image: Sp<String>,
    pub port: Sp<u16>,
    pub layer: String,
    pub critical: Sp<bool>,
    pub replicas: Replicas,
    pub rate_limit: Option<Sp<String>>,
    pub resources: Sp<Resources>,
    pub depends_on: Vec<Sp<String>>,
    pub soft_depends_on: Vec<Sp<String>>,
    /// Datastore name → pool profile name, with the spans of both.
    pub datastores: Vec<(Sp<String>, Sp<String>)>,
    pub egress: Vec<Egress>,
    pub ingress: Option<Ingress>,
    pub metrics: Vec<Metric>,
    pub env: BTreeMap<String, String>,
    /// Variable → (secret name, key).
    pub secrets: BTreeMap<String, (String, String)>,
    pub probes: Probes,
    /// An explicit PodDisruptionBudget (`pdb = { … }`).
    pub pdb: Option<Pdb>,
    pub slo: Option<Slo>,
}

#[derive(Debug, Clone)]
pub enum Pdb {
    MinAvailable(Sp<u32>),
    MaxUnavailable(Sp<u32>),
}

/// How many replicas a service runs in this environment.
#[derive(Debug, Clone)]
pub enum Replicas {
    /// A fixed count (`replicas = N`, no tier, or autoscaling turned off).
    Fixed { count: u32, span: Range<usize> },
    /// An HPA between `min` and `max`.
    Auto(Box<Autoscale>),
}

#[derive(Debug, Clone)]
pub struct Autoscale {
    pub tier: Sp<String>,
    pub min: Sp<u32>,
    pub max: Sp<u32>,
    pub cpu_target: Option<Sp<u32>>,
    pub memory_target: Option<Sp<u32>>,
    pub scale_up: Option<Policy>,
    pub scale_down: Option<Policy>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub stabilization: Option<Sp<Duration>>,
    pub max_pods: Option<u32>,
    pub max_percent: Option<u32>,
    pub period: Duration,
}

impl Replicas {
    /// The fewest replicas the service can run with.
    pub fn min(&self) -> u32 {
        match self {
            Replicas::Fixed { count, .. } => *count,
            Replicas::Auto(a) => *a.min.get_ref(),
        }
    }

    /// The most replicas the service can run with.
    pub fn max(&self) -> u32 {
        match self {
            Replicas::Fixed { count, .. } => *count,
            Replicas::Auto(a) => *a.max.get_ref(),
        }
    }

    pub fn autoscale(&self) -> Option<&Autoscale> {
        match self {
            Replicas::Auto(a) => Some(a),
            Replicas::Fixed { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Egress {
    pub name: String,
    pub cidr: String,
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct Ingress {
    pub host: Sp<String>,
    pub path: String,
    pub tls_secret: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub target: f64,
}

#[derive(Debug, Clone)]
pub struct Probes {
    pub liveness: String,
    pub readiness: String,
    pub startup: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Slo {
    pub span: Range<usize>,
    pub availability: Option<Sp<f64>>,
    pub latency: Option<LatencySlo>,
    pub window: Sp<Duration>,
}

#[derive(Debug, Clone)]
pub struct LatencySlo {
    pub threshold: Sp<Duration>,
    pub percentile: f64,
}

/// Keys berrys writes into every service ConfigMap; `env` may not reuse them.
const RATE_LIMIT_KEYS: [&str; 4] = [
    "RATE_LIMIT_TIER",
    "RATE_LIMIT_REQUESTS",
    "RATE_LIMIT_WINDOW_SECONDS",
    "RATE_LIMIT_BURST",
];

/// The ConfigMap key prefix of a datastore's pool settings (`agent-db` → `AGENT_DB`).
pub fn datastore_env_prefix(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// The `environments.<env>.services` table, if the environment overrides services.
fn service_overrides<'d, 'a>(doc: &'d Spanned<DeTable<'a>>, env: &str) -> Option<&'d DeTable<'a>> {
    doc.get_ref()
        .get("environments")
        .and_then(|e| e.get_ref().as_table())
        .and_then(|envs| envs.get(env))
        .and_then(|e| e.get_ref().as_table())
        .and_then(|e| e.get("services"))
        .and_then(|s| s.get_ref().as_table())
}

/// Whether an environment overrides any service (its document differs from the base one).
pub fn has_service_overrides(doc: &Spanned<DeTable<'_>>, env: &str) -> bool {
    service_overrides(doc, env).is_some_and(|s| !s.is_empty())
}

/// Merges `environments.<env>.services.<svc>` tables over `services.<svc>` in the document
/// tree: tables merge by key, scalars and arrays replace. Values keep the spans of the place
/// they were written, so diagnostics in an environment point at the override.
pub fn apply_environment<'a>(doc: &Spanned<DeTable<'a>>, env: &str) -> Spanned<DeTable<'a>> {
    let mut root = doc.clone();
    let overrides: Vec<(Spanned<std::borrow::Cow<'a, str>>, Spanned<DeValue<'a>>)> =
        service_overrides(doc, env)
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
    if overrides.is_empty() {
        return root;
    }
    let Some(services) = root
        .get_mut()
        .get_mut("services")
        .and_then(|s| match s.get_mut() {
            DeValue::Table(t) => Some(t),
            _ => None,
        })
    else {
        return root;
    };
    for (name, value) in overrides {
        // An override of a service that does not exist is reported by the base check.
        if let Some(target) = services.get_mut(name.get_ref().as_ref()) {
            merge_value(target, value);
        }
    }
    root
}

fn merge_value<'a>(target: &mut Spanned<DeValue<'a>>, value: Spanned<DeValue<'a>>) {
    let span = value.span();
    match (target.get_mut(), value.into_inner()) {
        (DeValue::Table(base), DeValue::Table(over)) => {
            for (k, v) in over {
                match base.get_mut(k.get_ref().as_ref()) {
                    Some(existing) => merge_value(existing, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (_, other) => *target = Spanned::new(span, other),
    }
}

/// Names of the environments, in file order of their names (sorted).
pub fn environment_names(raw: &RawDocument) -> Vec<String> {
    raw.environments
        .keys()
        .map(|k| k.get_ref().clone())
        .collect()
}

fn sp<T>(span: Range<usize>, value: T) -> Sp<T> {
    Spanned::new(span, value)
}

/// Collects the problems of one resolution.
struct Resolver<'r> {
    raw: &'r RawDocument,
    diags: Vec<Diagnostic>,
}

fn duration(diags: &mut Vec<Diagnostic>, value: &Sp<String>, what: &str) -> Sp<Duration> {
    match Duration::parse(value.get_ref()) {
        Ok(d) => sp(value.span(), d),
        Err(msg) => {
            diags.push(
                Diagnostic::new(
                    crate::diagnostic::codes::INVALID_VALUE,
                    format!("invalid {what}: {msg}"),
                    value.span(),
                    "invalid duration",
                )
                .with_help(
                    "write a whole number of milliseconds or more: \"500ms\", \"2.5s\", \"30d\"",
                ),
            );
            sp(value.span(), Duration { millis: 0 })
        }
    }
}

fn quantity(diags: &mut Vec<Diagnostic>, value: &Option<Sp<String>>) -> Option<Sp<Quantity>> {
    let value = value.as_ref()?;
    match Quantity::parse(value.get_ref()) {
        Ok(q) => Some(sp(value.span(), q)),
        Err(msg) => {
            diags.push(Diagnostic::new(
                crate::diagnostic::codes::INVALID_VALUE,
                format!("invalid quantity: {msg}"),
                value.span(),
                "invalid quantity",
            ));
            None
        }
    }
}

fn resources(diags: &mut Vec<Diagnostic>, raw: &RawResources) -> Resources {
    Resources {
        cpu: quantity(diags, &raw.cpu),
        memory: quantity(diags, &raw.memory),
        cpu_limit: quantity(diags, &raw.cpu_limit),
        memory_limit: quantity(diags, &raw.memory_limit),
    }
}

fn unknown(kind: &str, name: &Sp<String>, known: &[&str], define: &str) -> Diagnostic {
    crate::diagnostic::unknown_reference(kind, name.get_ref(), name.span(), known, define)
}

fn names<V>(map: &raw::SpMap<V>) -> Vec<&str> {
    map.keys().map(|k| k.get_ref().as_str()).collect()
}

impl<'r> Resolver<'r> {
    fn invalid(&mut self, message: String, span: Range<usize>, label: &str, help: &str) {
        self.diags.push(
            Diagnostic::new(
                crate::diagnostic::codes::INVALID_VALUE,
                message,
                span,
                label,
            )
            .with_help(help),
        );
    }

    fn policy(&mut self, base: Option<&RawPolicy>, over: Option<&RawPolicy>) -> Option<Policy> {
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
    fn replicas(
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

/// Resolves the document of one environment (`None`: the file as written) into the model.
///
/// The model is returned even when there are problems (with unresolved references left
/// out), so that later phases can still report theirs in the same run.
pub fn resolve(
    base_raw: &RawDocument,
    env_raw: Arc<RawDocument>,
    env: Option<&str>,
) -> (Platform, Vec<Diagnostic>) {
    let raw = &*env_raw;
    let mut r = Resolver {
        raw,
        diags: Vec::new(),
    };
    let env_name = env.unwrap_or(BASE_ENV).to_string();
    let environment = env
        .and_then(|e| raw.environments.get(e))
        .map(|e| e.get_ref());

    let p = &raw.platform;
    let name = p.name.get_ref().clone();
    let namespace = environment
        .and_then(|e| e.namespace.as_ref())
        .or(p.namespace.as_ref())
        .map_or_else(|| name.clone(), |n| n.get_ref().clone());
    let mut labels = p.labels.clone();
    if let Some(e) = environment {
        labels.extend(e.labels.clone());
    }
    let autoscaling = environment
        .and_then(|e| e.autoscaling.as_ref())
        .or(p.autoscaling.as_ref())
        .is_none_or(|a| *a.get_ref());
    let quota = p
        .quota
        .as_ref()
        .map(|q| sp(q.span(), resources(&mut r.diags, q.get_ref())));

    let o = &raw.observability;
    let string = |v: &Option<Sp<String>>, default: &str| {
        v.as_ref()
            .map_or_else(|| default.to_string(), |s| s.get_ref().clone())
    };
    let latency_buckets = o.latency_buckets.as_ref().map(|b| {
        b.iter()
            .map(|v| duration(&mut r.diags, v, "latency bucket"))
            .collect()
    });
    let retention = match &o.retention {
        Some(v) => duration(&mut r.diags, v, "retention"),
        None => sp(
            0..0,
            Duration::parse("15d").unwrap_or(Duration { millis: 0 }),
        ),
    };
    let scrape_interval = match &o.scrape_interval {
        Some(v) => duration(&mut r.diags, v, "scrape interval").into_inner(),
        None => Duration::from_secs(30),
    };
    let observability = Observability {
        requests_metric: string(&o.requests_metric, "http_requests_total"),
        latency_metric: string(&o.latency_metric, "http_request_duration_seconds"),
        service_label: string(&o.service_label, "service"),
        code_label: string(&o.code_label, "code"),
        pool_metric: string(&o.pool_metric, "db_pool_connections_in_use"),
        datastore_label: string(&o.datastore_label, "datastore"),
        latency_buckets,
        datasource: string(&o.datasource, "prometheus"),
        retention,
        scrape_interval,
        runbook_url: o.runbook_url.as_ref().map(|u| u.get_ref().clone()),
        prometheus_namespace: string(&o.prometheus_namespace, "monitoring"),
        ingress_namespace: string(&o.ingress_namespace, "ingress-nginx"),
    };

    for tier in raw.scaling.values() {
        let t = tier.get_ref();
        if t.min_replicas.get_ref() > t.max_replicas.get_ref() {
            r.diags.push(
                Diagnostic::new(
                    crate::diagnostic::codes::INVALID_VALUE,
                    format!(
                        "`min_replicas` ({}) is greater than `max_replicas` ({})",
                        t.min_replicas.get_ref(),
                        t.max_replicas.get_ref()
                    ),
                    t.min_replicas.span(),
                    "minimum",
                )
                .with_secondary(t.max_replicas.span(), "maximum")
                .with_help("raise `max_replicas` or lower `min_replicas`"),
            );
        }
    }

    let mut rate_limits = BTreeMap::new();
    for (k, v) in &raw.rate_limits {
        let v = v.get_ref();
        let window = duration(&mut r.diags, &v.window, "rate-limit window");
        if window.get_ref().millis == 0 {
            r.invalid(
                "a rate-limit window of zero admits no requests".to_string(),
                window.span(),
                "zero window",
                "use a positive window such as \"60s\"",
            );
        }
        rate_limits.insert(
            k.get_ref().clone(),
            RateLimit {
                name: k.get_ref().clone(),
                requests: *v.requests.get_ref(),
                window: window.into_inner(),
                burst: v.burst.as_ref().map(|b| *b.get_ref()),
            },
        );
    }

    let mut pools = BTreeMap::new();
    for (k, v) in &raw.pools {
        let v = v.get_ref();
        let min = v.min.as_ref().map_or(0, |m| *m.get_ref());
        if let Some(m) = &v.min
            && min > *v.max.get_ref()
        {
            r.diags.push(
                Diagnostic::new(
                    crate::diagnostic::codes::INVALID_VALUE,
                    format!(
                        "pool `min` ({min}) is greater than its `max` ({})",
                        v.max.get_ref()
                    ),
                    m.span(),
                    "minimum",
                )
                .with_secondary(v.max.span(), "maximum")
                .with_help("a pool cannot keep more idle connections than it may open"),
            );
        }
        let timeout = v.timeout.as_ref().map_or(Duration::from_secs(30), |t| {
            duration(&mut r.diags, t, "pool timeout").into_inner()
        });
        let recycle = v.recycle.as_ref().map_or(Duration::from_secs(3600), |t| {
            duration(&mut r.diags, t, "pool recycle age").into_inner()
        });
        pools.insert(
            k.get_ref().clone(),
            Pool {
                name: k.get_ref().clone(),
                min,
                max: v.max.clone(),
                timeout,
                recycle,
                pre_ping: v.pre_ping.as_ref().is_some_and(|p| *p.get_ref()),
            },
        );
    }

    let mut datastores = BTreeMap::new();
    for (k, v) in &raw.datastores {
        let v = v.get_ref();
        let reserved = v.reserved_connections.as_ref().map_or(0, |r| *r.get_ref());
        if let Some(res) = &v.reserved_connections
            && reserved >= *v.max_connections.get_ref()
        {
            r.diags.push(
                Diagnostic::new(
crate::diagnostic::codes::INVALID_VALUE,
                    format!(
                        "`reserved_connections` ({reserved}) leaves no connections of `max_connections` ({}) for services",
                        v.max_connections.get_ref()
                    ),
                    res.span(),
                    "reserved",
                )
                .with_secondary(v.max_connections.span(), "the datastore's limit")
                .with_help("reserved connections must be fewer than `max_connections`"),
            );
        }
        datastores.insert(
            k.get_ref().clone(),
            Datastore {
                name: k.clone(),
                engine: v.engine.get_ref().clone(),
                max_connections: v.max_connections.clone(),
                reserved_connections: reserved,
                port: *v.port.get_ref(),
                cidr: v.cidr.get_ref().clone(),
            },
        );
    }

    let env_replicas = environment.and_then(|e| e.replicas.as_ref());
    let env_overrides: BTreeSet<&str> = environment
        .map(|e| e.services.keys().map(|k| k.get_ref().as_str()).collect())
        .unwrap_or_default();
    let service_names = names(&raw.services);
    let mut services = BTreeMap::new();
    let mut ingress_routes: BTreeMap<(String, String), Sp<String>> = BTreeMap::new();
    for (name, svc) in &raw.services {
        let svc = svc.get_ref();
        // `replicas` set in this environment's override beats the environment-wide count.
        let env_set_replicas = env_overrides.contains(name.get_ref().as_str())
            && svc
                .replicas
                .as_ref()
                .is_some_and(|r| !span_within(&r.span(), &base_service_span(base_raw, name)));
        let replicas = r.replicas(svc, autoscaling, env_replicas, env_set_replicas);

        for dep in svc.depends_on.iter().chain(&svc.soft_depends_on) {
            if !raw.services.contains_key(dep.get_ref().as_str()) {
                r.diags.push(unknown(
                    "service",
                    dep,
                    &service_names,
                    "a `[services.<name>]` table",
                ));
            }
        }
        for dep in &svc.soft_depends_on {
            if let Some(hard) = svc.depends_on.iter().find(|d| d.get_ref() == dep.get_ref()) {
                r.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!(
                            "`{}` is both a hard and a soft dependency of `{}`",
                            dep.get_ref(),
                            name.get_ref()
                        ),
                        dep.span(),
                        "soft dependency",
                    )
                    .with_secondary(hard.span(), "hard dependency")
                    .with_help("list it in `depends_on` or in `soft_depends_on`, not both"),
                );
            }
        }
        if let Some(rl) = &svc.rate_limit
            && !raw.rate_limits.contains_key(rl.get_ref().as_str())
        {
            r.diags.push(unknown(
                "rate-limit tier",
                rl,
                &names(&raw.rate_limits),
                "a `[rate_limits.<tier>]` table",
            ));
        }
        let mut uses = Vec::new();
        for (ds, pool) in &svc.datastores {
            if !raw.datastores.contains_key(ds.get_ref().as_str()) {
                r.diags.push(unknown(
                    "datastore",
                    ds,
                    &names(&raw.datastores),
                    "a `[datastores.<name>]` table",
                ));
            }
            if !raw.pools.contains_key(pool.get_ref().as_str()) {
                r.diags.push(unknown(
                    "pool profile",
                    pool,
                    &names(&raw.pools),
                    "a `[pools.<profile>]` table",
                ));
            }
            uses.push((ds.clone(), pool.clone()));
        }

        let mut env_vars = BTreeMap::new();
        let generated: BTreeSet<String> = svc
            .datastores
            .keys()
            .flat_map(|ds| {
                let prefix = datastore_env_prefix(ds.get_ref());
                [
                    "MIN",
                    "MAX",
                    "TIMEOUT_SECONDS",
                    "RECYCLE_SECONDS",
                    "PRE_PING",
                ]
                .map(|s| format!("{prefix}_POOL_{s}"))
            })
            .chain(RATE_LIMIT_KEYS.iter().map(|s| s.to_string()))
            .collect();
        for (k, v) in &svc.env {
            if generated.contains(k.get_ref()) {
                r.invalid(
                    format!("`{}` is set by berrys in the service ConfigMap", k.get_ref()),
                    k.span(),
                    "reserved variable",
                    "berrys writes the rate-limit and pool settings under this name; rename the variable",
                );
            }
            if let Some((sk, _)) = svc.secrets.get_key_value(k.get_ref().as_str()) {
                r.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!("`{}` is set both in `env` and in `secrets`", k.get_ref()),
                        k.span(),
                        "plain value",
                    )
                    .with_secondary(sk.span(), "from a secret")
                    .with_help("keep one of them"),
                );
            }
            env_vars.insert(k.get_ref().clone(), v.get_ref().clone());
        }
        let secrets = svc
            .secrets
            .iter()
            .map(|(k, v)| {
                let (secret, key) = v.get_ref().split_once('/').unwrap_or((v.get_ref(), ""));
                (k.get_ref().clone(), (secret.to_string(), key.to_string()))
            })
            .collect();

        let mut egress = Vec::new();
        let mut egress_names: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        for e in &svc.egress {
            let e = e.get_ref();
            if let Some(first) = egress_names.insert(e.name.get_ref(), e.name.span()) {
                r.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!("egress `{}` is declared twice", e.name.get_ref()),
                        e.name.span(),
                        "second declaration",
                    )
                    .with_secondary(first, "first declaration")
                    .with_help("give each egress destination its own name"),
                );
            }
            egress.push(Egress {
                name: e.name.get_ref().clone(),
                cidr: e.cidr.get_ref().clone(),
                port: *e.port.get_ref(),
            });
        }
        let ingress = svc.ingress.as_ref().map(|i| {
            let i = i.get_ref();
            let path = i
                .path
                .as_ref()
                .map_or("/".to_string(), |p| p.get_ref().clone());
            let route = (i.host.get_ref().clone(), path.clone());
            if let Some(other) = ingress_routes.get(&route) {
                r.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!(
                            "`{}` and `{}` are both exposed at {}{}",
                            other.get_ref(),
                            name.get_ref(),
                            route.0,
                            route.1
                        ),
                        i.host.span(),
                        "same host and path",
                    )
                    .with_help("give each service its own host or path"),
                );
            } else {
                ingress_routes.insert(route, name.clone());
            }
            Ingress {
                host: i.host.clone(),
                path,
                tls_secret: i.tls_secret.as_ref().map(|t| t.get_ref().clone()),
            }
        });
        let mut metric_names: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        let mut metrics = Vec::new();
        for m in &svc.metrics {
            let m = m.get_ref();
            if let Some(first) = metric_names.insert(m.name.get_ref(), m.name.span()) {
                r.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!("metric `{}` is listed twice", m.name.get_ref()),
                        m.name.span(),
                        "second entry",
                    )
                    .with_secondary(first, "first entry")
                    .with_help("an HPA takes each metric once; remove one entry"),
                );
            }
            metrics.push(Metric {
                name: m.name.get_ref().clone(),
                target: *m.target.get_ref(),
            });
        }
        let slo = svc.slo.as_ref().map(|s| {
            let raw_slo = s.get_ref();
            let window = match &raw_slo.window {
                Some(w) => duration(&mut r.diags, w, "SLO window"),
                None => sp(s.span(), Duration::parse("30d").unwrap_or(Duration { millis: 0 })),
            };
            if window.get_ref().millis < 3_600_000 {
                r.invalid(
                    format!("an SLO window of {} is too short", window.get_ref()),
                    window.span(),
                    "shorter than 1h",
                    "SLO windows are days or weeks (\"28d\", \"30d\"); burn-rate alerts need at least 1h",
                );
            }
            Slo {
                span: s.span(),
                availability: raw_slo.availability.clone(),
                latency: raw_slo.latency.as_ref().map(|l| LatencySlo {
                    threshold: duration(&mut r.diags, &l.get_ref().threshold, "latency threshold"),
                    percentile: *l.get_ref().percentile.get_ref(),
                }),
                window,
            }
        });
        let probes = Probes {
            liveness: svc
                .probes
                .liveness
                .as_ref()
                .map_or("/healthz".to_string(), |p| p.get_ref().clone()),
            readiness: svc
                .probes
                .readiness
                .as_ref()
                .map_or("/ready".to_string(), |p| p.get_ref().clone()),
            startup: svc.probes.startup.as_ref().map(|p| p.get_ref().clone()),
        };
        let resources = match &svc.resources {
            Some(res) => sp(res.span(), resources(&mut r.diags, res.get_ref())),
            None => sp(name.span(), Resources::default()),
        };
        services.insert(
            name.get_ref().clone(),
            Service {
                name: name.clone(),
                image: svc.image.clone(),
                port: svc.port.clone(),
                layer: svc
                    .layer
                    .as_ref()
                    .map_or("service".to_string(), |l| l.get_ref().clone()),
                critical: svc
                    .critical
                    .clone()
                    .unwrap_or_else(|| sp(name.span(), false)),
                replicas,
                rate_limit: svc.rate_limit.clone(),
                resources,
                depends_on: svc.depends_on.clone(),
                soft_depends_on: svc.soft_depends_on.clone(),
                datastores: uses,
                egress,
                ingress,
                metrics,
                env: env_vars,
                secrets,
                probes,
                pdb: svc.pdb.as_ref().and_then(|p| {
                    let p = p.get_ref();
                    // The schema admits exactly one of the two.
                    p.min_available
                        .clone()
                        .map(Pdb::MinAvailable)
                        .or_else(|| p.max_unavailable.clone().map(Pdb::MaxUnavailable))
                }),
                slo,
            },
        );
    }

    check_references_outside_services(raw, env, &service_names, &mut r.diags);

    for d in &mut r.diags {
        d.envs = vec![env_name.clone()];
    }
    let platform = Platform {
        env: env_name,
        name,
        namespace,
        registry: p.registry.as_ref().map(|r| r.get_ref().clone()),
        kubernetes: p
            .kubernetes
            .as_ref()
            .map_or("1.33".to_string(), |k| k.get_ref().clone()),
        labels,
        annotations: p.annotations.clone(),
        autoscaling,
        quota,
        observability,
        rate_limits,
        pools,
        datastores,
        services,
        raw: Arc::clone(&env_raw),
    };
    (platform, r.diags)
}

/// The span of a service's table in the file as written.
fn base_service_span(raw: &RawDocument, name: &Sp<String>) -> Range<usize> {
    raw.services
        .get_key_value(name.get_ref().as_str())
        .map_or(0..0, |(_, v)| v.span())
}

fn span_within(inner: &Range<usize>, outer: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Exemptions (in the base pass) and this environment's service overrides (in its own pass)
/// that name services or environments that do not exist.
fn check_references_outside_services(
    raw: &RawDocument,
    env: Option<&str>,
    service_names: &[&str],
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(env) = env.and_then(|e| raw.environments.get(e)) {
        for svc in env.get_ref().services.keys() {
            if !raw.services.contains_key(svc.get_ref().as_str()) {
                diags.push(unknown(
                    "service",
                    svc,
                    service_names,
                    "a `[services.<name>]` table, or remove the override",
                ));
            }
        }
        return;
    }
    let env_names = names(&raw.environments);
    for ex in &raw.lint.exempt {
        let ex = ex.get_ref();
        if let Some(s) = &ex.service
            && !raw.services.contains_key(s.get_ref().as_str())
        {
            diags.push(unknown(
                "service",
                s,
                service_names,
                "a `[services.<name>]` table",
            ));
        }
        if let Some(e) = &ex.env
            && e.get_ref() != BASE_ENV
            && !raw.environments.contains_key(e.get_ref().as_str())
        {
            diags.push(unknown(
                "environment",
                e,
                &env_names,
                "an `[environments.<name>]` table",
            ));
        }
    }
}
