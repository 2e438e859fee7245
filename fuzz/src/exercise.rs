//! One fuzz input through everything the `lint`, `render` and `graph` commands do short of
//! writing files: decoding, compile, lint, render of every environment, the dependency graph
//! in every format, and every diagnostic in every format. A panic anywhere is the finding.
//!
//! Shared, through `#[path]`, by the AFL++ target (`fuzz/`) and the corpus replay that runs
//! in `cargo test` (`tests/fuzz_corpus.rs`), so the replay checks exactly what was fuzzed.

use berrys::commands::{self, DiagnosticFormat, GraphFormat, Output};
use berrys::source::{self, SourceFile};
use berrys::{CompileError, Envs};

/// Exemptions expire relative to this day; fixed, so a replay is the same on any date.
const TODAY: &str = "2026-01-01";

pub fn exercise(bytes: &[u8]) {
    let source = match source::decode("platform.toml".to_string(), bytes.to_vec()) {
        Ok(source) => source,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    match berrys::check(&source, Envs::All, TODAY) {
        Ok(linted) => {
            report_everywhere(&linted.findings, &source);
            let _ = berrys::lint::fails(&linted.findings, linted.config.fail_on);
            for compiled in &linted.compiled {
                let files = berrys::render::render(compiled)
                    .unwrap_or_else(|e| panic!("a compiled platform renders: {e}"));
                assert!(!files.is_empty(), "a compiled platform renders files");
                for format in GraphFormat::ALL {
                    assert!(!commands::graph_text(compiled, format).is_empty());
                }
            }
        }
        Err(CompileError::Diagnostics(diags)) => {
            assert!(!diags.is_empty(), "a failed compile says why");
            report_everywhere(&diags, &source);
        }
        Err(e @ CompileError::UnknownEnvironment { .. }) => {
            panic!("every environment was asked for, yet: {e:?}")
        }
    }
}

/// Every diagnostic format, and human output with and without colour.
fn report_everywhere(diags: &[berrys::diagnostic::Diagnostic], source: &SourceFile) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for format in DiagnosticFormat::ALL {
        for color in [false, true] {
            if color && format != DiagnosticFormat::Human {
                continue;
            }
            out.clear();
            err.clear();
            commands::report(
                diags,
                source,
                Output {
                    format,
                    color,
                    quiet: false,
                },
                &mut out,
                &mut err,
            );
            if !diags.is_empty() {
                assert!(
                    !out.is_empty() || !err.is_empty(),
                    "{format:?} printed nothing"
                );
            }
        }
    }
}
