//! `berrys capacity` and `berrys diff`: their figures are lint's and render's, their exit
//! codes, and what they print for each kind of change (tests/fixtures/diff).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use berrys::model::capacity;
use berrys::{Envs, compile, lint, review};
use insta_cmd::assert_cmd_snapshot;

fn diff_fixture(name: &str) -> PathBuf {
    common::root()
        .join("tests/fixtures/diff")
        .join(format!("{name}.toml"))
}

/// The `.toml` files of these fixture directories, each directory's sorted by name.
fn fixtures_in(dirs: &[&str]) -> Vec<PathBuf> {
    let root = common::root();
    let mut paths = Vec::new();
    for dir in dirs {
        let mut in_dir: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        in_dir.sort();
        paths.extend(in_dir);
    }
    paths
}

/// Every platform of the tests that compiles: the reference and the fixtures.
fn compiling_fixtures() -> Vec<PathBuf> {
    let mut paths = vec![common::root().join("platform.toml")];
    paths.extend(fixtures_in(&[
        "tests/fixtures/valid",
        "tests/fixtures/lint",
        "tests/fixtures/diff",
    ]));
    paths
}

fn rule(code: &str) -> fn(&berrys::Compiled) -> Vec<lint::Finding> {
    match lint::lookup(code).map(|r| &r.check) {
        Some(lint::Check::Platform(check) | lint::Check::EveryEnvironment(check)) => *check,
        _ => panic!("{code} is not a platform rule"),
    }
}

/// The report's capacity figures are the ones BR003 and BR011 judge: where the report says a
/// datastore has less than 20 % headroom, BR003 finds it with the same total; where it says
/// a resource exceeds the quota, BR011 finds it with the same total; and nowhere else.
#[test]
fn capacity_figures_equal_the_findings_of_br003_and_br011() {
    let (br003, br011) = (rule("BR003"), rule("BR011"));
    let (mut datastores, mut quotas, mut flagged) = (0, 0, 0);
    for path in compiling_fixtures() {
        let source = common::load(&path);
        let Ok(compiled) = compile(&source, Envs::All) else {
            continue;
        };
        for c in &compiled {
            let report =
                review::capacity::environment(&c.platform.env, &capacity::capacity(&c.platform));
            let pools = br003(c);
            for d in &report.datastores {
                datastores += 1;
                let found: Vec<_> = pools
                    .iter()
                    .filter(|f| f.diagnostic.message.contains(&format!("`{}`", d.datastore)))
                    .collect();
                let expected = d.low_headroom && !d.pools.is_empty();
                assert_eq!(
                    found.len(),
                    usize::from(expected),
                    "{}, {}: {d:?} and BR003 {found:?}",
                    path.display(),
                    c.platform.env
                );
                if let Some(f) = found.first() {
                    flagged += 1;
                    let figure = format!(" {} ", d.at_peak);
                    assert!(f.diagnostic.message.contains(&figure), "{f:?} vs {d:?}");
                    assert_eq!(f.at_most_warning, !d.exceeds);
                }
            }
            let quota = br011(c);
            for r in &report.resources {
                quotas += 1;
                let found: Vec<_> = quota
                    .iter()
                    .filter(|f| {
                        f.diagnostic
                            .message
                            .contains(&format!(" {} {},", r.at_peak_text, r.resource))
                    })
                    .collect();
                assert_eq!(
                    found.len(),
                    usize::from(r.exceeds),
                    "{}, {}: {r:?} and BR011 {quota:?}",
                    path.display(),
                    c.platform.env
                );
                flagged += found.len();
            }
            assert_eq!(
                quota.len(),
                report.resources.iter().filter(|r| r.exceeds).count(),
                "{}: BR011 found what the report does not",
                path.display()
            );
        }
    }
    assert!(
        datastores > 50 && quotas > 50,
        "{datastores} datastores, {quotas} resources"
    );
    assert!(
        flagged >= 4,
        "only {flagged} figures were flagged: the test proves little"
    );
}

fn berrys() -> Command {
    common::berrys_in(&common::root())
}

fn diff(head: &str, format: &str) -> Command {
    let mut cmd = berrys();
    cmd.args(["diff", "--base-file"])
        .arg(relative(&diff_fixture("base")))
        .arg("-f")
        .arg(relative(&diff_fixture(head)))
        .args(["--format", format]);
    cmd
}

fn relative(p: &Path) -> PathBuf {
    p.strip_prefix(common::root()).unwrap().to_path_buf()
}

#[test]
fn diff_of_a_new_edge_shows_the_flow_it_allows() {
    assert_cmd_snapshot!(diff("add-edge", "human"));
}

