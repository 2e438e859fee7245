//! The generator: whole platforms inside schemas/platform.schema.json, as TOML text.
//!
//! Every section is drawn independently ([`Drawn`]); cross-references are indices
//! resolved against the names that survive deduplication when the text is written
//! ([`Drawn::to_toml`]). Each table is a list of optional fields, so a platform uses a
//! different subset of the keys every time, and shrinking drops fields one by one.

use proptest::prelude::*;
use proptest::sample::Index;

use super::services::{service, service_override};
use super::toml_text::{Catalog, Kind, Section, V, write};
use super::values::*;

/// A field of a table: its key and value, or nothing.
pub type Field = BoxedStrategy<Option<(String, V)>>;

/// A field that is always present.
pub fn req(key: &'static str, s: impl Strategy<Value = V> + 'static) -> Field {
    s.prop_map(move |v| Some((key.to_string(), v))).boxed()
}

/// A field present with probability `p`.
pub fn opt(key: &'static str, p: f64, s: impl Strategy<Value = V> + 'static) -> Field {
    prop::option::weighted(p, s)
        .prop_map(move |v| v.map(|v| (key.to_string(), v)))
        .boxed()
}

pub fn table(fields: Vec<Field>) -> S {
    fields
        .prop_map(|f| V::T(f.into_iter().flatten().collect()))
        .boxed()
}

/// Named entries (`[services.<name>]`, `[pools.<name>]`, …); duplicates are dropped when
/// written.
type Named = Vec<(V, V)>;

