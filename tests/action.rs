//! The composite GitHub Action (`action.yml`): its references hold together, and its steps
//! (`scripts/action.sh`) run as a workflow would run them, with the berrys this test built.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn action() -> serde_json::Value {
    let text = fs::read_to_string(common::root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// Every `${{ … }}` expression in the file.
fn expressions(text: &str) -> Vec<&str> {
    text.split("${{")
        .skip(1)
        .map(|rest| rest.split("}}").next().unwrap().trim())
        .collect()
}

#[test]
fn every_reference_in_the_action_is_declared() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().unwrap();
    let steps = action["runs"]["steps"].as_array().unwrap();
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    let text = fs::read_to_string(common::root().join("action.yml")).unwrap();
    let mut checked = 0;
    for expr in expressions(&text) {
        for word in expr.split(|c: char| !(c.is_alphanumeric() || "-_.".contains(c))) {
            if let Some(name) = word.strip_prefix("inputs.") {
                assert!(inputs.contains_key(name), "undeclared input `{name}`");
                checked += 1;
            }
            if let Some(rest) = word.strip_prefix("steps.") {
                let id = rest.split('.').next().unwrap();
                assert!(ids.contains(&id), "no step with id `{id}`");
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "{checked} references");
    for (name, input) in inputs {
        assert!(
            input["description"].is_string(),
            "input {name} has no description"
        );
        assert!(
            text.contains(&format!("inputs.{name}")),
            "input {name} is never used"
        );
    }
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert_eq!(step["shell"], "bash", "{step}");
            assert!(
                !run.contains("${{"),
                "inputs reach scripts through env only: {run}"
            );
            let syntax = Command::new("bash")
                .args(["-n", "-c", run])
                .output()
                .unwrap();
            assert!(syntax.status.success(), "{run}");
        }
    }
}

/// Runs one step of the action in `dir`, with berrys on PATH.
fn step(dir: &Path, which: &str, env: &[(&str, &str)]) -> (Output, String) {
    let bin = insta_cmd::get_cargo_bin("berrys");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output_file = dir.join("github-output");
    fs::write(&output_file, "").unwrap();
    let out = Command::new("bash")
        .arg(common::root().join("scripts/action.sh"))
        .arg(which)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("GITHUB_OUTPUT", &output_file)
        .env("RUNNER_TEMP", dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out, fs::read_to_string(output_file).unwrap())
}

#[test]
fn the_lint_step_annotates_writes_sarif_and_leaves_the_verdict_to_the_last_step() {
    let ws = common::workspace();
    let (out, outputs) = step(ws.path(), "lint", &[]);
    assert!(out.status.success());
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");
    let sarif = ws.path().join("berrys.sarif");
    assert!(outputs.contains(&format!("sarif-file={}\n", sarif.display())));
    let report: serde_json::Value = serde_json::from_slice(&fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(report["version"], "2.1.0");
    let (verdict, _) = step(ws.path(), "verdict", &[("BERRYS_EXIT", "0")]);
    assert!(verdict.status.success());

    fs::copy(
        common::root().join("tests/fixtures/lint/br003-pool-overcommit.fires.toml"),
        ws.path().join("findings.toml"),
    )
    .unwrap();
    let (out, outputs) = step(ws.path(), "lint", &[("BERRYS_FILE", "findings.toml")]);
    // The step itself passes, so the SARIF upload runs; the verdict step fails.
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("::error file=findings.toml"));
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let report = fs::read_to_string(ws.path().join("berrys.sarif")).unwrap();
    assert!(report.contains("BR003"));
    let (verdict, _) = step(ws.path(), "verdict", &[("BERRYS_EXIT", "1")]);
    assert_eq!(verdict.status.code(), Some(1));

    // Inputs are passed through: an environment and a stricter fail-on.
    let (_, outputs) = step(
        ws.path(),
        "lint",
        &[("BERRYS_ENV", "nowhere"), ("BERRYS_FAIL_ON", "warning")],
    );
    assert!(outputs.contains("exit-code=2\n"), "{outputs}");
    let (verdict, _) = step(ws.path(), "verdict", &[("BERRYS_EXIT", "2")]);
    assert_eq!(verdict.status.code(), Some(2));
}

#[test]
fn the_render_check_step_checks_each_environment_named() {
    let ws = common::workspace();
    let envs = [("BERRYS_RENDER_CHECK", "base production")];
    let (out, _) = step(ws.path(), "render-check", &envs);
    assert_eq!(out.status.code(), Some(1), "nothing rendered yet");
    for args in [&["render"][..], &["render", "--env", "production"]] {
        let rendered = common::berrys_in(ws.path()).args(args).output().unwrap();
        assert!(rendered.status.success());
    }
    let (out, _) = step(ws.path(), "render-check", &envs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (out, _) = step(
        ws.path(),
        "render-check",
        &[("BERRYS_RENDER_CHECK", "local")],
    );
    assert_eq!(out.status.code(), Some(1), "local was never rendered");
}
