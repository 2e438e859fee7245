//! Resolving one environment's raw document into the model, section by section: the
//! platform and its observability, the tiers, pools and datastores, then every service
//! ([`service`]) with its replicas ([`scaling`]).

mod admission;
mod alerting;
mod delivery;
mod pod;
mod scaling;
mod service;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use super::raw::{self, RawObservability, RawResources};
use super::{
    BASE_ENV, Datastore, Observability, Platform, Pool, RateLimit, RawDocument, Resources,
    SecretStore, Sp,
};
use crate::diagnostic::Diagnostic;
use crate::units::{Duration, Quantity};
use service::ServiceScope;
use toml::Spanned;

pub(super) fn sp<T>(span: Range<usize>, value: T) -> Sp<T> {
    Spanned::new(span, value)
}

/// Collects the problems of one resolution.
pub(super) struct Resolver<'r> {
    pub(super) raw: &'r RawDocument,
    pub(super) diags: Vec<Diagnostic>,
}

pub(super) fn duration(
    diags: &mut Vec<Diagnostic>,
    value: &Sp<String>,
    what: &str,
) -> Sp<Duration> {
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

pub(super) fn quantity(
    diags: &mut Vec<Diagnostic>,
    value: &Option<Sp<String>>,
) -> Option<Sp<Quantity>> {
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

pub(super) fn resources(diags: &mut Vec<Diagnostic>, raw: &RawResources) -> Resources {
    Resources {
        cpu: quantity(diags, &raw.cpu),
        memory: quantity(diags, &raw.memory),
        cpu_limit: quantity(diags, &raw.cpu_limit),
        memory_limit: quantity(diags, &raw.memory_limit),
    }
}

pub(super) fn unknown(kind: &str, name: &Sp<String>, known: &[&str], define: &str) -> Diagnostic {
    crate::diagnostic::unknown_reference(kind, name.get_ref(), name.span(), known, define)
}

pub(super) fn names<V>(map: &raw::SpMap<V>) -> Vec<&str> {
    map.keys().map(|k| k.get_ref().as_str()).collect()
}

impl<'r> Resolver<'r> {
    pub(super) fn invalid(&mut self, message: String, span: Range<usize>, label: &str, help: &str) {
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
}

/// Resolves the document of one environment (`None`: the file as written) into the model.
///
/// The model is returned even when there are problems (with unresolved references left
/// out), so that later phases can still report theirs in the same run.
pub fn resolve(
    base_raw: &Arc<RawDocument>,
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
    let quota = p.quota.as_ref().map(|q| {
        let parsed = resources(&mut r.diags, q.get_ref());
        r.check_quota(&parsed);
        sp(q.span(), parsed)
    });

    let mut observability = observability(&mut r, &raw.observability);
    // A local cluster often has no Prometheus operator where production has one.
    if let Some(operator) = environment.and_then(|e| e.operator.as_ref()) {
        observability.operator = *operator.get_ref();
    }
    check_tiers(&mut r, raw);
    delivery::check_delivery_profiles(&mut r, raw);
    let rate_limits = rate_limits(&mut r, raw);
    let pools = pools(&mut r, raw);
    let datastores = datastores(&mut r, raw);
    let alerting = r.alerting();
    let scope = ServiceScope {
        base_raw,
        autoscaling,
        env_replicas: environment.and_then(|e| e.replicas.as_ref()),
        progressive_delivery: environment
            .and_then(|e| e.progressive_delivery.as_ref())
            .or(p.progressive_delivery.as_ref())
            .is_none_or(|v| *v.get_ref()),
        env_overrides: environment
            .map(|e| e.services.keys().map(|k| k.get_ref().as_str()).collect())
            .unwrap_or_default(),
        service_names: names(&raw.services),
        environment,
    };
    let mut ingress_routes = BTreeMap::new();
    let mut services = BTreeMap::new();
    for (name, svc) in &raw.services {
        let service = r.service(&scope, &mut ingress_routes, name, svc.get_ref());
        services.insert(name.get_ref().clone(), service);
    }

    r.diags.extend(crate::model::names::check(&name, &services));
    check_references_outside_services(raw, env, &scope.service_names, &mut r.diags);
    if raw.secrets.is_some() {
        check_secret_owners(raw, &mut r.diags);
    }

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
        secret_store: secret_store(&mut r, raw),
        alerting,
        raw: Arc::clone(&env_raw),
        base_raw: Arc::clone(base_raw),
    };
    (platform, r.diags)
}

/// `[observability]` with its defaults.
fn observability(r: &mut Resolver<'_>, o: &RawObservability) -> Observability {
    r.check_observability_labels(o);
    if let Some(url) = &o.runbook_url {
        r.check_template_text(url, "`runbook_url`");
    }
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
    Observability {
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
        operator: o.operator.as_ref().is_none_or(|v| *v.get_ref()),
        prometheus_url: o.prometheus_url.as_ref().map_or_else(
            || {
                format!(
                    "http://prometheus-operated.{}.svc:9090",
                    string(&o.prometheus_namespace, "monitoring")
                )
            },
            |u| u.get_ref().clone(),
        ),
    }
}

/// With a secret store each Secret is created by one service's ExternalSecret, which owns
/// it: two services reading one Secret would have two owners fighting over it.
fn check_secret_owners(raw: &RawDocument, diags: &mut Vec<Diagnostic>) {
    let mut owners: BTreeMap<&str, (&str, Range<usize>)> = BTreeMap::new();
    for (service, svc) in &raw.services {
        let mut own: Vec<&str> = Vec::new();
        for reference in svc.get_ref().secrets.values() {
            let secret = reference.get_ref().split('/').next().unwrap_or_default();
            if own.contains(&secret) {
                continue;
            }
            own.push(secret);
            match owners.get(secret) {
                Some((first, span)) => diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!(
                            "Secret `{secret}` is read by `{first}` and `{}`; with `[secrets] store` each service's ExternalSecret owns its Secrets",
                            service.get_ref()
                        ),
                        reference.span(),
                        "second reader",
                    )
                    .with_secondary(span.clone(), "first reader")
                    .with_help("give each service a Secret of its own, e.g. `<service>-db/password` (read from the store entry of that name)"),
                ),
                None => {
                    owners.insert(secret, (service.get_ref(), reference.span()));
                }
            }
        }
    }
}