fn named(name: S, body: S, count: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Named> {
    prop::collection::vec((name, body), count).boxed()
}

/// One generated platform, before its references are resolved.
#[derive(Debug, Clone)]
pub struct Drawn {
    platform: V,
    observability: Option<V>,
    tiers: Named,
    rate_limits: Named,
    pools: Named,
    datastores: Named,
    delivery: Named,
    services: Named,
    alerting: Option<(Named, Named, V)>,
    secrets: Option<V>,
    lint: Option<V>,
    environments: Named,
}

/// Whole platforms. Each draws first how often its values are edge cases (never, seldom,
/// often; see [`set_edge_weight`]): with edges everywhere, nearly every platform would
/// be refused for one of them and rendering would seldom be reached.
pub fn platform() -> impl Strategy<Value = Drawn> {
    prop_oneof![2 => Just(0u32), 3 => Just(1), 1 => Just(8)].prop_flat_map(|weight| {
        set_edge_weight(weight);
        platform_with_current_edges()
    })
}

fn platform_with_current_edges() -> BoxedStrategy<Drawn> {
    let catalog = (
        named(name(), tier(), 0..=3),
        named(name(), rate_limit(), 0..=2),
        named(name(), pool(), 0..=2),
        named(name(), datastore(), 0..=2),
        named(name(), delivery_profile(), 0..=2),
    );
    let rest = (
        platform_section(),
        prop::option::weighted(0.6, observability()),
        named(service_name(), service(), 1..=8),
        prop::option::weighted(0.4, alerting()),
        prop::option::weighted(0.15, secrets()),
        prop::option::weighted(0.5, lint()),
        named(
            prop_oneof![
                3 => one_of(&["staging", "production", "local", "dev"]),
                1 => name(),
            ]
            .boxed(),
            environment(),
            0..=2,
        ),
    );
    (catalog, rest)
        .prop_map(
            |(
                (tiers, rate_limits, pools, datastores, delivery),
                (platform, observability, services, alerting, secrets, lint, environments),
            )| Drawn {
                platform,
                observability,
                tiers,
                rate_limits,
                pools,
                datastores,
                delivery,
                services,
                alerting,
                secrets,
                lint,
                environments,
            },
        )
        .boxed()
}

/// Named entries with their names as strings, later duplicates dropped.
fn dedup(entries: &Named) -> Vec<(String, V)> {
    dedup_keys(entries.clone())
}

impl Drawn {
    /// The platform as TOML text.
    pub fn to_toml(&self) -> String {
        let services = dedup(&self.services);
        let (receivers, teams) = match &self.alerting {
            Some((r, t, _)) => (dedup(r), dedup(t)),
            None => (Vec::new(), Vec::new()),
        };
        let lists = [
            (Kind::Tier, dedup(&self.tiers)),
            (Kind::RateLimit, dedup(&self.rate_limits)),
            (Kind::Pool, dedup(&self.pools)),
            (Kind::Datastore, dedup(&self.datastores)),
            (Kind::Delivery, dedup(&self.delivery)),
            (Kind::Service, services.clone()),
            (Kind::Receiver, receivers.clone()),
            (Kind::Team, teams.clone()),
        ];
        let mut catalog = Catalog {
            names: lists
                .iter()
                .map(|(k, l)| (*k, l.iter().map(|(n, _)| n.clone()).collect()))
                .collect(),
            service: None,
        };
        let mut sections = Vec::new();
        let mut one = |header: &[&str], body: &V, catalog: &Catalog| {
            if let Some(V::T(entries)) = body.resolve(catalog) {
                let header = header.iter().map(|h| h.to_string()).collect();
                sections.push(Section { header, entries });
            }
        };
        one(&["platform"], &self.platform, &catalog);
        if let Some(o) = &self.observability {
            one(&["observability"], o, &catalog);
        }
        let named_sections = ["scaling", "rate_limits", "pools", "datastores", "delivery"];
        for (section, (_, list)) in named_sections.iter().zip(&lists) {
            for (n, body) in list {
                one(&[section, n], body, &catalog);
            }
        }
        for (i, (n, body)) in services.iter().enumerate() {
            catalog.service = Some(i);
            one(&["services", n], body, &catalog);
        }
        catalog.service = None;
        if let Some((_, _, rest)) = &self.alerting {
            let mut body = vec![
                ("receivers".to_string(), V::T(receivers)),
                ("teams".to_string(), V::T(teams)),
            ];
            if let V::T(entries) = rest {
                body.extend(entries.iter().cloned());
            }
            one(&["alerting"], &V::T(body), &catalog);
        }
        if let Some(s) = &self.secrets {
            one(&["secrets"], s, &catalog);
        }
        if let Some(l) = &self.lint {
            one(&["lint"], l, &catalog);
        }
        for (n, body) in dedup(&self.environments) {
            one(&["environments", &n], &body, &catalog);
        }
        write(&sections)
    }
}

fn platform_section() -> S {
    let quota_cpu = || {
        usually(
            &["100", "1k", "64", "16"],
            "[1-9][0-9]{2}",
            &["0", "0.5", "1000m", "4"],
        )
    };
    let quota_memory = || {
        usually(
            &["200Gi", "64Gi", "1Ti"],
            "[1-9][0-9]{2}Gi",
            &["0", "512Mi", "1E", "32Gi"],
        )
    };
    table(vec![
        req("name", prop_oneof![2 => Just(V::s("berrys")), 3 => name()]),
        opt("namespace", 0.4, name()),
        opt(
            "registry",
            0.1,
            one_of(&["registry.example.com/team", "localhost:5000", "r.io/a/b"]),
        ),
        opt("kubernetes", 0.2, one_of(&["1.33", "1.34", "1.35"])),
        opt("labels", 0.5, label_map(3)),
        opt("annotations", 0.3, annotation_map(2)),
        opt("autoscaling", 0.15, boolean()),
        opt(
            "quota",
            0.3,
            table(vec![
                req("cpu", quota_cpu()),
                opt("memory", 0.7, quota_memory()),
                opt("cpu_limit", 0.4, quota_cpu()),
                opt("memory_limit", 0.4, quota_memory()),
            ]),
        ),
        opt("image_pull_secrets", 0.1, pull_secrets()),
        opt("image_pull_policy", 0.1, pull_policy()),
        opt("security", 0.1, security()),
        opt("ingress_class", 0.15, dns_subdomain()),
        opt("progressive_delivery", 0.15, boolean()),
    ])
}

fn pull_secrets() -> S {
    prop::collection::btree_set(
        prop_oneof![one_of(&["regcred", "a.b", "pull"]), matching("[a-z]{1,6}")].prop_map(|v| {
            match v {
                V::S(s) => s,
                _ => unreachable!(),
            }
        }),
        1..=2,
    )
    .prop_map(|s| V::A(s.into_iter().map(V::S).collect()))
    .boxed()
}

fn pull_policy() -> S {
    one_of(&["Always", "IfNotPresent", "Never"])
}

fn observability() -> S {
    table(vec![
        opt("requests_metric", 0.2, metric_name()),
        opt("latency_metric", 0.2, metric_name()),
        opt("service_label", 0.25, metric_label()),
        opt("code_label", 0.25, metric_label()),
        opt("pool_metric", 0.15, metric_name()),
        opt("datastore_label", 0.2, metric_label()),
        opt("latency_buckets", 0.2, latency_buckets()),
        opt(
            "datasource",
            0.15,
            edged(&["prom-main", "x", "A_b-1"], "[a-zA-Z0-9_-]{1,40}", 1),
        ),
        opt(
            "retention",
            0.4,
            one_of(&["15d", "30d", "90d", "365d", "1d", "36h", "2w"]),
        ),
        opt(
            "scrape_interval",
            0.3,
            one_of(&["15s", "30s", "1m", "5s", "2m", "1s", "90s"]),
        ),
        opt("runbook_url", 0.4, runbook_url()),
        opt("prometheus_namespace", 0.2, name()),
        opt("ingress_namespace", 0.2, name()),
        opt("operator", 0.2, boolean()),
        opt(
            "prometheus_url",
            0.1,
            one_of(&[
                "http://prometheus.monitoring.svc:9090",
                "https://p.example.com/x?y=1",
            ]),
        ),
    ])
}

fn latency_buckets() -> S {
    prop::collection::btree_set(
        prop::sample::select(&["100ms", "250ms", "500ms", "1s", "2.5s", "0.05s", "10s"][..]),
        1..=4,
    )
    .prop_map(|s| V::A(s.into_iter().map(V::s).collect()))
    .boxed()
}

fn runbook_url() -> S {
    one_of(&[
        "https://runbooks.example.com/{service}/{alert}",
        "https://x/{{service}}",
        "http://a/%7B",
        "https://w.example.com/r?s={service}&a={alert}",
        "https://x/$1",
        "http://h/{alert}#{service}",
        "https://r.example.com/{unknown}",
        "http://[::1]/x",
        "https://x/a|b",
        "https://x/`cmd`",
        "https://x/{service}}",
    ])
}

fn scaling_policy() -> S {
    table(vec![
        opt(
            "stabilization",
            0.6,
            usually(
                &["0s", "10m", "1h", "30s", "5m", "59s"],
                "[1-5][0-9]s",
                &["2h", "61m"],
            ),
        ),
        opt("max_pods", 0.4, int(1..=10)),
        opt(
            "max_percent",
            0.4,
            prop_oneof![int(1..=200), one_of_ints(&[1000])],
        ),
        opt(
            "period",
            0.4,
            usually(&["15s", "1m", "30m", "1s"], "[1-9]s", &["31m", "1h", "0s"]),
        ),
    ])
}

/// The keys a tier and a per-service tier override share.
fn tier_keys() -> Vec<Field> {
    vec![
        opt(
            "cpu_target",
            0.7,
            prop_oneof![one_of_ints(&[1, 40, 70, 90, 100]), int(1..=100)],
        ),
        opt("memory_target", 0.3, int(1..=100)),
        opt("scale_up", 0.25, scaling_policy()),
        opt("scale_down", 0.3, scaling_policy()),
    ]
}

fn tier() -> S {
    let mut fields = vec![
        req(
            "min_replicas",
            prop_oneof![12 => int(1..=3), 1 => int(1..=30)],
        ),
        req(
            "max_replicas",
            prop_oneof![12 => int(3..=20), 1 => one_of_ints(&[1, 1_000_000, 100])],
        ),
    ];
    fields.extend(tier_keys());
    table(fields)
}

fn rate_limit() -> S {
    table(vec![
        req(
            "requests",
            prop_oneof![int(1..=1000), one_of_ints(&[1_000_000])],
        ),
        req("window", duration()),
        opt("burst", 0.4, int(1..=5000)),
    ])
}

fn pool() -> S {
    table(vec![
        opt("min", 0.4, seldom(int(0..=1), int(0..=10))),
        req("max", prop_oneof![4 => int(1..=20), 1 => int(1..=1000)]),
        opt("timeout", 0.3, duration()),
        opt("recycle", 0.3, duration()),
        opt("pre_ping", 0.3, boolean()),
    ])
}

fn datastore() -> S {
    table(vec![
        req(
            "engine",
            one_of(&["postgresql", "mysql", "redis", "mongodb", "other"]),
        ),
        req(
            "max_connections",
            prop_oneof![one_of_ints(&[1, 10, 100, 1000, 1_000_000]), int(1..=5000)],
        ),
        opt("reserved_connections", 0.3, seldom(int(0..=1), int(0..=20))),
        req("port", port()),
        req("cidr", cidr()),
        opt("host", 0.4, hostname()),
    ])
}

/// The keys a delivery profile and a per-service override share (all but `strategy`).
fn delivery_keys() -> Vec<Field> {
    let mut keys = canary_keys();
    keys.extend(blue_green_keys().into_iter().skip(3));
    keys
}

/// The keys of a canary profile; `pause`, `analysis`, `max_burn_rate` and
/// `min_requests` apply to both strategies.
fn canary_keys() -> Vec<Field> {
    vec![
        opt("steps", 0.4, canary_steps()),
        opt("pause", 0.4, short_duration()),
        opt("analysis", 0.3, boolean()),
        opt(
            "max_burn_rate",
            0.2,
            one_of_floats(&[1.0001, 2.0, 14.4, 1000.0, 6.0, 1.5]),
        ),
        opt(
            "min_requests",
            0.2,
            prop_oneof![int(1..=500), one_of_ints(&[1_000_000_000])],
        ),
        opt("traffic", 0.3, one_of(&["replicas", "nginx"])),
    ]
}

fn blue_green_keys() -> Vec<Field> {
    vec![
        opt("pause", 0.4, short_duration()),
        opt("analysis", 0.3, boolean()),
        opt(
            "max_burn_rate",
            0.2,
            one_of_floats(&[1.0001, 2.0, 14.4, 1000.0]),
        ),
        opt("auto_promote", 0.3, boolean()),
        opt("scale_down_delay", 0.3, short_duration()),
        opt("preview_replicas", 0.3, int(1..=5)),
    ]
}

/// A profile with the keys of its strategy; rarely one with every key, which berrys
/// refuses for the keys of the other strategy.
fn delivery_profile() -> S {
    let with = |strategy: &'static str, keys: Vec<Field>| {
        let mut fields = vec![req("strategy", Just(V::s(strategy)))];
        fields.extend(keys);
        table(fields)
    };
    let mut mixed = vec![opt(
        "strategy",
        0.9,
        one_of(&["canary", "blue-green", "rolling"]),
    )];
    mixed.extend(delivery_keys());
    prop_oneof![
        6 => with("canary", canary_keys()),
        4 => with("blue-green", blue_green_keys()),
        1 => with("rolling", Vec::new()),
        1 => table(mixed),
    ]
    .boxed()
}