#[test]
fn diff_of_a_raised_maximum_shows_capacity_and_connections() {
    assert_cmd_snapshot!(diff("raise-maximum", "markdown"));
}

#[test]
fn diff_of_an_objective_shows_the_budget_and_the_alerts() {
    assert_cmd_snapshot!(diff("change-objective", "markdown"));
}

#[test]
fn diff_of_an_image_bump() {
    assert_cmd_snapshot!(diff("bump-image", "markdown"));
}

#[test]
fn diff_lists_the_finding_introduced_and_the_one_fixed() {
    assert_cmd_snapshot!(diff("finding", "markdown"));
}

#[test]
fn diff_of_a_production_only_change_leaves_the_others_unchanged() {
    assert_cmd_snapshot!(diff("production-only", "json"));
}

#[test]
fn diff_of_a_file_with_itself_is_unchanged_everywhere() {
    let out = diff("base", "json").output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let envs = report["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    for env in envs {
        assert_eq!(env["status"], "unchanged", "{env}");
    }
}

#[test]
fn fail_on_new_exits_1_only_for_findings_the_change_introduces() {
    // finding.toml introduces BR008 (error) and fixes BR007 (warning).
    let code = |head: &str, level: &str| {
        diff(head, "json")
            .args(["--fail-on-new", level])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code("finding", "error"), Some(1));
    assert_eq!(code("finding", "warning"), Some(1));
    // The base's BR007 is still there at the head of a bump: not introduced.
    assert_eq!(code("bump-image", "warning"), Some(0));
    // add-edge introduces a warning (BR012), no error.
    assert_eq!(code("add-edge", "error"), Some(0));
    assert_eq!(code("add-edge", "warning"), Some(1));
}

#[test]
fn capacity_of_the_reference_platform() {
    let mut cmd = berrys();
    cmd.args(["capacity", "--env", "production"]);
    assert_cmd_snapshot!(cmd);
}

#[test]
fn capacity_in_markdown_and_json() {
    let mut cmd = berrys();
    cmd.args(["capacity", "--format", "markdown", "-f"])
        .arg(relative(&diff_fixture("raise-maximum")));
    assert_cmd_snapshot!(cmd);
    let mut cmd = berrys();
    cmd.args(["capacity", "--format", "json", "--env", "base", "-f"])
        .arg(relative(&diff_fixture("base")));
    assert_cmd_snapshot!(cmd);
}

