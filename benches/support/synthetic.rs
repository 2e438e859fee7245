//! Synthetic platforms for the benchmarks and the growth tests: `n` services in five
//! layers, hard dependencies only on the layer below (0–4 of them), soft dependencies on
//! earlier services, tiers, rate limits, pools and datastores sized so the platform lints
//! clean, SLOs on about half the services (every critical one), custom HPA metrics on some.
//! The same `n` and `seed` always give the same text.

use std::fmt::Write;

/// A small deterministic generator (SplitMix64): no dependency, same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const LAYERS: [&str; 5] = ["data", "core", "domain", "api", "edge"];
/// (name, min, max) of the scaling tiers.
const TIERS: [(&str, u32, u32); 3] = [("small", 2, 4), ("medium", 2, 8), ("large", 3, 12)];
/// (name, max) of the pool profiles.
const POOLS: [(&str, u32); 2] = [("small", 4), ("default", 10)];
const LIMITS: [&str; 3] = ["low", "default", "high"];
const METRICS: [&str; 3] = ["queue_length", "inflight_requests", "jobs_pending"];

struct Service {
    layer: usize,
    tier: usize,
    limit: usize,
    critical: bool,
    hard: Vec<usize>,
    soft: Vec<usize>,
    /// (datastore, pool)
    stores: Vec<(usize, usize)>,
    metric: Option<usize>,
    /// Availability objective in hundredths of a percent (9995 = 99.95 %).
    availability: Option<u32>,
    latency: bool,
}