fn alerting() -> BoxedStrategy<(Named, Named, V)> {
    let receiver = prop_oneof![
        table(vec![req("webhook", table(vec![req("url", webhook_url())]))]),
        table(vec![req(
            "pagerduty",
            table(vec![req("routing_key_secret", secret_ref())])
        )]),
        table(vec![req("slack", slack())]),
        table(vec![
            opt("webhook", 0.7, table(vec![req("url", webhook_url())])),
            req("slack", slack()),
        ]),
    ];
    let rest = table(vec![
        opt(
            "group_by",
            0.3,
            prop::collection::vec(metric_label(), 1..=3).prop_map(|l| {
                let keys = dedup_keys(l.into_iter().map(|v| (v, V::B(true))).collect());
                V::A(keys.into_iter().map(|(k, _)| V::S(k)).collect())
            }),
        ),
        opt(
            "repeat_interval",
            0.3,
            one_of(&["4h", "1m", "10000w", "0s", "30s", "1000d", "12h", "0.5h"]),
        ),
        opt("inhibit_dependents", 0.3, boolean()),
        opt("routes", 0.9, routes()),
    ]);
    (
        named(name(), receiver.boxed(), 0..=3),
        named(name(), routes(), 0..=2),
        rest,
    )
        .boxed()
}

