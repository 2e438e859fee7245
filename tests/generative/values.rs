//! Leaf values inside the schema's patterns (schemas/platform.schema.json `$defs`), each
//! mixing ordinary values with the odd-but-valid ones at the edges of what the pattern
//! admits: names of 63 characters, quantities "0" and "0.5", IPv6 CIDRs the pattern lets
//! through though no parser would, paths with dots, strings that YAML 1.1 reads as numbers.
//! The edge values are listed rather than left to chance: a random string seldom lands
//! on `/..` or `1e3`.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::sample::Index;

use super::toml_text::{Kind, V};

pub type S = BoxedStrategy<V>;

/// One of the listed strings.
pub fn one_of(list: &'static [&'static str]) -> S {
    prop::sample::select(list).prop_map(V::s).boxed()
}

/// Strings matching `regex`.
pub fn matching(regex: &str) -> S {
    proptest::string::string_regex(regex)
        .expect("a valid regex")
        .prop_map(V::S)
        .boxed()
}

/// A listed value `edges` times in `edges + 3`, else one matching `regex`.
pub fn edged(list: &'static [&'static str], regex: &str, edges: u32) -> S {
    prop_oneof![edges => one_of(list), 3 => matching(regex)].boxed()
}

thread_local! {
    /// The weight of rare edges against 60 for ordinary values, for the strategies built
    /// now on this thread (the platform's strategy is built inside a `prop_flat_map`).
    static EDGE_WEIGHT: Cell<u32> = const { Cell::new(1) };
}

/// Sets the weight of rare edges for the strategies built next on this thread.
pub fn set_edge_weight(weight: u32) {
    EDGE_WEIGHT.with(|w| w.set(weight));
}

/// `ordinary` mostly, `rare` with the current edge weight (never when it is 0): berrys
/// refuses many edges, and a platform has hundreds of values, so edges that were
/// frequent everywhere would leave few platforms to render.
pub fn seldom(ordinary: S, rare: S) -> S {
    match EDGE_WEIGHT.with(Cell::get) {
        0 => ordinary,
        w => prop_oneof![60 => ordinary, w => rare].boxed(),
    }
}

/// An ordinary value (listed or matching `regex`), seldom a rare edge.
pub fn usually(common: &'static [&'static str], regex: &str, rare: &'static [&'static str]) -> S {
    seldom(
        prop_oneof![5 => one_of(common), 4 => matching(regex)].boxed(),
        one_of(rare),
    )
}

pub fn reference(kind: Kind) -> S {
    any::<Index>().prop_map(move |i| V::Ref(kind, i)).boxed()
}

pub fn int(range: std::ops::RangeInclusive<i64>) -> S {
    range.prop_map(V::I).boxed()
}

pub fn boolean() -> S {
    any::<bool>().prop_map(V::B).boxed()
}

/// `$defs/name`: a DNS-1123 label of at most 63 characters.
pub fn name() -> S {
    edged(
        &["a", "x1", "web", "api", "core", "edge", "a-b", "z9"],
        "[a-z]([a-z0-9-]{0,12}[a-z0-9])?|[a-z][a-z0-9-]{55,61}[a-z0-9]",
        2,
    )
}

/// Service names: the platform-wide objects' names and the suffixes berrys derives
/// (`-canary`, `-preview`, …) among them, so collisions get a chance.
pub fn service_name() -> S {
    seldom(
        prop_oneof![
            4 => one_of(&["web", "api", "worker", "a", "x", "db", "web-root", "web-stable"]),
            3 => matching("[a-z]([a-z0-9-]{0,14}[a-z0-9])?"),
            1 => matching("[a-z][a-z0-9-]{40,50}[a-z0-9]"),
        ]
        .boxed(),
        prop_oneof![
            one_of(&[
                "web-canary",
                "web-preview",
                "api-config",
                "platform",
                "capacity",
                "platform-overview",
                "slo-overview",
                "default-deny",
                "prometheus",
            ]),
            matching("[a-z][a-z0-9-]{55,61}[a-z0-9]"),
        ]
        .boxed(),
    )
}

/// `$defs/duration`, mostly whole units, sometimes fractions and milliseconds.
pub fn duration() -> S {
    usually(
        &[
            "1s", "15s", "30s", "500ms", "2.5s", "1m", "5m", "10m", "1h", "2h", "1d", "36h", "7d",
            "28d", "30d", "1w", "0.5h", "100ms", "1.5m",
        ],
        "[1-9][0-9]{0,2}(s|m|h)",
        &["0s", "90d", "0.001ms", "999w", "0.5ms", "1.25s", "100000d"],
    )
}

