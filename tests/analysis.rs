//! The release gates' queries, proven by the real promtool on the generated
//! `prometheus/analysis.test.yaml`: the file passes as rendered, and fails when a query loses
//! its pod-template-hash filter or its request-count guard.
//!
//! promtool ships with Prometheus; CI installs it and sets `BERRYS_REQUIRE_PROMTOOL=1`, so
//! there a missing promtool fails instead of skipping.

mod common;

use std::path::Path;
use std::process::Command;

fn promtool_available() -> bool {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("BERRYS_REQUIRE_PROMTOOL").is_none(),
            "promtool is required here (BERRYS_REQUIRE_PROMTOOL is set)"
        );
        eprintln!("promtool not found: the analysis tests are not run");
    }
    found
}

fn analysis_tests() -> String {
    let source =
        common::load(&common::root().join("tests/fixtures/valid/progressive-delivery.toml"));
    let files = berrys::render::render(&common::compile_env(&source, None)).unwrap();
    files
        .into_iter()
        .find(|f| f.path == "prometheus/analysis.test.yaml")
        .expect("the fixture has gated releases")
        .contents
}

/// Runs `promtool test rules` on `text`; its success and output.
fn promtool(dir: &Path, text: &str) -> (bool, String) {
    let path = dir.join("analysis.test.yaml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), log)
}

/// `text` with `edit` applied to the tested expressions only, never to the input series.
fn edit_exprs(text: &str, edit: impl Fn(&str) -> String) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("  - expr: ") {
            Some(expr) => format!("  - expr: {}", edit(expr)),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn the_generated_analysis_tests_pass() {
    if !promtool_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = analysis_tests();
    // Four services' SLOs: storefront (availability, latency), orders, payments.
    assert_eq!(text.matches("release gate").count(), 4, "{text}");
    let (ok, log) = promtool(dir.path(), &text);
    assert!(ok, "{log}");
}

#[test]
fn a_query_without_the_hash_filter_fails_its_tests() {
    if !promtool_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = analysis_tests();
    let unfiltered = edit_exprs(&text, |expr| {
        let mut out = String::new();
        let mut rest = expr;
        while let Some(at) = rest.find(", rollouts_pod_template_hash=\"") {
            out.push_str(&rest[..at]);
            let tail = &rest[at + ", rollouts_pod_template_hash=\"".len()..];
            rest = &tail[tail.find('"').unwrap() + 1..];
        }
        out.push_str(rest);
        out
    });
    assert_ne!(unfiltered, text);
    let (ok, log) = promtool(dir.path(), &unfiltered);
    assert!(!ok, "the tests passed without the hash filter:\n{log}");
    // The stable version's errors now count against the new one.
    assert!(log.contains("healthy") || log.contains("FAILED"), "{log}");
}

#[test]
fn a_query_without_the_request_guard_fails_its_tests() {
    if !promtool_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = analysis_tests();
    let unguarded = edit_exprs(&text, |expr| match expr.find(" and on() sum(increase(") {
        // The guard ends the query, or the parenthesis closing it before `> bool`.
        Some(at) => {
            let tail = &expr[at..];
            let end = tail.find(") > bool").map_or(expr.len(), |e| at + e);
            format!("{}{}", &expr[..at], &expr[end..])
        }
        None => expr.to_string(),
    });
    assert_ne!(unguarded, text);
    let (ok, log) = promtool(dir.path(), &unguarded);
    assert!(!ok, "the tests passed without the request guard:\n{log}");
}
