//! No input makes berrys panic: random bytes, random TOML-ish text, and mutations of the
//! reference platform all end in diagnostics or a compiled model, never a crash.

mod common;

use berrys::source::SourceFile;
use berrys::{Envs, check};
use proptest::prelude::*;

fn run(text: &str) {
    let source = SourceFile::new("platform.toml", text);
    match check(&source, Envs::All, "2026-01-01") {
        Ok(linted) => {
            for c in &linted.compiled {
                berrys::render::render(c).expect("a compiled platform renders");
            }
            // Every output format of the findings, too.
            let _ = berrys::report::render_human(&linted.findings, &source, false);
            let _ = berrys::report::to_sarif(&linted.findings, &source);
            let _ = berrys::report::to_github(&linted.findings, &source);
        }
        Err(berrys::CompileError::Diagnostics(d)) => {
            assert!(!d.is_empty());
            let shown = berrys::report::render_human(&d, &source, false);
            assert!(!shown.is_empty());
            for diag in &d {
                let _ = berrys::report::to_json(diag, &source);
            }
        }
        Err(e) => panic!("{e:?}"),
    }
}

fn reference_text() -> String {
    std::fs::read_to_string(common::root().join("platform.toml")).unwrap()
}

/// Edits that keep the text close to valid, so mutations reach the later phases.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
    DropLine { line: usize },
    SwapValue { line: usize, value: String },
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragments = prop::sample::select(vec![
        "\"",
        "[",
        "]",
        "{",
        "}",
        "=",
        ",",
        "\n",
        "[services.x]\n",
        "0",
        "-1",
        "1e400",
        "\"a\"",
        "true",
        "99999999999999999999",
        "\u{0}",
        "é",
        "\"\\u0000\"",
        "[[lint.exempt]]\n",
        "depends_on = [\"api-gateway\"]\n",
        "scaling = \"edge\"\n",
        "replicas = 0\n",
        "2024-01-01",
        "inf",
        "nan",
        "\"0s\"",
        "\"1h\"",
    ]);
    let values = prop::sample::select(vec![
        "0",
        "-5",
        "4294967296",
        "1.5",
        "\"\"",
        "\"x\"",
        "[]",
        "{}",
        "true",
        "\"edge\"",
        "\"api-gateway\"",
        "\"99999999999d\"",
        "\"0.0001ms\"",
        "[\"tool-integration\"]",
        "{ tier = \"core\", min_replicas = 50 }",
        "\"Bad Name\"",
        "1979-05-27T07:32:00Z",
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), fragments).prop_map(|(at, t)| Edit::Insert {
            at,
            text: t.to_string()
        }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
        any::<usize>().prop_map(|line| Edit::DropLine { line }),
        (any::<usize>(), values).prop_map(|(line, v)| Edit::SwapValue {
            line,
            value: v.to_string()
        }),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let boundary = |at: usize| {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let lines: Vec<&str> = text.lines().collect();
    match edit {
        Edit::Delete { at, len } => {
            let start = boundary(*at);
            let end = boundary(start + len).max(start);
            format!("{}{}", &text[..start], &text[end..])
        }
        Edit::Insert { at, text: t } => {
            let at = boundary(*at);
            format!("{}{t}{}", &text[..at], &text[at..])
        }
        Edit::DuplicateLine { line } => {
            let i = line % lines.len();
            let mut out = lines.clone();
            out.insert(i, lines[i]);
            out.join("\n")
        }
        Edit::DropLine { line } => {
            let i = line % lines.len();
            let mut out = lines.clone();
            out.remove(i);
            out.join("\n")
        }
        Edit::SwapValue { line, value } => {
            let i = line % lines.len();
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if let Some((key, _)) = lines[i].split_once(" = ") {
                out[i] = format!("{key} = {value}");
            }
            out.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_reference_never_panics(edits in prop::collection::vec(edit(), 1..6)) {
        let mut text = reference_text();
        for e in &edits {
            text = apply(&text, e);
        }
        run(&text);
    }

    /// The delivery profiles and their overrides, mutated: a release strategy cut short, a
    /// step out of range or order, a key moved to the wrong strategy.
    #[test]
    fn mutated_progressive_delivery_never_panics(edits in prop::collection::vec(edit(), 1..6)) {
        let mut text = std::fs::read_to_string(
            common::root().join("tests/fixtures/valid/progressive-delivery.toml"),
        )
        .unwrap();
        for e in &edits {
            text = apply(&text, e);
        }
        run(&text);
    }

    /// `[alerting]` mutated: a receiver without a channel, a route to nothing, a team cut
    /// off, a service's team misspelt, a duplicated receiver.
    #[test]
    fn mutated_alerting_never_panics(edits in prop::collection::vec(edit(), 1..6)) {
        let mut text = std::fs::read_to_string(
            common::root().join("tests/fixtures/valid/alerting.toml"),
        )
        .unwrap();
        for e in &edits {
            text = apply(&text, e);
        }
        run(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        run(&text);
    }

    #[test]
    fn toml_shaped_text_never_panics(
        text in "(\\[[a-z_.]{1,20}\\]\n|[a-z_]{1,12} = (\"[a-z0-9:./-]{0,12}\"|[0-9]{1,5}|true|\\[\\]|\\{\\})\n){0,30}"
    ) {
        run(&text);
    }
}
