//! Where berrys meets its users' tools (SPEC §10): standard input, finding the platform file
//! from a subdirectory, `-o`, `--color`, `-q`, the GitLab and JUnit reports, shell
//! completions, the manual page, and the schema `init` writes (checked with the real taplo
//! where it is installed; CI sets `BERRYS_REQUIRE_TAPLO=1`).

mod common;

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::workspace;

fn berrys(dir: &Path, args: &[&str]) -> Output {
    common::berrys_in(dir).args(args).output().unwrap()
}

fn with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = common::berrys_in(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

const FINDINGS: &str = "tests/fixtures/lint/br003-pool-overcommit.fires.toml";

fn fixture(path: &str) -> Vec<u8> {
    fs::read(common::root().join(path)).unwrap()
}

#[test]
fn dash_reads_standard_input_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let reference = fixture("platform.toml");
    let out = with_stdin(dir.path(), &["lint", "-f", "-"], &reference);
    exit(&out, 0);
    assert!(text(&out.stderr).contains("<stdin>: no problems"));

    let out = with_stdin(
        dir.path(),
        &["lint", "-f", "-", "--format", "concise"],
        b"x = 1\n",
    );
    exit(&out, 2);
    assert!(text(&out.stdout).starts_with("<stdin>:1:1: schema [error]"));

    let out = with_stdin(dir.path(), &["render", "-f", "-"], &reference);
    exit(&out, 0);
    assert!(dir.path().join("rendered/base/.berrys-manifest").is_file());

    // There is no file to read at a revision.
    let out = with_stdin(dir.path(), &["diff", "-f", "-"], &reference);
    exit(&out, 2);
    assert!(
        text(&out.stderr).contains("--base-file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_platform_in_a_parent_directory_is_found_and_named() {
    let ws = workspace();
    let sub = ws.path().join("services/billing");
    fs::create_dir_all(&sub).unwrap();
    let out = berrys(&sub, &["lint"]);
    exit(&out, 0);
    let err = text(&out.stderr);
    assert!(err.starts_with("using ../../platform.toml ("), "{err}");
    assert!(err.contains("../../platform.toml: no problems"), "{err}");

    // Output lands beside the platform file, not in the subdirectory.
    exit(&berrys(&sub, &["render", "-q"]), 0);
    assert!(ws.path().join("rendered/base/.berrys-manifest").is_file());
    assert!(!sub.join("rendered").exists());
    let out = berrys(&sub, &["render", "--check"]);
    exit(&out, 0);

    // Diagnostics point at the file found, as a path from the current directory.
    fs::write(ws.path().join("platform.toml"), "x = 1\n").unwrap();
    let out = berrys(&sub, &["lint", "--format", "concise"]);
    exit(&out, 2);
    assert!(text(&out.stdout).starts_with("../../platform.toml:1:1:"));
}

#[test]
fn without_a_platform_anywhere_the_error_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["lint", "render", "graph", "capacity", "diff"] {
        let out = berrys(dir.path(), &[command]);
        exit(&out, 2);
        let err = text(&out.stderr);
        // The temporary directory's parents are assumed to hold no platform.toml.
        if !err.starts_with("using ") {
            assert!(
                err.contains("berrys init") && err.contains("-f FILE"),
                "{err}"
            );
        }
    }
}

#[test]
fn output_writes_the_report_to_a_file_with_the_same_exit_code() {
    let ws = tempfile::tempdir().unwrap();
    fs::write(ws.path().join("platform.toml"), fixture(FINDINGS)).unwrap();
    for format in [
        "human", "sarif", "gitlab", "junit", "json", "concise", "github",
    ] {
        let file = format!("report.{format}");
        let out = berrys(ws.path(), &["lint", "--format", format, "-o", &file]);
        exit(&out, 1);
        assert!(
            out.stdout.is_empty(),
            "{format}: the report goes to the file only"
        );
        assert_eq!(text(&out.stderr), format!("wrote the report to {file}\n"));
        let report = fs::read_to_string(ws.path().join(&file)).unwrap();
        assert!(report.contains("BR003"), "{format}: {report}");
        assert!(!report.contains('\u{1b}'), "{format}: no colour in a file");
    }
    // A platform that cannot be read: the report says so, and so does the terminal.
    let out = berrys(
        ws.path(),
        &["lint", "-f", "absent.toml", "-o", "absent.txt"],
    );
    exit(&out, 2);
    assert!(text(&out.stderr).contains("error: cannot read absent.toml"));
    let report = fs::read_to_string(ws.path().join("absent.txt")).unwrap();
    assert!(report.contains("error: cannot read absent.toml"));
    // A report that cannot be written is an error of its own.
    let out = berrys(ws.path(), &["lint", "-o", "missing/dir/report.txt"]);
    exit(&out, 2);
    assert!(text(&out.stderr).contains("cannot write the report to missing/dir/report.txt"));
    // -q keeps the line about the file out; the exit code stays.
    let out = berrys(
        ws.path(),
        &["lint", "-q", "--format", "sarif", "-o", "r.sarif"],
    );
    exit(&out, 1);
    assert!(out.stderr.is_empty());
}

#[test]
fn color_and_quiet() {
    let ws = tempfile::tempdir().unwrap();
    fs::write(ws.path().join("platform.toml"), fixture(FINDINGS)).unwrap();
    let always = berrys(ws.path(), &["lint", "--color", "always"]);
    assert!(
        text(&always.stderr).contains("\u{1b}["),
        "--color always colours a pipe"
    );
    let never = common::berrys_in(ws.path())
        .env_remove("NO_COLOR")
        .args(["lint", "--color=never"])
        .output()
        .unwrap();
    assert!(!text(&never.stderr).contains('\u{1b}'));
    // Problems are still printed under -q; success lines are not.
    let quiet = berrys(ws.path(), &["-q", "lint"]);
    exit(&quiet, 1);
    assert!(text(&quiet.stderr).contains("BR003"));
    let clean = workspace();
    for args in [
        &["lint", "-q"][..],
        &["render", "-q"],
        &["render", "--check", "-q"],
    ] {
        let out = berrys(clean.path(), args);
        exit(&out, 0);
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
    let out = berrys(clean.path(), &["lint", "--color", "sometimes"]);
    exit(&out, 2);
}

fn gitlab(dir: &Path) -> Vec<serde_json::Value> {
    let out = berrys(dir, &["lint", "--format", "gitlab", "--fail-on", "warning"]);
    exit(&out, 1);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn gitlab_code_quality_has_stable_unique_fingerprints() {
    let ws = tempfile::tempdir().unwrap();
    let source = fixture("tests/fixtures/lint/br007-image-tag-not-pinned.fires.toml");
    fs::write(ws.path().join("platform.toml"), &source).unwrap();
    let issues = gitlab(ws.path());
    assert!(!issues.is_empty());
    let mut fingerprints = HashSet::new();
    for issue in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key} in {issue}");
        }
        assert!(["major", "minor"].contains(&issue["severity"].as_str().unwrap()));
        assert_eq!(issue["location"]["path"], "platform.toml");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()));
    }
    // Moving every finding down a line keeps each fingerprint: GitLab sees no new issue.
    let mut moved = b"# a comment\n".to_vec();
    moved.extend_from_slice(&source);
    fs::write(ws.path().join("platform.toml"), moved).unwrap();
    let again = gitlab(ws.path());
    let before: Vec<_> = issues.iter().map(|i| &i["fingerprint"]).collect();
    let after: Vec<_> = again.iter().map(|i| &i["fingerprint"]).collect();
    assert_eq!(before, after);
    assert_ne!(
        issues[0]["location"]["lines"]["begin"],
        again[0]["location"]["lines"]["begin"]
    );
}

