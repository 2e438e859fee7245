//! Diagnostics that stay bounded and true on any input: no panic on long lines, at most
//! [`MAX_PER_PHASE`] per compile phase with a note of the rest, snippets of the labelled
//! lines only, one line per finding with `--format concise`, and `render` blocked by what
//! fails `lint`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use berrys::diagnostic::MAX_PER_PHASE;

fn berrys(dir: &Path, args: &[&str]) -> Output {
    common::berrys_in(dir).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn with_platform(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("platform.toml"), toml).unwrap();
    dir
}

#[test]
fn a_diagnostic_beyond_column_65535_is_reported_without_a_panic() {
    let long = "a".repeat(70_000);
    let dir = with_platform(&format!(
        "[platform]\nname = \"x{long}\"\n[services.a]\nimage = \"a:1\"\nport = 80 # {long} = 1\nbogus = {{ {long} = 1 }}\n"
    ));
    for format in ["human", "concise", "json", "sarif", "github"] {
        let out = berrys(dir.path(), &["lint", "--format", format]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{format}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"), "{format}");
    }
    let out = berrys(dir.path(), &["lint"]);
    let err = text(&out.stderr);
    // The place is named, the line is not quoted, and the message is cut.
    assert!(err.contains("platform.toml:2:8"), "{err}");
    assert!(err.contains("(line not quoted)"), "{err}");
    assert!(err.len() < 20_000, "{} bytes of diagnostics", err.len());
    let render = berrys(dir.path(), &["render"]);
    assert_eq!(render.status.code(), Some(2));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing but platform.toml"
    );
}

/// The diagnostics of a `--format json` run.
fn json_diagnostics(out: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

#[test]
fn a_file_of_junk_reports_the_first_hundred_syntax_errors_and_stops() {
    for junk in ["]\n", "=\n", "a\n", "\"\n"] {
        let dir = with_platform(&junk.repeat(1 << 19));
        let out = berrys(dir.path(), &["lint", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2));
        let diags = json_diagnostics(&out);
        assert_eq!(diags.len(), MAX_PER_PHASE + 1, "{junk:?}");
        let last = &diags[MAX_PER_PHASE];
        assert_eq!(last["code"], "too-many");
        assert!(last["message"].as_str().unwrap().contains("syntax errors"));
        assert!(diags[..MAX_PER_PHASE].iter().all(|d| d["code"] == "syntax"));
        let human = berrys(dir.path(), &["lint"]);
        assert!(text(&human.stderr).contains("100 error(s), 0 warning(s), and more not shown"));
    }
}

#[test]
fn a_file_with_few_syntax_errors_reports_them_all() {
    let dir = with_platform(&"]\n".repeat(MAX_PER_PHASE));
    let out = berrys(dir.path(), &["lint", "--format", "json"]);
    let diags = json_diagnostics(&out);
    assert_eq!(diags.len(), MAX_PER_PHASE);
    assert!(diags.iter().all(|d| d["code"] == "syntax"));
}

#[test]
fn schema_errors_beyond_the_hundredth_are_counted() {
    let mut toml = String::from("[platform]\nname = \"p\"\n");
    for i in 0..250 {
        toml.push_str(&format!(
            "[services.s{i}]\nimage = \"s:1\"\nport = \"eighty\"\n"
        ));
    }
    let dir = with_platform(&toml);
    let out = berrys(dir.path(), &["lint", "--format", "json"]);
    let diags = json_diagnostics(&out);
    assert_eq!(diags.len(), MAX_PER_PHASE + 1);
    assert_eq!(
        diags[MAX_PER_PHASE]["message"],
        "150 more schema error(s) not shown"
    );
}

#[test]
fn snippets_quote_only_the_labelled_lines_with_an_elision_between_distant_ones() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        common::root().join("tests/fixtures/lint/br011-quota-exceeded.fires.toml"),
        dir.path().join("platform.toml"),
    )
    .unwrap();
    let out = berrys(dir.path(), &["lint"]);
    let err = text(&out.stderr);
    let quoted: Vec<&str> = err.lines().filter(|l| l.contains(" │ ")).collect();
    // The quota line and the two services' resource lines, nothing between them.
    assert_eq!(quoted.len(), 3, "{err}");
    assert_eq!(err.matches('⋮').count(), 2, "{err}");
}

#[test]
fn concise_is_one_line_per_finding() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        common::root().join("tests/fixtures/lint/br011-quota-exceeded.fires.toml"),
        dir.path().join("platform.toml"),
    )
    .unwrap();
    let out = berrys(dir.path(), &["lint", "--format", "concise"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stdout), @"platform.toml:4:17: BR011 [error] quota-exceeded: at maximum replicas the services request 2500m cpu, above the namespace quota of 2
");
    let syntax = with_platform("[platform\n");
    let out = berrys(syntax.path(), &["lint", "--format", "concise"]);
    assert_eq!(out.status.code(), Some(2));
    let line = text(&out.stdout);
    assert!(
        line.starts_with("platform.toml:1:10: syntax [error]: invalid TOML"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
}

#[test]
fn render_is_blocked_by_warnings_when_fail_on_is_warning() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fs::read_to_string(
        common::root().join("tests/fixtures/lint/br007-image-tag-not-pinned.fires.toml"),
    )
    .unwrap();
    fs::write(
        dir.path().join("platform.toml"),
        format!("{fixture}\n[lint]\nfail_on = \"warning\"\n"),
    )
    .unwrap();
    let lint = berrys(dir.path(), &["lint"]);
    assert_eq!(lint.status.code(), Some(1));
    for args in [
        &["render", "--out", "out"][..],
        &["render", "--out", "out", "--check"],
    ] {
        let out = berrys(dir.path(), args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("block (`[lint] fail_on = \"warning\"`) rendering"),
            "{}",
            text(&out.stderr)
        );
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn a_broken_file_whose_first_64_kib_have_no_newline_is_reported() {
    // Three-byte characters: 64 KiB falls inside one, and there is no line to cut at.
    for tail in ["", "\n]\n"] {
        let dir = with_platform(&format!("x = \"{}{tail}", "€".repeat(30_000)));
        let out = berrys(dir.path(), &["lint", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let diags = json_diagnostics(&out);
        assert!(!diags.is_empty() && diags.len() <= MAX_PER_PHASE + 1);
        assert!(diags.iter().all(|d| d["code"] == "syntax"));
    }
}

/// Colour puts escape codes around the snippet borders: the elision marker still appears,
/// at the same place as without colour.
#[test]
fn the_elision_marker_survives_colour() {
    let source =
        common::load(&common::root().join("tests/fixtures/lint/br011-quota-exceeded.fires.toml"));
    let linted = berrys::check(&source, berrys::Envs::All, "2026-01-01").unwrap();
    let plain = berrys::report::render_human(&linted.findings, &source, false);
    let coloured = berrys::report::render_human(&linted.findings, &source, true);
    assert!(coloured.contains('\u{1b}'), "no colour was written");
    let strip = |s: &str| {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // CSI: ESC [ parameters final-byte
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    let marker_lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains('⋮'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(marker_lines(&plain).len(), 2, "{plain}");
    assert_eq!(
        marker_lines(&strip(&coloured)),
        marker_lines(&plain),
        "{coloured}"
    );
}
