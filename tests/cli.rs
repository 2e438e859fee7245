//! The `berrys` binary as users run it: exit codes, what it prints, what it writes.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};

fn berrys(dir: &Path) -> Command {
    common::berrys_in(dir)
}

use common::workspace;

fn copy_fixture(dir: &Path, fixture: &str) {
    fs::copy(
        common::root().join("tests/fixtures").join(fixture),
        dir.join("platform.toml"),
    )
    .unwrap();
}

/// Every file under `dir` with its bytes, for before/after comparisons.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn lint_reference_is_clean() {
    let ws = workspace();
    assert_cmd_snapshot!(berrys(ws.path()).arg("lint"));
}

#[test]
fn lint_invalid_exits_2_with_diagnostics() {
    let ws = workspace();
    copy_fixture(ws.path(), "invalid/unknown-tier.toml");
    assert_cmd_snapshot!(berrys(ws.path()).arg("lint"));
}

#[test]
fn lint_json_format() {
    let ws = workspace();
    copy_fixture(ws.path(), "invalid/cycle.toml");
    assert_cmd_snapshot!(berrys(ws.path()).args(["lint", "--format", "json"]));
}

#[test]
fn lint_unknown_environment_exits_2() {
    let ws = workspace();
    assert_cmd_snapshot!(berrys(ws.path()).args(["lint", "--env", "prod"]));
}

#[test]
fn lint_missing_file_exits_2() {
    let ws = tempfile::tempdir().unwrap();
    assert_cmd_snapshot!(berrys(ws.path()).arg("lint"));
}

