//! In-process benchmark of each phase on synthetic platforms of 100, 1,000 and 10,000
//! services: parse + validate, model + graph (compile), lint (every environment), render
//! (into memory) and emit (render written to a directory on tmpfs when there is one).
//!
//!   cargo bench --bench phases                 # all sizes
//!   cargo bench --bench phases -- 1000/        # one size

use std::hint::black_box;

use berrys::source::SourceFile;
use berrys::{Envs, compile};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/synthetic.rs"]
mod synthetic;

const TODAY: &str = "2026-01-01";

fn phases(c: &mut Criterion) {
    let out_root = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    for n in [100usize, 1_000, 10_000] {
        let source = SourceFile::new("platform.toml", synthetic::platform(n, 1));
        let mut g = c.benchmark_group(format!("{n}"));
        g.sample_size(10);
        g.bench_function("parse+validate", |b| {
            b.iter(|| {
                let mut scratch = String::new();
                let doc = berrys::parse::parse(black_box(&source), &mut scratch).expect("parses");
                black_box(berrys::validate::check(&doc, &source.text));
            })
        });
        g.bench_function("compile (model + graph, all environments)", |b| {
            b.iter(|| black_box(compile(&source, Envs::All).expect("compiles")))
        });
        let compiled = compile(&source, Envs::All).expect("compiles");
        g.bench_function("graph (base)", |b| {
            b.iter(|| black_box(berrys::graph::build(&compiled[0].platform).expect("acyclic")))
        });
        let config = berrys::lint::config(&compiled[0].platform.raw).expect("config");
        g.bench_function("lint (all environments)", |b| {
            b.iter(|| {
                let findings = berrys::lint::lint(&compiled, &config, TODAY);
                assert!(findings.is_empty());
                black_box(findings)
            })
        });
        g.bench_function("render (base, in memory)", |b| {
            b.iter(|| black_box(berrys::render::render(&compiled[0]).expect("renders")))
        });
        let dir = tempfile::tempdir_in(&out_root).expect("a scratch directory");
        let out = dir.path().join("out");
        g.bench_function("render + emit (base, to disk)", |b| {
            b.iter(|| {
                berrys::emit::write_with(&out, |sink| berrys::render::render_to(&compiled[0], sink))
                    .expect("writes")
            })
        });
        g.finish();
    }
}

criterion_group!(benches, phases);
criterion_main!(benches);