#[test]
fn junit_lists_every_rule_and_every_finding() {
    let ws = tempfile::tempdir().unwrap();
    fs::write(ws.path().join("platform.toml"), fixture(FINDINGS)).unwrap();
    let out = berrys(ws.path(), &["lint", "--format", "junit"]);
    exit(&out, 1);
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(
        suite.attribute("failures"),
        Some(failed.to_string().as_str())
    );
    assert_eq!(
        suite.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    assert!(failed >= 1);
    let rules = berrys::lint::RULES.len();
    assert!(cases.len() >= rules, "every rule is a test case");

    // A file that does not compile: only its errors, no rule was checked.
    fs::write(ws.path().join("platform.toml"), "x = \n").unwrap();
    let out = berrys(ws.path(), &["lint", "--format", "junit"]);
    exit(&out, 2);
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, 1, "{xml}");

    // A clean file: every rule passes.
    let clean = workspace();
    let out = berrys(clean.path(), &["lint", "--format", "junit"]);
    exit(&out, 0);
    let xml = text(&out.stdout);
    assert!(
        xml.contains(&format!("tests=\"{rules}\" failures=\"0\"")),
        "{xml}"
    );
}

#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = berrys(dir.path(), &["completions", shell]);
        exit(&out, 0);
        let script = text(&out.stdout);
        for word in ["lint", "render", "capacity", "diff", "fail-on"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    exit(&berrys(dir.path(), &["completions", "tcsh"]), 2);
    // File arguments complete file names.
    let zsh = text(&berrys(dir.path(), &["completions", "zsh"]).stdout);
    assert!(zsh.contains("--file=[") && zsh.contains(":_files"), "{zsh}");
    // The bash script loads in a real bash and registers the completion.
    let script = berrys(dir.path(), &["completions", "bash"]).stdout;
    fs::write(dir.path().join("berrys.bash"), script).unwrap();
    let out = Command::new("bash")
        .args(["-c", "source ./berrys.bash && complete -p berrys"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("_berrys"));
    // A closed pipe is not a panic.
    let mut child = common::berrys_in(dir.path())
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn man_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = berrys(dir.path(), &["man"]);
    exit(&out, 0);
    let page = text(&out.stdout);
    assert!(page.contains(".TH berrys 1"), "{page}");
    for command in ["berrys\\-lint", "berrys\\-diff", "berrys\\-completions"] {
        assert!(page.contains(command), "{command}");
    }
    exit(&berrys(dir.path(), &["man", "--dir", "man1"]), 0);
    for page in [
        "berrys.1",
        "berrys-lint.1",
        "berrys-render.1",
        "berrys-diff.1",
    ] {
        assert!(dir.path().join("man1").join(page).is_file(), "{page}");
    }
    // groff, where installed, reads the page without a warning.
    let groff = Command::new("groff")
        .args(["-man", "-ww", "-z", "man1/berrys-lint.1"])
        .current_dir(dir.path())
        .output();
    if let Ok(groff) = groff {
        assert!(
            groff.status.success() && groff.stderr.is_empty(),
            "{}",
            text(&groff.stderr)
        );
    }
}

#[test]
fn init_writes_the_schema_its_first_line_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = berrys(dir.path(), &["init"]);
    exit(&out, 0);
    let starter = fs::read_to_string(dir.path().join("platform.toml")).unwrap();
    let first = starter.lines().next().unwrap();
    let named = first.strip_prefix("#:schema ./").expect("a #:schema line");
    let schema = fs::read_to_string(dir.path().join(named)).unwrap();
    assert_eq!(schema, berrys::validate::SCHEMA_TEXT);
    // In a subdirectory, the schema goes beside the file.
    exit(
        &berrys(dir.path(), &["init", "-f", "team/platform.toml"]),
        0,
    );
    assert!(
        dir.path()
            .join("team/schemas/platform.schema.json")
            .is_file()
    );
    // An older schema is replaced; the platform file never is.
    fs::write(dir.path().join(named), "{}").unwrap();
    fs::remove_file(dir.path().join("platform.toml")).unwrap();
    let out = berrys(dir.path(), &["init"]);
    exit(&out, 0);
    assert!(text(&out.stderr).contains("updated schemas/platform.schema.json"));
    assert_eq!(fs::read_to_string(dir.path().join(named)).unwrap(), schema);
    exit(&berrys(dir.path(), &["init"]), 2);
}

