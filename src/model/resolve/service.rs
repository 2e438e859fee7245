//! One service of an environment, resolved: its references checked, its generated
//! environment variables, egress, ingress, metrics, SLO and probes.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::{Resolver, base_service_span, duration, names, resources, sp, span_within, unknown};
use crate::diagnostic::Diagnostic;
use crate::model::raw::RawService;
use crate::model::{
    Egress, Ingress, LatencySlo, Metric, MetricKind, Pdb, RATE_LIMIT_KEYS, RawDocument, Resources,
    SecretRefs, Service, Slo, Sp,
};
use crate::units::{Cidr, Duration};

/// The shortest SLO window, a week. The 6h page condition burns 5 % of the budget, which over
/// 5 days is exactly the rate that spends the whole budget, and below that a service within
/// its budget would page; over a week it is 1.4 times that rate, a margin that float
/// rounding of the error ratios cannot cross.
pub(crate) const MIN_SLO_WINDOW: Duration = Duration {
    millis: 7 * 24 * 3_600_000,
};

/// The pool settings berrys writes as `<DATASTORE>_POOL_<SETTING>`.
const POOL_KEYS: [&str; 5] = [
    "MIN",
    "MAX",
    "TIMEOUT_SECONDS",
    "RECYCLE_SECONDS",
    "PRE_PING",
];

/// The rest of `key` after the environment-variable form of `name` (`agent-db` → `AGENT_DB`,
/// as [`crate::model::datastore_env_prefix`] writes it), if `key` starts with it.
fn strip_env_prefix<'k>(key: &'k str, name: &str) -> Option<&'k str> {
    let matches = key.len() >= name.len()
        && name.bytes().zip(key.bytes()).all(|(n, k)| {
            k == if n == b'-' {
                b'_'
            } else {
                n.to_ascii_uppercase()
            }
        });
    // Names are ASCII (the schema's DNS labels), so a match ends on a character boundary.
    matches.then(|| key.get(name.len()..)).flatten()
}

/// What resolving a service needs of its environment.
pub(super) struct ServiceScope<'s> {
    pub base_raw: &'s RawDocument,
    pub autoscaling: bool,
    pub env_replicas: Option<&'s Sp<u32>>,
    /// `progressive_delivery` of the environment, else of the platform.
    pub progressive_delivery: bool,
    /// The services the environment overrides.
    pub env_overrides: BTreeSet<&'s str>,
    pub service_names: Vec<&'s str>,
    /// The environment being resolved, if not the file as written.
    pub environment: Option<&'s crate::model::raw::RawEnvironment>,
}

/// Which service is exposed at each host and path, so far.
pub(super) type IngressRoutes = BTreeMap<(String, String), Sp<String>>;

