//! Generated platforms, inside the schema, compile to output a cluster and Prometheus
//! accept.
//!
//! Each case is a whole `platform.toml` drawn by `generative/platform.rs` from
//! schemas/platform.schema.json, edges included. berrys may refuse it (a compile error,
//! or a lint finding that fails `berrys lint` and so blocks `berrys render`); what it
//! does not refuse must render in every environment, and the output must pass the API
//! server's validation (`generative/apiserver*.rs`) and, on a sample of the cases, the
//! real tools (`generative/tools.rs`).
//!
//! The run is seeded and bounded, so CI sees the same cases every time:
//! `BERRYS_GENERATIVE_CASES` (default 300) sets the number of cases,
//! `BERRYS_GENERATIVE_SEED` another seed, `BERRYS_GENERATIVE_TOOLS_EVERY` (default 6) the
//! sampling of the tools (every Nth platform that reached the checks; 1: all), `BERRYS_GENERATIVE_SHRINK=0` turns shrinking off.
//! Every failure class is reported once, shrunk to a small platform, with the whole text.

#[path = "generative/apiserver.rs"]
mod apiserver;
#[path = "generative/apiserver_net.rs"]
mod apiserver_net;
#[path = "generative/apiserver_pod.rs"]
mod apiserver_pod;
#[path = "generative/k8s_syntax.rs"]
mod k8s_syntax;
#[path = "generative/platform.rs"]
mod platform;
#[path = "generative/services.rs"]
mod services;
#[path = "generative/toml_text.rs"]
mod toml_text;
#[path = "generative/tools.rs"]
mod tools;
#[path = "generative/values.rs"]
mod values;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use berrys::source::SourceFile;
use berrys::{CompileError, Envs};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// One broken rule: which check (the class failures are grouped by) and the details.
#[derive(Debug, Clone)]
pub struct Violation {
    pub check: String,
    pub detail: String,
}

impl Violation {
    pub fn new(check: &str, detail: impl Into<String>) -> Self {
        Violation {
            check: check.to_string(),
            detail: detail.into(),
        }
    }
}

/// What berrys made of one platform.
enum Outcome {
    /// Refused while compiling: syntax, schema, references, cycles (the diagnostic code).
    Refused(String),
    /// Compiled, but lint fails, which blocks `render`; render is still run.
    LintFails(Vec<Violation>),
    /// Compiled and lint passes: rendered and checked.
    Checked(Vec<Violation>),
}

/// Compiles, lints, renders and checks one platform text.
fn evaluate(text: &str, with_tools: bool) -> Outcome {
    // The generator promises TOML inside the schema: anything else is its own bug.
    if let Some(problems) = outside_schema(text) {
        return Outcome::Checked(vec![Violation::new(
            "generator: outside the schema",
            problems,
        )]);
    }
    let source = SourceFile::new("platform.toml", text);
    let result = catch_unwind(AssertUnwindSafe(|| {
        berrys::check(&source, Envs::All, "2026-01-01")
    }));
    let linted = match result {
        Err(_) => return Outcome::Checked(vec![Violation::new("panic in check", "")]),
        Ok(Err(CompileError::Diagnostics(d))) => {
            if std::env::var_os("BERRYS_GENERATIVE_VERBOSE").is_some() {
                eprintln!("refused: {}", d[0].message);
            }
            return Outcome::Refused(format!("{} {}", d[0].code, d[0].name));
        }
        Ok(Err(e)) => return Outcome::Checked(vec![Violation::new("compile", format!("{e:?}"))]),
        Ok(Ok(linted)) => linted,
    };
    let lint_fails = berrys::lint::fails(&linted.findings, linted.config.fail_on);
    if std::env::var_os("BERRYS_GENERATIVE_VERBOSE").is_some() {
        for f in &linted.findings {
            eprintln!("finding: {} {:?} {}", f.code, f.severity, f.message);
        }
    }
    let mut out = Vec::new();
    for compiled in &linted.compiled {
        let env = compiled.platform.env.clone();
        let rendered = catch_unwind(AssertUnwindSafe(|| berrys::render::render(compiled)));
        let files = match rendered {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                out.push(Violation::new("render error", format!("env {env}: {e}")));
                continue;
            }
            Err(_) => {
                out.push(Violation::new("panic in render", format!("env {env}")));
                continue;
            }
        };
        if lint_fails {
            continue;
        }
        let mut found = Vec::new();
        let objects = apiserver::objects(&files, &mut found);
        apiserver::check(&objects, &mut found);
        if with_tools {
            tools::check(&files, &mut found);
        }
        out.extend(found.into_iter().map(|mut v| {
            v.detail = format!("[env {env}] {}", v.detail);
            v
        }));
    }
    if lint_fails {
        Outcome::LintFails(out)
    } else {
        Outcome::Checked(out)
    }
}

/// Why `text` is not TOML inside schemas/platform.schema.json, if it is not: checked
/// with the schema file itself, since berrys reports some refusals of its own beyond the
/// schema under the same diagnostic code.
fn outside_schema(text: &str) -> Option<String> {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/platform.schema.json");
        let schema = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::draft202012::new(&schema).expect("a usable schema")
    });
    let instance: serde_json::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Some(format!("not TOML: {e}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    (!errors.is_empty()).then(|| errors.join("\n"))
}

fn violations(outcome: &Outcome) -> &[Violation] {
    match outcome {
        Outcome::Refused(_) => &[],
        Outcome::LintFails(v) | Outcome::Checked(v) => v,
    }
}

fn env_number(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{var} is a number")))
        .unwrap_or(default)
}

/// The first failing case of a class, shrunk.
struct Class {
    count: usize,
    first_case: u64,
    text: String,
    details: Vec<String>,
}

/// The run's settings, from the environment.
struct Settings {
    cases: u64,
    seed: u64,
    tools_every: u64,
    shrinking: bool,
}

/// The value tree of case `case`: each case has an RNG of its own, seeded from the run's
/// seed and its number, so any case can be drawn again (to shrink it once per class).
fn tree(settings: &Settings, case: u64) -> impl ValueTree<Value = platform::Drawn> {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&settings.seed.to_le_bytes());
    seed[8..16].copy_from_slice(&case.to_le_bytes());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    platform::platform()
        .new_tree(&mut runner)
        .expect("a platform")
}