/// taplo, where installed: the starter and the reference pass through their `#:schema`
/// line, and an unknown key is flagged through it.
#[test]
fn taplo_checks_the_platform_through_its_schema_line() {
    if Command::new("taplo").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("BERRYS_REQUIRE_TAPLO").is_none(),
            "taplo is required here (BERRYS_REQUIRE_TAPLO is set)"
        );
        eprintln!("taplo not found: the editor schema is not checked");
        return;
    }
    let taplo = |dir: &Path, file: &str| {
        Command::new("taplo")
            .args(["check", "--no-auto-config", file])
            .current_dir(dir)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    exit(&berrys(dir.path(), &["init"]), 0);
    let starter = taplo(dir.path(), "platform.toml");
    assert!(starter.status.success(), "{}", text(&starter.stderr));
    let reference = taplo(&common::root(), "platform.toml");
    assert!(reference.status.success(), "{}", text(&reference.stderr));

    let mut bad = fs::read_to_string(dir.path().join("platform.toml")).unwrap();
    bad = bad.replacen("[platform]\n", "[platform]\nreplica = 3\n", 1);
    fs::write(dir.path().join("platform.toml"), bad).unwrap();
    // From another directory: the `#:schema` path is the file's, not the current one's.
    let flagged = taplo(
        dir.path().parent().unwrap(),
        &format!("{}/platform.toml", dir.path().display()),
    );
    assert!(!flagged.status.success(), "taplo accepted an unknown key");
    assert!(
        text(&flagged.stderr).contains("replica"),
        "{}",
        text(&flagged.stderr)
    );
}

