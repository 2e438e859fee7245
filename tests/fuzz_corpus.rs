//! The fuzz corpus, replayed on every `cargo test`: each input the AFL++ target kept
//! (`fuzz/corpus`, minimised) and each fixture it was seeded from go through the very function
//! the fuzzer runs (`fuzz/src/exercise.rs`), so an input that once found a panic, or reached
//! code nothing else reaches, keeps being checked without AFL++ on the machine.

mod common;

#[path = "../fuzz/src/exercise.rs"]
mod exercise;

use std::path::PathBuf;

/// The replay is bounded: the corpus is minimised before it is committed, and a corpus that
/// grew past this was not (`cargo afl cmin`, docs/reliability.md).
const MAX_CORPUS_FILES: usize = 2500;
const MAX_INPUT_BYTES: u64 = 64 * 1024;

fn inputs() -> Vec<PathBuf> {
    let root = common::root();
    let mut files = vec![root.join("platform.toml")];
    for dir in [
        "fuzz/corpus",
        "tests/fixtures/valid",
        "tests/fixtures/invalid",
        "tests/fixtures/lint",
    ] {
        let mut in_dir: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files
}

#[test]
fn every_corpus_input_ends_without_a_panic() {
    let files = inputs();
    let corpus = files
        .iter()
        .filter(|p| p.starts_with(common::root().join("fuzz/corpus")))
        .count();
    assert!(
        corpus >= 50,
        "the committed corpus is missing ({corpus} inputs)"
    );
    assert!(
        corpus <= MAX_CORPUS_FILES,
        "the corpus is not minimised ({corpus} inputs)"
    );
    for file in &files {
        let size = std::fs::metadata(file).unwrap().len();
        assert!(size <= MAX_INPUT_BYTES, "{}: {size} bytes", file.display());
    }
    // Quiet panics: the failing inputs are listed once, at the end.
    std::panic::set_hook(Box::new(|_| {}));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let failed: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(files.len().div_ceil(threads))
            .map(|chunk| scope.spawn(move || replay(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let _ = std::panic::take_hook();
    assert!(
        failed.is_empty(),
        "inputs that panic:\n{}",
        failed.join("\n")
    );
}

/// The inputs of `files` that panic.
fn replay(files: &[PathBuf]) -> Vec<String> {
    let mut failed = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| exercise::exercise(&bytes)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    failed
}