#[test]
fn lint_non_utf8_file_exits_2() {
    let ws = tempfile::tempdir().unwrap();
    fs::write(
        ws.path().join("platform.toml"),
        b"[platform]\nname = \"\xff\"\n",
    )
    .unwrap();
    let out = berrys(ws.path()).arg("lint").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

#[test]
fn bad_usage_exits_2() {
    let ws = workspace();
    for args in [
        vec!["frobnicate"],
        vec!["render", "--format", "xml"],
        vec!["graph", "--format", "svg"],
        vec![],
    ] {
        let out = berrys(ws.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = berrys(ws.path()).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = berrys(ws.path()).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn no_colour_when_not_a_terminal() {
    let ws = workspace();
    copy_fixture(ws.path(), "invalid/unknown-tier.toml");
    let out = Command::new(get_cargo_bin("berrys"))
        .current_dir(ws.path())
        .arg("lint")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn render_writes_default_directory_then_check_is_clean() {
    let ws = workspace();
    assert_cmd_snapshot!(berrys(ws.path()).arg("render"));
    let written = tree(&ws.path().join("rendered/base"));
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    insta::assert_debug_snapshot!(names);
    assert_cmd_snapshot!(berrys(ws.path()).args(["render", "--check"]));
    // Same input, same bytes.
    assert_eq!(
        berrys(ws.path()).arg("render").status().unwrap().code(),
        Some(0)
    );
    assert_eq!(tree(&ws.path().join("rendered/base")), written);
}

#[test]
fn render_env_writes_its_own_directory() {
    let ws = workspace();
    let out = berrys(ws.path())
        .args(["render", "--env", "local"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(ws.path().join("rendered/local/kustomization.yaml").exists());
    assert!(!ws.path().join("rendered/base").exists());
}

#[test]
fn render_check_lists_stale_missing_and_extra_files() {
    let ws = workspace();
    let out_dir = ws.path().join("out");
    assert_eq!(
        berrys(ws.path())
            .args(["render", "--out", "out"])
            .status()
            .unwrap()
            .code(),
        Some(0)
    );
    fs::write(
        out_dir.join("kubernetes/api-gateway.yaml"),
        "edited by hand\n",
    )
    .unwrap();
    fs::remove_file(out_dir.join("kubernetes/web-dashboard.yaml")).unwrap();
    let manifest = out_dir.join(".berrys-manifest");
    let mut m = fs::read_to_string(&manifest).unwrap();
    m.push_str("kubernetes/retired-service.yaml\n");
    fs::write(&manifest, m).unwrap();
    fs::write(out_dir.join("kubernetes/retired-service.yaml"), "old\n").unwrap();
    let before = tree(&out_dir);
    assert_cmd_snapshot!(berrys(ws.path()).args(["render", "--out", "out", "--check"]));
    assert_eq!(tree(&out_dir), before, "--check writes nothing");
}

#[test]
fn failed_render_leaves_previous_output_untouched() {
    let ws = workspace();
    assert_eq!(
        berrys(ws.path()).arg("render").status().unwrap().code(),
        Some(0)
    );
    // A render of `fixture` exits with `code` and leaves the output as it was, with no
    // staging directory behind.
    let fails_leaving_output = |fixture: &str, code: i32| {
        let before = tree(&ws.path().join("rendered/base"));
        copy_fixture(ws.path(), fixture);
        let out = berrys(ws.path()).arg("render").output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{fixture}");
        assert_eq!(tree(&ws.path().join("rendered/base")), before, "{fixture}");
        assert_only_base_rendered(ws.path());
    };
    fails_leaving_output("invalid/cycle.toml", 2);

    // Lint errors stop it as well, after the previous output's other files were already
    // being staged beside it: the stage goes, the output stays.
    fs::write(ws.path().join("rendered/base/NOTES.md"), "hand-written\n").unwrap();
    fails_leaving_output("lint/br003-pool-overcommit.fires.toml", 1);
}

/// `rendered/` holds the base output and nothing else (no staging directory).
fn assert_only_base_rendered(ws: &Path) {
    let entries: Vec<_> = fs::read_dir(ws.join("rendered"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("base")]);
}

#[test]
fn render_keeps_foreign_files_and_removes_its_own_stale_ones() {
    let ws = workspace();
    assert_eq!(
        berrys(ws.path()).arg("render").status().unwrap().code(),
        Some(0)
    );
    let out = ws.path().join("rendered/base");
    fs::write(out.join("NOTES.md"), "hand-written\n").unwrap();
    fs::create_dir_all(out.join("kubernetes/extra")).unwrap();
    fs::write(out.join("kubernetes/extra/patch.yaml"), "kind: Patch\n").unwrap();
    // Remove a service: its file must go, the foreign files must stay.
    let text = fs::read_to_string(ws.path().join("platform.toml")).unwrap();
    let text = text.replace("soft_depends_on = [\"web-dashboard\"]\n", "");
    let start = text.find("[services.web-dashboard]").unwrap();
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |e| start + e + 2);
    let text = format!("{}{}", &text[..start], &text[end..]);
    fs::write(ws.path().join("platform.toml"), text).unwrap();
    let status = berrys(ws.path()).arg("render").output().unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(!out.join("kubernetes/web-dashboard.yaml").exists());
    assert_eq!(
        fs::read_to_string(out.join("NOTES.md")).unwrap(),
        "hand-written\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("kubernetes/extra/patch.yaml")).unwrap(),
        "kind: Patch\n"
    );
}

#[test]
fn graph_formats() {
    let ws = workspace();
    assert_cmd_snapshot!(berrys(ws.path()).args(["graph", "--format", "dot"]));
    assert_cmd_snapshot!(berrys(ws.path()).args(["graph", "--format", "mermaid"]));
    assert_cmd_snapshot!(berrys(ws.path()).args(["graph", "--format", "json"]));
}

#[test]
fn graph_of_a_cycle_exits_2() {
    let ws = workspace();
    copy_fixture(ws.path(), "invalid/cycle.toml");
    let out = berrys(ws.path()).arg("graph").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dependency cycle: api → worker → api"));
}

#[test]
fn schema_prints_json_schema() {
    let ws = workspace();
    let out = berrys(ws.path()).arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        value["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn init_writes_a_starter_that_lints_and_never_overwrites() {
    let ws = tempfile::tempdir().unwrap();
    assert_cmd_snapshot!(berrys(ws.path()).arg("init"));
    assert_eq!(
        berrys(ws.path()).arg("lint").status().unwrap().code(),
        Some(0)
    );
    assert_eq!(
        berrys(ws.path()).arg("render").status().unwrap().code(),
        Some(0)
    );
    let before = fs::read(ws.path().join("platform.toml")).unwrap();
    assert_cmd_snapshot!(berrys(ws.path()).arg("init"));
    assert_eq!(fs::read(ws.path().join("platform.toml")).unwrap(), before);
}

// ---- lint findings, formats and rule documentation ---------------------------------------

fn status(cmd: &mut Command) -> i32 {
    cmd.output().unwrap().status.code().unwrap()
}

#[test]
fn lint_error_findings_exit_1() {
    let ws = workspace();
    copy_fixture(ws.path(), "lint/br003-pool-overcommit.fires.toml");
    assert_cmd_snapshot!(berrys(ws.path()).arg("lint"));
}

#[test]
fn warnings_fail_only_at_fail_on_warning() {
    let ws = workspace();
    copy_fixture(ws.path(), "lint/br007-image-tag-not-pinned.fires.toml");
    assert_eq!(status(berrys(ws.path()).arg("lint")), 0);
    assert_eq!(
        status(berrys(ws.path()).args(["lint", "--fail-on", "warning"])),
        1
    );
    let text = fs::read_to_string(ws.path().join("platform.toml")).unwrap();
    fs::write(
        ws.path().join("platform.toml"),
        format!("{text}\n[lint]\nfail_on = \"warning\"\n"),
    )
    .unwrap();
    assert_eq!(status(berrys(ws.path()).arg("lint")), 1);
    assert_eq!(
        status(berrys(ws.path()).args(["lint", "--fail-on", "error"])),
        0
    );
}

#[test]
fn lint_machine_formats() {
    let ws = workspace();
    copy_fixture(ws.path(), "lint/br006-critical-single-replica.fires.toml");
    assert_cmd_snapshot!(berrys(ws.path()).args(["lint", "--format", "github"]));
    assert_cmd_snapshot!(berrys(ws.path()).args(["lint", "--format", "json"]));
    let sarif = berrys(ws.path())
        .args(["lint", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(sarif.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "BR006");
}

#[test]
fn render_is_blocked_by_lint_errors_but_not_by_warnings() {
    let ws = workspace();
    copy_fixture(ws.path(), "lint/br003-pool-overcommit.fires.toml");
    assert_cmd_snapshot!(berrys(ws.path()).args(["render", "--out", "out"]));
    assert!(!ws.path().join("out").exists(), "nothing is written");

    copy_fixture(ws.path(), "lint/br007-image-tag-not-pinned.fires.toml");
    let output = berrys(ws.path())
        .args(["render", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("BR007"));
    assert!(ws.path().join("out/kustomization.yaml").exists());
}

#[test]
fn rules_and_explain() {
    let ws = workspace();
    assert_cmd_snapshot!(berrys(ws.path()).arg("rules"));
    assert_cmd_snapshot!(berrys(ws.path()).args(["explain", "BR003"]));
    let by_name = berrys(ws.path())
        .args(["explain", "pool-overcommit"])
        .output()
        .unwrap();
    let by_code = berrys(ws.path())
        .args(["explain", "br003"])
        .output()
        .unwrap();
    assert_eq!(by_name.stdout, by_code.stdout);
    assert_cmd_snapshot!(berrys(ws.path()).args(["explain", "pool-overcomit"]));
    let json = berrys(ws.path())
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let rules: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rules.as_array().unwrap().len(), 28);
    assert_eq!(rules[2]["name"], "pool-overcommit");
}