/// Durations a probe or a release step takes: whole seconds mostly.
pub fn short_duration() -> S {
    usually(
        &["1s", "2s", "5s", "10s", "30s", "1m", "90s"],
        "[1-9][0-9]?s",
        &["0s", "0.5s", "1500ms", "1h", "1.5s", "2000ms", "1d"],
    )
}

/// SLO windows and retentions.
pub fn window() -> S {
    usually(
        &["7d", "28d", "30d", "1w", "14d", "4w", "168h", "10080m"],
        "[7-9]d|[1-2][0-9]d|30d",
        &[
            "1d", "36h", "90d", "2.5d", "12h", "1h", "0.5d", "120h", "4.5d", "5d", "6d", "6.5d",
        ],
    )
}

/// `$defs/quantity` for CPU: cores and millicores, "0" and fractions included.
pub fn cpu() -> S {
    usually(
        &[
            "0.5", "1", "100m", "250m", "1.5", "2", "1000m", "4", "0.1", "10", "500m",
        ],
        "[1-9][0-9]{0,3}m|[1-8](\\.[0-9]{1,2})?",
        &[
            "0",
            "0.001",
            "1m",
            "1k",
            "0.0001",
            "999999",
            "0.0000001",
            "1.000000001",
        ],
    )
}

/// `$defs/quantity` for memory: binary and decimal suffixes, plain bytes, fractions.
pub fn memory() -> S {
    usually(
        &[
            "128Mi", "256Mi", "512Mi", "1Gi", "0.5Gi", "2Gi", "512M", "1.5Gi", "64Mi", "1G",
        ],
        "[1-9][0-9]{0,3}(Mi|M)|[1-4](\\.[0-9])?(Gi|G)",
        &[
            "0", "1000000", "1Ki", "1Ti", "100m", "1E", "1", "0.5", "1k", "8Ei",
        ],
    )
}

/// `$defs/cidr`: IPv4 and IPv6, host bits set, /0 and /32, and shapes the pattern admits
/// that are no address (`1:2:3/64`, `:::/0`).
pub fn cidr() -> S {
    seldom(
        prop_oneof![
            4 => one_of(&[
                "10.0.0.0/8", "10.0.32.0/20", "0.0.0.0/0", "203.0.113.7/32", "10.1.2.3/16",
                "192.168.0.0/16", "169.254.169.254/32", "10.0.0.0/32", "255.255.255.255/32",
                "::/0", "fd00::/8", "2001:db8::/32", "fe80::1/128", "FD00:10::/64",
                "0:0:0:0:0:0:0:0/0", "fd00:10::/64", "10.0.0.0/0", "172.16.0.0/12", "::1/128",
            ]),
            2 => (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=32)
                .prop_map(|(a, b, c, len)| V::S(format!("10.{a}.{b}.{c}/{len}"))),
        ]
        .boxed(),
        one_of(&[
            "1:2:3/64",
            ":::/0",
            "1::2::3/64",
            "1:2:3:4:5:6:7/64",
            "::ffff:0:0/96",
        ]),
    )
}

pub fn port() -> S {
    prop_oneof![
        2 => one_of_ints(&[1, 80, 443, 8080, 8443, 9090, 65535, 5432, 6379, 15090]),
        1 => int(1..=65535),
    ]
    .boxed()
}

pub fn one_of_ints(list: &'static [i64]) -> S {
    prop::sample::select(list).prop_map(V::I).boxed()
}

pub fn one_of_floats(list: &'static [f64]) -> S {
    prop::sample::select(list).prop_map(V::F).boxed()
}

/// `$defs/hostname`: wildcards, single labels, IP-shaped names, a 253-character name.
pub fn hostname() -> S {
    seldom(
        prop_oneof![
            6 => one_of(&[
                "api.example.com", "*.example.com", "a", "localhost", "x.y",
                "xn--bcher-kva.example", "a-b.c-d", "123.example.com", "*.a", "db.internal",
            ]),
            4 => matching("([a-z0-9]{1,8}\\.){0,3}[a-z]{2,6}"),
            1 => Just(V::S(format!("{}.example.com", vec!["a".repeat(63); 3].join(".")))),
        ]
        .boxed(),
        one_of(&[
            "1.2.3.4",
            "10.0.0.1",
            "0",
            "0.0.0.0",
            "1.2.3",
            "01.02.03.04",
            "1.2.3.4.5",
        ]),
    )
}

