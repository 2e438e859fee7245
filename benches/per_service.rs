//! The per-service rendering work, part by part, on one core: what each of a platform's
//! services costs in its manifests, rule groups (as YAML) and dashboard, without
//! the writing. Wall time on a shared VM moves from one run to the next; run it under
//! callgrind for counts that do not (docs/performance.md):
//!
//!   cargo build --release --example generate-platform --example per-service
//!   target/release/examples/generate-platform 1000 1 > /tmp/p1000.toml
//!   ROUNDS=1 valgrind --tool=callgrind target/release/examples/per-service /tmp/p1000.toml
//!
//! The first round pays for every shape's first document and every name's first use, as a
//! render does; later rounds show the steady cost.

use std::time::Instant;

use berrys::render::{grafana, kubernetes, prometheus};

// The allocator of the berrys binary, so that counts and times are the ones it has.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: per-service PLATFORM.toml   (ROUNDS=n, default 3)");
        std::process::exit(2);
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let text = std::fs::read_to_string(&path).expect("readable platform file");
    let source = berrys::source::SourceFile::new(path, text);
    let linted =
        berrys::check(&source, berrys::Envs::One(None), "2026-01-01").expect("a valid platform");
    let compiled = &linted.compiled[0];
    let services: Vec<_> = compiled.platform.services.values().collect();
    let rules = prometheus::RuleRenderer::new(compiled).expect("alert templates");
    let dashboards = grafana::Renderer::new(compiled).expect("dashboard templates");
    let per_service = |secs: f64| secs / services.len() as f64 * 1e6;
    for round in 0..rounds {
        let mut spent = [0.0f64; 3];
        let mut bytes = 0;
        for service in &services {
            let t0 = Instant::now();
            let manifests = kubernetes::service_file(compiled, service).expect("manifests");
            let t1 = Instant::now();
            let service_rules = rules.service_rules(service).expect("rules");
            let t2 = Instant::now();
            let dashboard = dashboards.service_file(service).expect("dashboard");
            let t3 = Instant::now();
            bytes += manifests.len() + service_rules.fragment.len() + dashboard.contents.len();
            for (s, (a, b)) in spent.iter_mut().zip([(t0, t1), (t1, t2), (t2, t3)]) {
                *s += (b - a).as_secs_f64();
            }
        }
        let [manifests, rule_groups, dashboard] = spent.map(per_service);
        println!(
            "round {round}: µs per service: manifests {manifests:.1}, rule groups (YAML) \
             {rule_groups:.1}, dashboard {dashboard:.1}, total {:.1}; {} bytes per service",
            manifests + rule_groups + dashboard,
            bytes / services.len()
        );
    }
    println!(
        "dashboard template runs (one per new shape): {}",
        dashboards.template_runs()
    );
}