fn webhook_url() -> S {
    one_of(&[
        "https://hooks.example.com/alert",
        "http://a",
        "http://[::1]:9093/x",
        "https://example.com/hook?x=1&y=2",
        "http://example.com:99999/",
        "https://hooks.example.com/{{x}}",
        "http://user:pass@x.example.com",
        "http://%zz",
        "https://x.example.com/a#b",
        "http://exa_mple.com/",
        "http://:80",
        "https://x/\"q",
        "http://0.0.0.0:1/",
    ])
}

fn slack() -> S {
    table(vec![
        req(
            "channel",
            edged(
                &["#ops", "@me", "#a\"b", "#{{x}}", "#ünï", "#a'b\\c"],
                "#[a-z0-9_-]{1,80}",
                2,
            ),
        ),
        req("api_url_secret", secret_ref()),
    ])
}

fn routes() -> S {
    let to = || prop_oneof![3 => reference(Kind::Receiver), 1 => Just(V::s("none"))];
    table(vec![
        opt("page", 0.7, to()),
        opt("ticket", 0.6, to()),
        opt("info", 0.3, to()),
    ])
}

fn secrets() -> S {
    table(vec![
        req(
            "store",
            table(vec![
                opt("kind", 0.5, one_of(&["ClusterSecretStore", "SecretStore"])),
                req("name", dns_subdomain()),
            ]),
        ),
        opt("refresh_interval", 0.3, duration()),
        opt(
            "key_prefix",
            0.4,
            one_of(&["", "prod/", "a.b-c_d/", "/", "x"]),
        ),
    ])
}

