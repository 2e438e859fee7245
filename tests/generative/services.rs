//! `[services.<name>]` and the partial service tables of `[environments.<env>.services]`:
//! the section with the most keys, and the one most of the rendered objects come from.

use proptest::prelude::*;
use proptest::sample::Index;

use super::platform::{Field, opt, req, table};
use super::toml_text::{Kind, V};
use super::values::*;

/// A whole service table.
pub fn service() -> S {
    table(vec![
        req("image", image()),
        req("port", port()),
        opt("layer", 0.5, one_of(&["edge", "api", "core", "data", "x"])),
        opt("critical", 0.5, boolean()),
        opt("team", 0.25, reference(Kind::Team)),
        scaling_or_replicas(0.9),
        opt("delivery", 0.3, delivery()),
        opt("rate_limit", 0.3, reference(Kind::RateLimit)),
        opt("resources", 0.92, resources()),
        opt(
            "depends_on",
            0.5,
            prop::collection::vec(any::<Index>(), 1..=3).prop_map(V::Earlier),
        ),
        opt(
            "soft_depends_on",
            0.06,
            seldom(
                prop::collection::vec(any::<Index>(), 1..=2)
                    .prop_map(V::Earlier)
                    .boxed(),
                prop::collection::vec(any::<Index>(), 1..=2)
                    .prop_map(V::Others)
                    .boxed(),
            ),
        ),
        opt(
            "datastores",
            0.4,
            prop::collection::vec((any::<Index>(), reference(Kind::Pool)), 1..=2)
                .prop_map(|d| V::Keyed(Kind::Datastore, d)),
        ),
        opt(
            "egress",
            0.3,
            prop::collection::vec(egress(), 1..=2).prop_map(V::A),
        ),
        opt("ingress", 0.35, ingress()),
        opt(
            "metrics",
            0.25,
            prop::collection::vec(metric(), 1..=2).prop_map(V::A),
        ),
        opt("env", 0.4, env_map()),
        opt("secrets", 0.3, secret_map()),
        opt("probes", 0.4, probes()),
        opt("pdb", 0.2, pdb()),
        opt("slo", 0.65, slo()),
        opt(
            "image_pull_policy",
            0.1,
            one_of(&["Always", "IfNotPresent", "Never"]),
        ),
        opt("security", 0.1, security()),
        opt("pod_annotations", 0.2, annotation_map(2)),
        opt("node_selector", 0.2, label_map(2)),
        opt(
            "tolerations",
            0.2,
            prop::collection::vec(toleration(), 1..=2).prop_map(V::A),
        ),
        opt("priority_class", 0.1, dns_subdomain()),
    ])
}

/// A partial service table merged over a service in one environment.
pub fn service_override() -> S {
    table(vec![
        scaling_or_replicas(0.4),
        opt("image", 0.2, image()),
        opt("critical", 0.15, boolean()),
        opt("resources", 0.3, resources()),
        opt("env", 0.2, env_map()),
        opt("slo", 0.2, slo()),
        opt("ingress", 0.15, ingress()),
        opt("pdb", 0.1, pdb()),
        opt(
            "metrics",
            0.1,
            prop::collection::vec(metric(), 1..=2).prop_map(V::A),
        ),
        opt("delivery", 0.1, delivery()),
        opt("probes", 0.1, probes()),
    ])
}

