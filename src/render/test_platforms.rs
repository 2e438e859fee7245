//! Compiled platforms for the renderers' own tests: the reference, the valid fixtures and
//! generated ones (the benchmarks' generator), so that a fast path can be held to its direct
//! one on every platform without a test-only door in the library.

#[allow(dead_code)]
#[path = "../../benches/support/synthetic.rs"]
mod synthetic;

use crate::Envs;
use crate::graph::Compiled;
use crate::source::SourceFile;

fn compiled(name: &str, text: String) -> Compiled {
    let source = SourceFile::new(name.to_string(), text);
    match crate::compile(&source, Envs::One(None)) {
        Ok(mut compiled) => compiled.remove(0),
        Err(e) => panic!("{name} does not compile: {e:?}"),
    }
}

/// A generated platform of `n` services.
pub fn generated(n: usize, seed: u64) -> Compiled {
    compiled(
        &format!("generated-{n}-{seed}"),
        synthetic::platform(n, seed),
    )
}

/// The reference platform, every valid fixture, and a generated platform of 300 services.
pub fn all() -> Vec<Compiled> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("platform.toml")];
    let mut fixtures: Vec<_> = std::fs::read_dir(root.join("tests/fixtures/valid"))
        .expect("the valid fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    fixtures.sort();
    files.extend(fixtures);
    let mut out: Vec<Compiled> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("readable platform");
            compiled(&f.display().to_string(), text)
        })
        .collect();
    out.push(generated(300, 7));
    out
}