/// Documents at the edge of the schema: taplo (what editors show) and berrys accept or
/// refuse each alike. A TOML date where a date string is expected and a float with no
/// fraction where an integer is expected are the same value to both.
#[test]
fn taplo_and_berrys_agree_at_the_edges_of_the_schema() {
    let has_taplo = Command::new("taplo").arg("--version").output().is_ok();
    if !has_taplo {
        assert!(
            std::env::var_os("BERRYS_REQUIRE_TAPLO").is_none(),
            "taplo is required here (BERRYS_REQUIRE_TAPLO is set)"
        );
        eprintln!("taplo not found: only berrys is asked");
    }
    let schema = common::root().join("schemas/platform.schema.json");
    let base =
        "[platform]\nname = \"demo\"\n\n[services.api]\nimage = \"api:1.0.0\"\nreplicas = 2\n";
    let cases = [
        ("port = 8080.0\n", true),
        ("port = 8_080.00\n", true),
        ("port = 8080\nslo = { availability = 99.0 }\n", true),
        (
            "port = 8080\n\n[[lint.exempt]]\nrule = \"image-tag-not-pinned\"\nreason = \"r\"\nexpires = 2030-01-01\n",
            true,
        ),
        ("port = 8080.5\n", false),
        (
            "port = 8080\n\n[[lint.exempt]]\nrule = \"image-tag-not-pinned\"\nreason = \"r\"\nexpires = 2030-01-01T00:00:00Z\n",
            false,
        ),
        ("port = \"8080\"\n", false),
    ];
    for (extra, valid) in cases {
        let text = format!("{base}{extra}");
        let source = berrys::source::SourceFile::new("platform.toml", text.clone());
        let by_berrys = berrys::compile(&source, berrys::Envs::All).is_ok();
        assert_eq!(by_berrys, valid, "berrys on:\n{text}");
        if has_taplo {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("platform.toml");
            fs::write(&file, format!("#:schema {}\n{text}", schema.display())).unwrap();
            let out = Command::new("taplo")
                .args(["check", "--no-auto-config", "platform.toml"])
                .current_dir(dir.path())
                .env("RUST_LOG", "error")
                .output()
                .unwrap();
            assert_eq!(
                out.status.success(),
                valid,
                "taplo on:\n{text}\n{}",
                text_of(&out.stderr)
            );
        }
    }
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