/// `scaling` (a tier, or a tier with overrides) or `replicas`, which exclude each other.
fn scaling_or_replicas(p: f64) -> Field {
    let overrides = (
        reference(Kind::Tier),
        prop::option::of(prop_oneof![12 => int(1..=3), 1 => one_of_ints(&[1_000_000])]),
        prop::option::of(seldom(int(3..=30), int(1..=3))),
        prop::option::of(prop_oneof![int(1..=100), one_of_ints(&[1, 100])]),
    )
        .prop_map(|(tier, min, max, cpu)| {
            let mut t = vec![("tier".to_string(), V::Needed(Box::new(tier)))];
            t.extend(min.map(|v| ("min_replicas".to_string(), v)));
            t.extend(max.map(|v| ("max_replicas".to_string(), v)));
            t.extend(cpu.map(|v| ("cpu_target".to_string(), v)));
            V::T(t)
        });
    let choice = prop_oneof![
        3 => reference(Kind::Tier).prop_map(|t| ("scaling".to_string(), t)),
        2 => overrides.prop_map(|t| ("scaling".to_string(), t)),
        2 => prop_oneof![4 => int(1..=4), 1 => int(1..=1000)]
            .prop_map(|r| ("replicas".to_string(), r)),
    ];
    prop::option::weighted(p, choice).boxed()
}

fn delivery() -> S {
    let overrides = (
        reference(Kind::Delivery),
        prop::option::of(canary_steps()),
        prop::option::of(short_duration()),
        prop::option::of(one_of_floats(&[1.0001, 2.0, 10.0, 1000.0])),
        prop::option::of(int(1..=5)),
    )
        .prop_map(|(profile, steps, pause, burn, preview)| {
            let mut t = vec![("profile".to_string(), V::Needed(Box::new(profile)))];
            t.extend(steps.map(|v| ("steps".to_string(), v)));
            t.extend(pause.map(|v| ("pause".to_string(), v)));
            t.extend(burn.map(|v| ("max_burn_rate".to_string(), v)));
            t.extend(preview.map(|v| ("preview_replicas".to_string(), v)));
            V::T(t)
        });
    prop_oneof![3 => reference(Kind::Delivery), 1 => overrides].boxed()
}

/// Requests at most their limits, seldom drawn independently: a request above its
/// limit, a limit of 0 and a missing half then occur.
fn resources() -> S {
    let consistent = prop_oneof![
        (
            prop::sample::select(&CPU_PAIRS[..]),
            prop::sample::select(&MEMORY_PAIRS[..]),
        )
            .prop_map(|((cpu, cpu_limit), (memory, memory_limit))| {
                V::T(vec![
                    ("cpu".to_string(), V::s(cpu)),
                    ("memory".to_string(), V::s(memory)),
                    ("cpu_limit".to_string(), V::s(cpu_limit)),
                    ("memory_limit".to_string(), V::s(memory_limit)),
                ])
            }),
    ];
    let independent = table(vec![
        opt("cpu", 0.9, cpu()),
        opt("memory", 0.9, memory()),
        opt("cpu_limit", 0.8, cpu()),
        opt("memory_limit", 0.8, memory()),
    ]);
    seldom(consistent.boxed(), independent)
}

/// CPU requests with a limit at least as large, in the forms quantities take.
const CPU_PAIRS: [(&str, &str); 9] = [
    ("100m", "500m"),
    ("250m", "1"),
    ("0.5", "0.5"),
    ("1", "2"),
    ("500m", "1.5"),
    ("1m", "1k"),
    ("0.1", "100m"),
    ("2", "4000m"),
    ("10m", "0.01"),
];

const MEMORY_PAIRS: [(&str, &str); 8] = [
    ("128Mi", "256Mi"),
    ("256Mi", "512Mi"),
    ("0.5Gi", "512Mi"),
    ("512M", "1G"),
    ("1Gi", "1Gi"),
    ("1000000", "1Mi"),
    ("64Mi", "0.25Gi"),
    ("1.5Gi", "2Gi"),
];

fn egress() -> S {
    let except = |c: S| {
        prop::collection::vec(c, 1..=2).prop_map(|c| {
            let keys = dedup_keys(c.into_iter().map(|v| (v, V::B(true))).collect());
            V::A(keys.into_iter().map(|(k, _)| V::S(k)).collect())
        })
    };
    let ordinary = prop_oneof![
        table(vec![
            req("name", name()),
            req("cidr", cidr()),
            req("port", port())
        ]),
        table(vec![
            req("name", name()),
            req("cidr", Just(V::s("0.0.0.0/0"))),
            req("port", port()),
            req(
                "except",
                except(one_of(&["169.254.169.254/32", "10.0.0.0/8", "10.1.0.0/16"]))
            ),
        ]),
    ];
    let any = table(vec![
        req("name", name()),
        req("cidr", cidr()),
        req("port", port()),
        opt("except", 0.8, except(cidr())),
    ]);
    seldom(ordinary.boxed(), any)
}