/// Case `case` shrunk while it still fails `check`: proptest's own loop (simplify while
/// failing, complicate when passing), bounded; the last failing platform's text.
fn shrink(settings: &Settings, case: u64, check: &str, with_tools: bool) -> String {
    let still_fails = |text: &str| {
        violations(&evaluate(text, with_tools))
            .iter()
            .any(|v| v.check == check)
    };
    let mut tree = tree(settings, case);
    let mut last_failing = tree.current().to_toml();
    let budget = if with_tools { 8 } else { 150 };
    let mut more = tree.simplify();
    let mut steps = 0;
    while more && steps < budget {
        steps += 1;
        let text = tree.current().to_toml();
        more = if still_fails(&text) {
            last_failing = text;
            tree.simplify()
        } else {
            tree.complicate()
        };
    }
    last_failing
}

/// The details of `check` on the (shrunk) text, or those first seen.
fn details_of(text: &str, check: &str, with_tools: bool, first: &str) -> Vec<String> {
    let found: Vec<String> = violations(&evaluate(text, with_tools))
        .iter()
        .filter(|v| v.check == check)
        .map(|v| v.detail.clone())
        .collect();
    if found.is_empty() {
        vec![first.to_string()]
    } else {
        found
    }
}

/// Counts of what happened to the cases.
#[derive(Default)]
struct Tally {
    refused: BTreeMap<String, usize>,
    lint_failed: usize,
    checked: usize,
    with_tools: usize,
}

#[test]
fn generated_platforms_render_valid_output() {
    let settings = Settings {
        cases: env_number("BERRYS_GENERATIVE_CASES", 300),
        seed: env_number("BERRYS_GENERATIVE_SEED", 20_260_101),
        tools_every: env_number("BERRYS_GENERATIVE_TOOLS_EVERY", 6).max(1),
        shrinking: env_number("BERRYS_GENERATIVE_SHRINK", 1) != 0,
    };
    let started = std::time::Instant::now();
    let mut classes: BTreeMap<String, Class> = BTreeMap::new();
    let mut tally = Tally::default();
    for case in 0..settings.cases {
        let text = tree(&settings, case).current().to_toml();
        let mut outcome = evaluate(&text, false);
        // The tools run on every `tools_every`-th platform that reached the checks.
        let with_tools = matches!(outcome, Outcome::Checked(_))
            && (tally.checked as u64).is_multiple_of(settings.tools_every);
        if with_tools {
            outcome = evaluate(&text, true);
        }
        match &outcome {
            Outcome::Refused(code) => *tally.refused.entry(code.clone()).or_default() += 1,
            Outcome::LintFails(_) => tally.lint_failed += 1,
            Outcome::Checked(_) => {
                tally.checked += 1;
                tally.with_tools += usize::from(with_tools);
            }
        }
        let mut seen_here: Vec<&str> = Vec::new();
        for v in violations(&outcome) {
            if seen_here.contains(&v.check.as_str()) {
                continue;
            }
            seen_here.push(&v.check);
            if let Some(c) = classes.get_mut(&v.check) {
                c.count += 1;
                continue;
            }
            let text = if settings.shrinking {
                shrink(&settings, case, &v.check, with_tools)
            } else {
                text.clone()
            };
            let details = details_of(&text, &v.check, with_tools, &v.detail);
            let class = Class {
                count: 1,
                first_case: case,
                text,
                details,
            };
            classes.insert(v.check.clone(), class);
        }
    }
    report(&classes, &tally, &settings, started.elapsed());
    assert!(
        classes.is_empty(),
        "{} failure classes in {} generated platforms (listed above)",
        classes.len(),
        settings.cases
    );
    assert!(
        tally.checked * 6 >= settings.cases as usize,
        "only {} of {} generated platforms reached rendering: the generator must produce \
         more platforms berrys accepts",
        tally.checked,
        settings.cases
    );
}

/// What the run did, then every failure class with its shrunk platform.
fn report(
    classes: &BTreeMap<String, Class>,
    tally: &Tally,
    settings: &Settings,
    took: std::time::Duration,
) {
    eprintln!(
        "{} cases (seed {}) in {:.1}s: {} refused while compiling, {} fail lint (rendered, \
         not checked), {} rendered and checked ({} with the tools)",
        settings.cases,
        settings.seed,
        took.as_secs_f64(),
        tally.refused.values().sum::<usize>(),
        tally.lint_failed,
        tally.checked,
        tally.with_tools,
    );
    for (code, n) in &tally.refused {
        eprintln!("  refused {n:>4} × {code}");
    }
    for (check, c) in classes {
        eprintln!(
            "\n=== FAILURE CLASS `{check}`: {} case(s), first case {}",
            c.count, c.first_case
        );
        for d in c.details.iter().take(6) {
            eprintln!("  - {d}");
        }
        eprintln!("--- platform.toml (shrunk) ---\n{}--- end ---", c.text);
    }
}