/// `$defs/httpPath`: anything from `/` without whitespace, dot segments and encoded
/// slashes included.
pub fn http_path() -> S {
    usually(
        &[
            "/",
            "/api",
            "/api/v1",
            "/a.b",
            "/.well-known/acme",
            "/~user",
            "/healthz",
            "/ready",
            "/v1.2/x",
            "/a/",
            "/a-b_c",
        ],
        "/[a-z0-9._~-]{0,8}(/[a-z0-9._-]{1,6}){0,2}",
        &[
            "/a//b", "/a/./b", "/a/../b", "/a/%2fb", "/a/%2Fb", "/..", "/.", "/a/..", "/a/.",
            "/a?b=c", "/a#frag", "/ü", "/{id}", "/$1", "/a;b", "/*", "//", "/a%20b", "/\"q",
            "/a'b", "/(.*)", "/a\\b",
        ],
    )
}

/// `$defs/image`: tags, registries with ports, digests, `latest`.
pub fn image() -> S {
    prop_oneof![
        3 => one_of(&[
            "nginx:1.27", "registry.example.com/team/app:1.2.3", "app", "app:latest",
            "localhost:5000/x:y", "a", "a/b/c:1-2.3", "ghcr.io/o/r:v1.0.0-rc.1",
        ]),
        1 => matching("[a-z][a-z0-9]{0,8}@sha256:[a-f0-9]{64}"),
        2 => matching("[a-z][a-z0-9-]{0,10}:[0-9]{1,2}\\.[0-9]{1,2}"),
    ]
    .boxed()
}

/// A label or annotation key (`labelMap` property names): prefixes, YAML-1.1 look-alikes,
/// berrys's own label keys, 63-character names.
pub fn label_key() -> S {
    usually(
        &[
            "team",
            "app.kubernetes.io/part-of",
            "example.com/x",
            "tier",
            "A.b_c-D",
        ],
        "([a-z0-9]{1,6}\\.[a-z]{2,4}/)?[a-z]([-a-z0-9_.]{0,10}[a-z])?|[a-z]{63}",
        &[
            "1e3",
            "0777",
            "on",
            "yes",
            "y",
            "n",
            "null",
            "true",
            "1_000",
            "0",
            "1.5",
            "app.kubernetes.io/name",
            "app.kubernetes.io/managed-by",
            "app",
            "service",
            "kubernetes.io/arch",
            "rollouts-pod-template-hash",
            "app.kubernetes.io/instance",
        ],
    )
}

/// A label value (`labelMap` values): empty, YAML-1.1 look-alikes, 63 characters.
pub fn label_value() -> S {
    usually(
        &["", "a.b-c_d", "prod", "v1.2.3", "x"],
        "[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?|[a-z]{63}",
        &[
            "on",
            "0777",
            "1e3",
            "True",
            "2024-01-01",
            "0",
            "no",
            "null",
            "1.0",
            "0x1F",
            "1_0",
        ],
    )
}

/// Free text (env and annotation values): YAML specials, control characters, templates.
pub fn free_text() -> S {
    let ordinary = prop_oneof![
        4 => one_of(&[
            "", "on", "1e3", "~", "0777", "2024-01-01", "12:30", "yes", "null", "'", "\"",
            "# no", ": x", "- x", "&a", "*a", "!tag", "%", "@", "`", "a\nb", "\t", "é",
            " lead", "trail ", "1_000", "0x1F", ".nan", "-.inf", "<", "==", "[", "{", "\\",
            "$(X)", "${X}",
        ]),
        4 => matching("[ -~]{0,20}"),
    ];
    // Control and line-breaking characters and template delimiters, which berrys
    // refuses in some places.
    let rare = one_of(&[
        "\u{1}",
        "\u{7f}",
        "\r",
        "\u{85}",
        "\u{1b}[31m",
        "\u{2028}",
        "\u{feff}",
        "{{ x }}",
        "{{",
        "}}",
        "{% x %}",
        "<<",
        "=",
    ]);
    seldom(ordinary.boxed(), rare)
}

pub fn label_map(max: usize) -> S {
    prop::collection::vec((label_key(), label_value()), 0..=max)
        .prop_map(|entries| V::T(dedup_keys(entries)))
        .boxed()
}

pub fn annotation_map(max: usize) -> S {
    let value = prop_oneof![
        20 => free_text(),
        // Rarely, a value that makes an object's annotations larger than 256 KiB.
        1 => seldom(free_text(), Just(V::S("a".repeat(140_000))).boxed()),
    ];
    prop::collection::vec((label_key(), value), 0..=max)
        .prop_map(|entries| V::T(dedup_keys(entries)))
        .boxed()
}

/// Table entries from (key, value) pairs, later duplicates of a key dropped.
pub fn dedup_keys(entries: Vec<(V, V)>) -> Vec<(String, V)> {
    let mut out: Vec<(String, V)> = Vec::new();
    for (k, v) in entries {
        if let V::S(k) = k
            && !out.iter().any(|(o, _)| *o == k)
        {
            out.push((k, v));
        }
    }
    out
}