fn ingress() -> S {
    table(vec![
        req("host", hostname()),
        opt("path", 0.6, http_path()),
        opt("tls_secret", 0.7, name()),
        opt("class", 0.15, dns_subdomain()),
        opt("annotations", 0.15, annotation_map(2)),
    ])
}

fn metric() -> S {
    table(vec![
        req("name", metric_name()),
        req("target", positive_float()),
        opt("kind", 0.4, one_of(&["gauge", "rate"])),
    ])
}

fn env_map() -> S {
    prop::collection::vec((env_name(), free_text()), 1..=4)
        .prop_map(|e| V::T(dedup_keys(e)))
        .boxed()
}

fn secret_map() -> S {
    prop::collection::vec((env_name(), secret_ref()), 1..=3)
        .prop_map(|e| V::T(dedup_keys(e)))
        .boxed()
}

fn probes() -> S {
    table(vec![
        opt("liveness", 0.5, http_path()),
        opt("readiness", 0.5, http_path()),
        opt("startup", 0.3, http_path()),
        opt("period", 0.3, short_duration()),
        opt("timeout", 0.3, short_duration()),
        opt(
            "failure_threshold",
            0.3,
            prop_oneof![int(1..=10), one_of_ints(&[1000])],
        ),
        opt("initial_delay", 0.3, short_duration()),
    ])
}

fn pdb() -> S {
    prop_oneof![
        int(0..=4).prop_map(|n| V::T(vec![("min_available".to_string(), n)])),
        int(0..=4).prop_map(|n| V::T(vec![("max_unavailable".to_string(), n)])),
    ]
    .boxed()
}

/// An SLO with at least one objective (the schema's `minProperties`).
fn slo() -> S {
    let latency = table(vec![
        req("threshold", duration()),
        req("percentile", percentile()),
    ]);
    prop_oneof![
        3 => table(vec![
            req("availability", availability()),
            opt("latency", 0.4, latency.clone()),
            opt("window", 0.5, window()),
        ]),
        1 => table(vec![req("latency", latency), opt("window", 0.5, window())]),
    ]
    .boxed()
}

fn toleration() -> S {
    let key = edged(
        &[
            "dedicated",
            "node.kubernetes.io/unreachable",
            "example.com/gpu",
            "0",
        ],
        "[a-z][a-z0-9]{0,8}",
        2,
    );
    let ordinary = prop_oneof![
        table(vec![
            req("key", key.clone()),
            req("operator", Just(V::s("Equal"))),
            req("value", label_value()),
            opt("effect", 0.6, one_of(&["NoSchedule", "PreferNoSchedule"])),
        ]),
        table(vec![
            req("key", key.clone()),
            req("operator", Just(V::s("Exists"))),
            req("effect", Just(V::s("NoExecute"))),
            opt(
                "seconds",
                0.6,
                prop_oneof![int(0..=3600), one_of_ints(&[2_147_483_647])]
            ),
        ]),
        table(vec![req("operator", Just(V::s("Exists")))]),
    ];
    let any = table(vec![
        opt("key", 0.8, key),
        opt("operator", 0.5, one_of(&["Equal", "Exists"])),
        opt("value", 0.5, label_value()),
        opt(
            "effect",
            0.6,
            one_of(&["NoSchedule", "PreferNoSchedule", "NoExecute"]),
        ),
        opt(
            "seconds",
            0.3,
            prop_oneof![int(0..=3600), one_of_ints(&[2_147_483_647])],
        ),
    ]);
    seldom(ordinary.boxed(), any)
}