impl Resolver<'_> {
    /// The service `name` of the environment's document.
    pub(super) fn service(
        &mut self,
        scope: &ServiceScope<'_>,
        ingress_routes: &mut IngressRoutes,
        name: &Sp<String>,
        svc: &RawService,
    ) -> Service {
        let r = self;
        let (base_raw, autoscaling, env_replicas) =
            (scope.base_raw, scope.autoscaling, scope.env_replicas);
        let env_overrides = &scope.env_overrides;
        // `replicas` set in this environment's override beats the environment-wide count.
        let env_set_replicas = env_overrides.contains(name.get_ref().as_str())
            && svc
                .replicas
                .as_ref()
                .is_some_and(|r| !span_within(&r.span(), &base_service_span(base_raw, name)));
        let replicas = r.replicas(svc, autoscaling, env_replicas, env_set_replicas);
        r.check_references(scope, name, svc);
        let uses = r.datastore_uses(svc);
        let (env_vars, secrets) = r.environment_variables(svc);
        let egress = r.egress(svc);
        let ingress = r.ingress(scope, name, svc, ingress_routes);
        let metrics = r.metrics(svc);
        let slo = r.slo(svc);
        let probes = r.probes(svc);
        let pod = r.pod_settings(scope, name, svc);
        let team = r.team(svc);
        let delivery = r.delivery(
            svc,
            scope.progressive_delivery,
            svc.ingress.as_ref().map(|i| i.span()),
        );
        let resources = match &svc.resources {
            Some(res) => {
                let parsed = resources(&mut r.diags, res.get_ref());
                r.check_requests_within_limits(&parsed);
                sp(res.span(), parsed)
            }
            None => sp(name.span(), Resources::default()),
        };
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
            team,
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
            pod,
            delivery,
        }
    }

    /// Dependencies, a rate-limit tier and so on that do not exist, and a dependency both
    /// hard and soft.
    fn check_references(&mut self, scope: &ServiceScope<'_>, name: &Sp<String>, svc: &RawService) {
        let r = self;
        for dep in svc.depends_on.iter().chain(&svc.soft_depends_on) {
            if !r.raw.services.contains_key(dep.get_ref().as_str()) {
                r.diags.push(unknown(
                    "service",
                    dep,
                    &scope.service_names,
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
            && !r.raw.rate_limits.contains_key(rl.get_ref().as_str())
        {
            r.diags.push(unknown(
                "rate-limit tier",
                rl,
                &names(&r.raw.rate_limits),
                "a `[rate_limits.<tier>]` table",
            ));
        }
    }

    /// The datastores the service uses, each with its pool profile.
    fn datastore_uses(&mut self, svc: &RawService) -> Vec<(Sp<String>, Sp<String>)> {
        let r = self;
        let mut uses = Vec::new();
        for (ds, pool) in &svc.datastores {
            if !r.raw.datastores.contains_key(ds.get_ref().as_str()) {
                r.diags.push(unknown(
                    "datastore",
                    ds,
                    &names(&r.raw.datastores),
                    "a `[datastores.<name>]` table",
                ));
            }
            if !r.raw.pools.contains_key(pool.get_ref().as_str()) {
                r.diags.push(unknown(
                    "pool profile",
                    pool,
                    &names(&r.raw.pools),
                    "a `[pools.<profile>]` table",
                ));
            }
            uses.push((ds.clone(), pool.clone()));
        }
        uses
    }

    /// `env` (checked against the names berrys writes itself and against `secrets`), and
    /// `secrets` as (secret, key) pairs.
    fn environment_variables(
        &mut self,
        svc: &RawService,
    ) -> (BTreeMap<String, String>, SecretRefs) {
        let r = self;
        let mut env_vars = BTreeMap::new();
        for (k, v) in &svc.env {
            if let Some(what) = r.generated_meaning(svc, k.get_ref()) {
                r.invalid(
                    format!(
                        "`{}` is set by berrys in the service ConfigMap: it is {what}",
                        k.get_ref()
                    ),
                    k.span(),
                    "reserved variable",
                    "rename the variable, or remove it if it holds what berrys writes there",
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
        (env_vars, secrets)
    }

    /// What berrys writes under the ConfigMap key `key` of the service, if it writes
    /// anything there. Compared in place: every service's every `env` key is asked.
    fn generated_meaning(&self, svc: &RawService, key: &str) -> Option<String> {
        if RATE_LIMIT_KEYS.contains(&key) {
            return Some("a rate-limit setting".to_string());
        }
        for ds in svc.datastores.keys() {
            let name = ds.get_ref();
            let Some(rest) = strip_env_prefix(key, name) else {
                continue;
            };
            if rest
                .strip_prefix("_POOL_")
                .is_some_and(|setting| POOL_KEYS.contains(&setting))
            {
                return Some(format!("a pool setting of datastore `{name}`"));
            }
            let with_host = self
                .raw
                .datastores
                .get(name.as_str())
                .is_some_and(|d| d.get_ref().host.is_some());
            match rest {
                "_HOST" if with_host => return Some(format!("the host of datastore `{name}`")),
                "_PORT" if with_host => return Some(format!("the port of datastore `{name}`")),
                _ => {}
            }
        }
        svc.depends_on
            .iter()
            .chain(&svc.soft_depends_on)
            .find(|dep| strip_env_prefix(key, dep.get_ref()) == Some("_URL"))
            .map(|dep| format!("the address of dependency `{}`", dep.get_ref()))
    }

    /// An egress destination's `cidr` and every `except` are addresses, and each `except` is a
    /// strict part of the `cidr`.
    fn check_egress_ranges(&mut self, e: &crate::model::raw::RawEgress) {
        let cidr = self.check_cidr(&e.cidr);
        for except in &e.except {
            let (outer, inner) = match (cidr, self.check_cidr(except)) {
                (Some(outer), Some(inner)) if !outer.strictly_contains(inner) => (outer, inner),
                // Inside, or not a CIDR at all (reported above).
                _ => continue,
            };
            if outer.contains(inner) {
                self.diags.push(
                    Diagnostic::new(
                        crate::diagnostic::codes::INVALID_VALUE,
                        format!("`{}` excepts the whole of `{}`", except.get_ref(), e.cidr.get_ref()),
                        except.span(),
                        "the whole range",
                    )
                    .with_secondary(e.cidr.span(), "the allowed range")
                    .with_help("an exception must be a strict part of `cidr` (Kubernetes refuses an equal one); to allow nothing, remove the egress entry"),
                );
                continue;
            }
            let family = |c: Cidr| if c.is_v6() { "IPv6" } else { "IPv4" };
            let why = if outer.is_v6() == inner.is_v6() {
                String::new()
            } else {
                format!(" (an {} range in an {} one)", family(inner), family(outer))
            };
            self.diags.push(
                Diagnostic::new(
                    crate::diagnostic::codes::INVALID_VALUE,
                    format!(
                        "`{}` is not inside `{}`{why}",
                        except.get_ref(),
                        e.cidr.get_ref()
                    ),
                    except.span(),
                    "outside the range",
                )
                .with_secondary(e.cidr.span(), "the allowed range")
                .with_help("an exception must be a part of `cidr`; Kubernetes refuses any other"),
            );
        }
    }

    /// Egress destinations, each name once.
    fn egress(&mut self, svc: &RawService) -> Vec<Egress> {
        let r = self;
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
            r.check_egress_ranges(e);
            egress.push(Egress {
                name: e.name.get_ref().clone(),
                cidr: e.cidr.get_ref().clone(),
                port: *e.port.get_ref(),
                except: e.except.iter().map(|x| x.get_ref().clone()).collect(),
            });
        }
        egress
    }

    /// The Ingress, unless another service is already exposed at its host and path.
    fn ingress(
        &mut self,
        scope: &ServiceScope<'_>,
        name: &Sp<String>,
        svc: &RawService,
        ingress_routes: &mut IngressRoutes,
    ) -> Option<Ingress> {
        let r = self;
        svc.ingress.as_ref().map(|i| {
            let i = i.get_ref();
            r.check_ingress_host(&i.host);
            if let Some(path) = &i.path {
                r.check_ingress_path(path);
            }
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
            let class = scope
                .most_specific(name, i.class.as_ref(), |e| e.ingress_class.as_ref())
                .or(r.raw.platform.ingress_class.as_ref())
                .map(|c| c.get_ref().clone());
            Ingress {
                host: i.host.clone(),
                path,
                tls_secret: i.tls_secret.as_ref().map(|t| t.get_ref().clone()),
                class,
                annotations: i.annotations.clone(),
            }
        })
    }

    /// Custom HPA metrics, each once.
    fn metrics(&mut self, svc: &RawService) -> Vec<Metric> {
        let r = self;
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
            r.check_metric_target(&m.target);
            metrics.push(Metric {
                name: m.name.get_ref().clone(),
                target: *m.target.get_ref(),
                kind: match m.kind.as_ref().map(|k| k.get_ref().as_str()) {
                    Some("rate") => MetricKind::Rate,
                    _ => MetricKind::Gauge,
                },
            });
        }
        metrics
    }

    /// The SLO, its window defaulting to 30 days.
    fn slo(&mut self, svc: &RawService) -> Option<Slo> {
        let r = self;
        svc.slo.as_ref().map(|s| {
            let raw_slo = s.get_ref();
            let window = match &raw_slo.window {
                Some(w) => duration(&mut r.diags, w, "SLO window"),
                None => sp(s.span(), Duration::parse("30d").unwrap_or(Duration { millis: 0 })),
            };
            if window.get_ref().millis < MIN_SLO_WINDOW.millis {
                // The 6h page condition burns 5 % of the budget: over 5 days that is exactly
                // the rate that spends the budget, below a week too close to it.
                let factor = crate::model::burn::PAGE[1].factor(*window.get_ref());
                r.invalid(
                    format!(
                        "an SLO window of {} is shorter than a week: its 6h page would fire at {factor:.2}× the burn rate that spends the budget, and could page a service within its budget",
                        window.get_ref()
                    ),
                    window.span(),
                    "shorter than 7d",
                    "SLO windows are weeks (\"28d\", \"30d\"); the multiwindow burn-rate alerts berrys writes need at least \"7d\"",
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::strip_env_prefix;

    #[test]
    fn env_prefixes_match_the_upper_case_underscore_form_only() {
        assert_eq!(strip_env_prefix("AGENT_DB_HOST", "agent-db"), Some("_HOST"));
        assert_eq!(strip_env_prefix("AGENT_DB", "agent-db"), Some(""));
        assert_eq!(strip_env_prefix("AGENT-DB_HOST", "agent-db"), None);
        assert_eq!(strip_env_prefix("agent_db_HOST", "agent-db"), None);
        assert_eq!(strip_env_prefix("AGENT", "agent-db"), None);
        assert_eq!(strip_env_prefix("ÄGENT_DB_HOST", "agent-db"), None);
    }
}