#[test]
fn capacity_of_a_platform_that_does_not_compile_exits_2() {
    let mut cmd = berrys();
    cmd.args(["capacity", "-f", "tests/fixtures/invalid/cycle.toml"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cycle"));
}

/// A scratch git repository with `platform.toml` committed as `base`.
fn repository(base: &Path) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(dir.path())
            .args([
                "-c",
                "user.name=berrys",
                "-c",
                "user.email=berrys@example.com",
            ])
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !git(&["init", "-q"]) {
        eprintln!("git not found: the --base tests are not run");
        return None;
    }
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    std::fs::copy(base, dir.path().join("deploy/platform.toml")).unwrap();
    assert!(git(&["add", "."]));
    assert!(git(&["commit", "-q", "-m", "base"]));
    Some(dir)
}

#[test]
fn diff_against_head_reads_the_base_with_git_show() {
    let Some(repo) = repository(&diff_fixture("base")) else {
        return;
    };
    let file = repo.path().join("deploy/platform.toml");
    std::fs::copy(diff_fixture("bump-image"), &file).unwrap();
    // From the repository's root, from the file's directory, and from outside it.
    for (dir, arg) in [
        (
            repo.path().to_path_buf(),
            PathBuf::from("deploy/platform.toml"),
        ),
        (repo.path().join("deploy"), PathBuf::from("platform.toml")),
        (std::env::temp_dir(), file.clone()),
    ] {
        let out = common::berrys_in(&dir)
            .args(["diff", "--format", "json", "-f"])
            .arg(&arg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["base"], format!("HEAD:{}", arg.display()));
        let images = &report["environments"][0]["images"];
        assert_eq!(images[0]["before"], "orders:1.0.0", "{report}");
        assert_eq!(images[0]["after"], "orders:1.1.0", "{report}");
    }
    // An explicit revision, and one that does not exist.
    let out = common::berrys_in(repo.path())
        .args(["diff", "--base", "HEAD", "-f", "deploy/platform.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = common::berrys_in(repo.path())
        .args([
            "diff",
            "--base",
            "no-such-rev",
            "-f",
            "deploy/platform.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the base no-such-rev:deploy/platform.toml"),
        "{stderr}"
    );
}

#[test]
fn diff_exits_2_naming_the_side_that_does_not_compile() {
    let Some(repo) = repository(&common::root().join("tests/fixtures/invalid/cycle.toml")) else {
        return;
    };
    let file = repo.path().join("deploy/platform.toml");
    std::fs::copy(diff_fixture("base"), &file).unwrap();
    let out = common::berrys_in(repo.path())
        .args(["diff", "-f", "deploy/platform.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: the base (HEAD:deploy/platform.toml) does not compile"),
        "{stderr}"
    );
    assert!(
        stderr.contains("HEAD:deploy/platform.toml:"),
        "diagnostics name the base: {stderr}"
    );

    // The other way round: the head does not compile.
    let out = berrys()
        .args(["diff", "--base-file"])
        .arg(relative(&diff_fixture("base")))
        .args(["-f", "tests/fixtures/invalid/cycle.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: the head (tests/fixtures/invalid/cycle.toml) does not compile"),
        "{stderr}"
    );
}

/// `berrys diff` of the base fixture against itself with `edit.0` replaced by `edit.1`, in
/// environment `env`: its output, the command having succeeded.
fn diff_of_edited_base(edit: (&str, &str), env: &str, format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head.toml");
    let text = std::fs::read_to_string(diff_fixture("base")).unwrap();
    assert!(text.contains(edit.0), "no `{}` in the base", edit.0);
    std::fs::write(&head, text.replace(edit.0, edit.1)).unwrap();
    let out = berrys()
        .args(["diff", "--env", env, "--format", format, "--base-file"])
        .arg(diff_fixture("base"))
        .arg("-f")
        .arg(&head)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn diff_names_an_alert_change_in_its_annotations_alone() {
    // A runbook address changes every alert's `runbook_url` and nothing else.
    let runbook = (
        "retention = \"30d\"\n",
        "retention = \"30d\"\nrunbook_url = \"https://runbooks.example.com\"\n",
    );
    let run = |format: &str| diff_of_edited_base(runbook, "base", format);
    let human = run("human");
    assert!(
        human.contains("ServiceDown{service=api}") && human.contains("(`runbook_url` changed)"),
        "{human}"
    );
    assert!(!human.contains("expression"), "{human}");
    let report: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let changed = report["environments"][0]["alerts"]["changed"]
        .as_array()
        .unwrap();
    assert!(!changed.is_empty());
    for c in changed {
        assert_eq!(c["before"]["expr"], c["after"]["expr"]);
        assert!(
            c["before"]["annotations"].get("runbook_url").is_none(),
            "{c}"
        );
        assert!(c["after"]["annotations"]["runbook_url"].is_string(), "{c}");
    }
}

#[test]
fn diff_of_an_environment_the_base_lacks_reports_it_added() {
    let staging = (
        "[environments.production]",
        "[environments.staging]\nreplicas = 1\nautoscaling = false\n\n[environments.production]",
    );
    let report: serde_json::Value =
        serde_json::from_str(&diff_of_edited_base(staging, "staging", "json")).unwrap();
    assert_eq!(report["environments"][0]["environment"], "staging");
    assert_eq!(report["environments"][0]["status"], "added");
    assert_eq!(
        report["environments"][0]["services"]["added"],
        serde_json::json!(["api", "billing", "orders"])
    );
}

/// Any two platforms of the tests, one as the base and one as the head, give a report or a
/// clear exit code 2, never a panic.
#[test]
fn diff_of_any_two_fixtures_never_panics() {
    let reference = common::root().join("platform.toml");
    let fixtures = fixtures_in(&[
        "tests/fixtures/valid",
        "tests/fixtures/lint",
        "tests/fixtures/invalid",
    ]);
    // Each fixture is the base of one diff and the head of another (fixture i against
    // fixture i + 1), and the reference is diffed against the first valid fixture both ways.
    // Pairs of fixtures rather than each against the reference: two unrelated files are the
    // line diff's worst case, and the reference's output is the largest.
    let mut pairs: Vec<(&PathBuf, &PathBuf)> = fixtures
        .iter()
        .zip(fixtures.iter().cycle().skip(1))
        .collect();
    pairs.push((&reference, &fixtures[0]));
    pairs.push((&fixtures[0], &reference));
    let mut reports = 0;
    for (base, head) in pairs {
        let out = berrys()
            .args(["diff", "--format", "json", "--base-file"])
            .arg(base)
            .arg("-f")
            .arg(head)
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 2)),
            "{} → {}: {code:?}\n{}",
            base.display(),
            head.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        if code == Some(0) {
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(
                report["environments"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty())
            );
            reports += 1;
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("does not compile") || stderr.contains("error:"),
                "{stderr}"
            );
        }
    }
    assert!(reports > 30, "only {reports} reports");
}