/// The text of a platform with `n` services (at least 1).
pub fn platform(n: usize, seed: u64) -> String {
    let n = n.max(1);
    let mut rng = Rng(seed);
    let datastores = (n / 50).max(2);
    let per_layer = n.div_ceil(LAYERS.len());
    let layer_of = |i: usize| (i / per_layer).min(LAYERS.len() - 1);
    let mut services: Vec<Service> = Vec::with_capacity(n);
    for i in 0..n {
        let layer = layer_of(i);
        let below: Vec<usize> = if layer == 0 {
            Vec::new()
        } else {
            let start = (layer - 1) * per_layer;
            (start..(layer * per_layer).min(i)).collect()
        };
        let mut hard = Vec::new();
        if !below.is_empty() {
            for _ in 0..rng.below(5) {
                let d = below[rng.below(below.len())];
                if !hard.contains(&d) {
                    hard.push(d);
                }
            }
        }
        hard.sort_unstable();
        let mut soft = Vec::new();
        if i > 0 && rng.chance(30) {
            let d = rng.below(i);
            if !hard.contains(&d) {
                soft.push(d);
            }
        }
        // Critical only when everything it hard-depends on is critical (BR012).
        let critical = rng.chance(30) && hard.iter().all(|&d| services[d].critical);
        let stores = if rng.chance(60) {
            let ds = rng.below(datastores);
            let mut s = vec![(ds, rng.below(POOLS.len()))];
            if rng.chance(30) {
                let other = (ds + 1) % datastores;
                s.push((other, 0));
            }
            s
        } else {
            Vec::new()
        };
        let has_slo = critical || rng.chance(40);
        services.push(Service {
            layer,
            tier: rng.below(TIERS.len()),
            limit: rng.below(LIMITS.len()),
            critical,
            hard,
            soft,
            stores,
            metric: rng.chance(20).then(|| rng.below(METRICS.len())),
            availability: has_slo.then_some(0),
            latency: has_slo && rng.chance(50),
        });
    }

    // Availability objectives no higher than what the hard dependencies allow (BR004):
    // each service's ceiling is the product of its transitive dependencies' objectives,
    // walked once per service over the layers below.
    let mut objective = vec![None::<f64>; n];
    for i in 0..n {
        if services[i].availability.is_none() {
            continue;
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = services[i].hard.clone();
        let mut product = 1.0f64;
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            if let Some(a) = objective[d] {
                product *= a;
            }
            stack.extend(services[d].hard.iter().copied());
        }
        // Below 93.06 % over 30 days the fast page condition needs more than every request
        // to fail (BR027): a service that deep degrades gracefully instead, its hard
        // dependencies made soft.
        if product < 0.9310 {
            for d in std::mem::take(&mut services[i].hard) {
                if !services[i].soft.contains(&d) {
                    services[i].soft.push(d);
                }
            }
            product = 1.0;
        }
        let wanted: f64 = [0.9999, 0.9995, 0.999][rng.below(3)];
        // Hundredths of a percent, rounded down so the objective stays below the ceiling.
        let hundredths = ((wanted.min(product) * 10_000.0).floor() as u32).clamp(9_310, 9_999);
        objective[i] = Some(f64::from(hundredths) / 10_000.0);
        services[i].availability = Some(hundredths);
    }

    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Synthetic platform: {n} services, seed {seed}.");
    let _ = writeln!(
        w,
        "[platform]\nname = \"synthetic\"\nnamespace = \"synthetic\""
    );
    let _ = writeln!(w, "registry = \"registry.example.com/synthetic\"\n");
    let _ = writeln!(w, "[observability]\nretention = \"30d\"");
    let _ = writeln!(
        w,
        "latency_buckets = [\"100ms\", \"250ms\", \"500ms\", \"1s\"]"
    );
    let _ = writeln!(
        w,
        "runbook_url = \"https://runbooks.example.com/{{service}}/{{alert}}\"\n"
    );
    let _ = writeln!(
        w,
        "[environments.staging]\nautoscaling = false\nreplicas = 2\n"
    );
    let _ = writeln!(w, "[environments.production]\nautoscaling = true\n");
    for (name, min, max) in TIERS {
        let _ = writeln!(
            w,
            "[scaling.{name}]\nmin_replicas = {min}\nmax_replicas = {max}\ncpu_target = 70\nmemory_target = 75"
        );
        let _ = writeln!(
            w,
            "scale_up = {{ stabilization = \"30s\", max_pods = 2, period = \"60s\" }}"
        );
        let _ = writeln!(
            w,
            "scale_down = {{ stabilization = \"300s\", max_percent = 50, period = \"60s\" }}\n"
        );
    }
    for (i, name) in LIMITS.iter().enumerate() {
        let _ = writeln!(
            w,
            "[rate_limits.{name}]\nrequests = {}\nwindow = \"1s\"\n",
            100 * (i + 1)
        );
    }
    for (name, max) in POOLS {
        let _ = writeln!(
            w,
            "[pools.{name}]\nmin = 1\nmax = {max}\ntimeout = \"30s\"\nrecycle = \"1h\"\n"
        );
    }
    // Each datastore accepts its peak demand with 30 % headroom (BR003 warns above 80 %).
    let mut demand = vec![0u64; datastores];
    for s in &services {
        let max = u64::from(TIERS[s.tier].2);
        for &(ds, pool) in &s.stores {
            demand[ds] += u64::from(POOLS[pool].1) * (max + max.div_ceil(4));
        }
    }
    for (ds, d) in demand.iter().enumerate() {
        let _ = writeln!(
            w,
            "[datastores.db-{ds}]\nengine = \"postgresql\"\nmax_connections = {}\nreserved_connections = 10\nport = 5432\ncidr = \"10.{}.{}.0/24\"\n",
            (d * 10 / 7).max(100) + 10,
            (ds / 256) % 256,
            ds % 256
        );
    }
    for (i, s) in services.iter().enumerate() {
        let _ = writeln!(w, "[services.svc-{i}]");
        let _ = writeln!(w, "image = \"svc-{i}:1.{}.0\"\nport = 8080", i % 10);
        let _ = writeln!(w, "layer = \"{}\"", LAYERS[s.layer]);
        if s.critical {
            let _ = writeln!(w, "critical = true");
        }
        let _ = writeln!(w, "scaling = \"{}\"", TIERS[s.tier].0);
        let _ = writeln!(w, "rate_limit = \"{}\"", LIMITS[s.limit]);
        let _ = writeln!(
            w,
            "resources = {{ cpu = \"100m\", memory = \"128Mi\", cpu_limit = \"500m\", memory_limit = \"256Mi\" }}"
        );
        let list = |deps: &[usize]| {
            deps.iter()
                .map(|d| format!("\"svc-{d}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !s.hard.is_empty() {
            let _ = writeln!(w, "depends_on = [{}]", list(&s.hard));
        }
        if !s.soft.is_empty() {
            let _ = writeln!(w, "soft_depends_on = [{}]", list(&s.soft));
        }
        if !s.stores.is_empty() {
            let stores: Vec<String> = s
                .stores
                .iter()
                .map(|(ds, pool)| format!("db-{ds} = \"{}\"", POOLS[*pool].0))
                .collect();
            let _ = writeln!(w, "datastores = {{ {} }}", stores.join(", "));
        }
        if let Some(m) = s.metric {
            let _ = writeln!(
                w,
                "metrics = [{{ name = \"{}\", target = 20 }}]",
                METRICS[m]
            );
        }
        if s.layer == LAYERS.len() - 1 && i % 3 == 0 {
            let _ = writeln!(
                w,
                "ingress = {{ host = \"svc-{i}.example.com\", path = \"/\", tls_secret = \"svc-{i}-tls\" }}"
            );
        }
        let _ = writeln!(
            w,
            "env = {{ LOG_LEVEL = \"info\", REGION = \"eu-west-1\" }}"
        );
        if let Some(a) = s.availability {
            let latency = if s.latency {
                ", latency = { threshold = \"500ms\", percentile = 95 }"
            } else {
                ""
            };
            let _ = writeln!(
                w,
                "slo = {{ availability = {}.{:02}{latency} }}",
                a / 100,
                a % 100
            );
        }
        let _ = writeln!(w);
    }
    out
}