/// `[secrets]` with its defaults.
fn secret_store(r: &mut Resolver<'_>, raw: &RawDocument) -> Option<SecretStore> {
    let secrets = raw.secrets.as_ref()?.get_ref();
    let store = secrets.store.get_ref();
    let refresh_interval = match &secrets.refresh_interval {
        Some(v) => *duration(&mut r.diags, v, "refresh interval").get_ref(),
        None => Duration::from_secs(3600),
    };
    Some(SecretStore {
        kind: store
            .kind
            .as_ref()
            .map_or("ClusterSecretStore".to_string(), |k| k.get_ref().clone()),
        name: store.name.get_ref().clone(),
        refresh_interval,
        key_prefix: secrets
            .key_prefix
            .as_ref()
            .map_or(String::new(), |p| p.get_ref().clone()),
    })
}

/// Scaling tiers whose bounds are the wrong way round.
fn check_tiers(r: &mut Resolver<'_>, raw: &RawDocument) {
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
}

/// The rate-limit tiers.
fn rate_limits(r: &mut Resolver<'_>, raw: &RawDocument) -> BTreeMap<String, RateLimit> {
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
    rate_limits
}

/// The connection-pool profiles.
fn pools(r: &mut Resolver<'_>, raw: &RawDocument) -> BTreeMap<String, Pool> {
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
    pools
}

/// The datastores.
fn datastores(r: &mut Resolver<'_>, raw: &RawDocument) -> BTreeMap<String, Datastore> {
    let mut datastores = BTreeMap::new();
    for (k, v) in &raw.datastores {
        let v = v.get_ref();
        r.check_cidr(&v.cidr);
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
                host: v.host.as_ref().map(|h| h.get_ref().clone()),
            },
        );
    }
    datastores
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