/// `[lint] rules` lowering every rule that can be lowered, so rendering is reached even
/// by platforms that break a policy: users can do the same, and render must still write
/// valid output.
fn lint() -> S {
    prop::collection::vec(prop_oneof![Just("allow"), Just("warning")], 26)
        .prop_map(|levels| {
            let rules = levels
                .into_iter()
                .enumerate()
                .map(|(i, l)| (format!("BR{:03}", i + 3), V::s(l)))
                .collect();
            V::T(vec![("rules".to_string(), V::T(rules))])
        })
        .boxed()
}

fn environment() -> S {
    let overrides = prop::collection::vec((any::<Index>(), service_override()), 1..=3)
        .prop_map(|o| V::Keyed(Kind::Service, o));
    table(vec![
        opt("namespace", 0.5, name()),
        opt(
            "replicas",
            0.3,
            prop_oneof![int(1..=3), one_of_ints(&[1_000_000])],
        ),
        opt("autoscaling", 0.4, boolean()),
        opt("labels", 0.3, label_map(2)),
        opt("image_pull_policy", 0.1, pull_policy()),
        opt("ingress_class", 0.1, dns_subdomain()),
        opt("progressive_delivery", 0.3, boolean()),
        opt("operator", 0.3, boolean()),
        opt("alerting", 0.15, table(vec![req("routes", routes())])),
        opt("services", 0.5, overrides),
    ])
}