/// `$defs/envVarName`, credential-looking names included (BR008).
pub fn env_name() -> S {
    edged(
        &[
            "A",
            "_",
            "a_b",
            "X1",
            "PATH",
            "MY_TOKEN",
            "DB_PASSWORD",
            "LOG_LEVEL",
            "HOME",
        ],
        "[A-Z_][A-Z0-9_]{0,12}",
        2,
    )
}

/// `$defs/secretRef`: `secret-name/key`, a DNS subdomain and a key that is not `.` or `..`
/// alone (`...` and `.x` are keys).
pub fn secret_ref() -> S {
    edged(
        &[
            "db/password",
            "s/...",
            "s/.x",
            "a.b/c_d",
            "x/..y",
            "api-keys/TOKEN",
            "tls/tls.crt",
        ],
        "[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,4})?/[-_a-zA-Z0-9][-._a-zA-Z0-9]{0,9}",
        2,
    )
}

/// `$defs/dnsSubdomain`.
pub fn dns_subdomain() -> S {
    prop_oneof![
        3 => matching("[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,5}){0,2}"),
        1 => Just(V::S(vec!["b".repeat(63); 4].join(".").chars().take(253).collect())),
        1 => one_of(&["nginx", "0", "a.b", "high-priority", "system-cluster-critical"]),
    ]
    .prop_filter("subdomains end alphanumeric", |v| match v {
        V::S(s) => s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()),
        _ => true,
    })
    .boxed()
}

/// `$defs/metricName`.
pub fn metric_name() -> S {
    edged(
        &[
            "queue_length",
            "inflight_requests",
            "jobs_total",
            "a:b",
            "_x",
            "http_requests_total",
            "requests_count",
            "latency_bucket",
            "le",
            "__name__",
        ],
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,15}",
        2,
    )
}

/// `$defs/metricLabelName`: `le`, `__name__` and the defaults among them, so labels can
/// coincide.
pub fn metric_label() -> S {
    usually(
        &["job", "status", "pool", "instance", "svc", "http_code"],
        "[a-z][a-z0-9_]{2,10}",
        &[
            "service",
            "code",
            "le",
            "__name__",
            "datastore",
            "alertname",
            "severity",
        ],
    )
}

/// A positive float: tiny, huge, and ones whose decimal form is long.
pub fn positive_float() -> S {
    seldom(
        prop_oneof![
            2 => one_of_floats(&[0.5, 100.0, 1.5, 1e3, 12345.678, 0.30000000000000004, 7.0, 0.1]),
            1 => (1u32..100_000).prop_map(|n| V::F(f64::from(n) / 100.0)),
        ]
        .boxed(),
        one_of_floats(&[1e-9, 0.001, 0.0004, 1e300, 1e21, 1e-3, 2.5e-7, 0.0015, 1e15]),
    )
}

/// An availability objective in (0, 100): nines, edges around 83.3 % and 90 %, and
/// fractions meant as percentages (BR025).
pub fn availability() -> S {
    seldom(
        prop_oneof![
            4 => one_of_floats(&[
                99.9, 99.99, 99.999, 99.5, 95.0, 90.0, 90.0001, 99.9999, 99.95, 89.99, 99.0,
                85.0, 83.4,
            ]),
            1 => (84_000u32..99_999).prop_map(|n| V::F(f64::from(n) / 1000.0)),
        ]
        .boxed(),
        one_of_floats(&[83.3, 50.0, 0.999, 1e-3, 99.99999, 80.0, 83.33, 99.999999]),
    )
}

/// A latency percentile in (0, 100).
pub fn percentile() -> S {
    one_of_floats(&[99.0, 95.0, 50.0, 99.9, 0.5, 99.99, 90.0, 75.5])
}

/// A strictly increasing list of canary weights, sometimes out of order (refused).
pub fn canary_steps() -> S {
    seldom(
        prop::collection::btree_set(1i64..=99, 1..=5)
            .prop_map(|s| V::A(s.into_iter().map(V::I).collect()))
            .boxed(),
        prop::collection::vec(1i64..=99, 1..=4)
            .prop_map(|s| V::A(s.into_iter().map(V::I).collect()))
            .boxed(),
    )
}

/// `$defs/security`.
pub fn security() -> S {
    use super::platform::{opt, table};
    let id = || {
        prop_oneof![
            one_of_ints(&[1, 10001, 65534, 2_147_483_647]),
            int(1..=70_000)
        ]
    };
    table(vec![
        opt("run_as_user", 0.5, id()),
        opt("run_as_group", 0.5, id()),
        opt("fs_group", 0.5, id()),
    ])
}
