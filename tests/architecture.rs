//! The one-way floors of the library (docs/architecture.md): every `crate::` and `super::`
//! path in `src/` is checked against the phase order. A module uses only modules on floors
//! below its own; modules on one floor never use each other; render and emit never use each
//! other, nor do the Prometheus and Grafana renderers. Test code inside the library (its
//! `mod tests` and the renderers' test platforms) may use anything and is not read.

use std::path::{Path, PathBuf};

/// Every unit of the library and its floor. A unit is a top-level module, or a module of
/// `render`, whose renderers are kept apart from one another.
const FLOORS: &[(&str, u32)] = &[
    ("markers", 0),
    ("output", 0),
    ("parallel", 0),
    ("source", 0),
    ("units", 0),
    ("diagnostic", 1),
    ("yaml", 1),
    ("parse", 2),
    ("validate", 2),
    ("model", 3),
    ("graph", 4),
    ("lint", 5),
    ("emit", 6),
    ("render::error", 6),
    ("render::promql", 6),
    ("render::slo", 7),
    ("render::capacity", 7),
    ("render::analysis", 8),
    ("render::grafana", 9),
    ("render::kubernetes", 9),
    ("render::prometheus", 9),
    ("render::stream", 10),
    ("render", 11),
    ("report", 12),
    // The pipeline's functions and types at the crate root (`crate::compile`, …).
    ("crate", 13),
    ("review", 14),
    ("commands", 15),
];

/// Pairs that are never allowed, whatever their floors.
const APART: &[(&str, &str)] = &[
    ("render", "emit"),
    ("emit", "render"),
    ("render::grafana", "render::prometheus"),
    ("render::prometheus", "render::grafana"),
];

/// Files of test code inside the library.
const TEST_FILES: &[&str] = &["tests.rs", "test_platforms.rs"];

#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    from: String,
    to: String,
    why: &'static str,
}

/// The module path of a file under `src/`: `src/render/grafana/mod.rs` → render, grafana.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The unit a module path belongs to.
fn unit_of(path: &[String]) -> String {
    match path {
        [] => "crate".to_string(),
        [top, sub, ..] if top == "render" => {
            let unit = format!("render::{sub}");
            if FLOORS.iter().any(|(u, _)| *u == unit) {
                unit
            } else {
                "render".to_string()
            }
        }
        [top, ..] => {
            if FLOORS.iter().any(|(u, _)| u == top) {
                top.clone()
            } else {
                "crate".to_string()
            }
        }
    }
}

fn floor(unit: &str) -> Option<u32> {
    FLOORS.iter().find(|(u, _)| *u == unit).map(|(_, f)| *f)
}

/// The code of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let test_module = [
        "#[cfg(test)]\nmod tests",
        "#[cfg(test)]\npub(crate) mod tests",
    ]
    .iter()
    .filter_map(|start| text.find(start))
    .min();
    let text = match test_module {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths `code` names through `crate::` or `super::`, each as module path segments
/// (a group `crate::{a::b, c}` gives one path per item).
fn paths_named(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let after_name =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let (start, base) = if after_name && rest.starts_with(b"crate::") {
            (at + "crate::".len(), Vec::new())
        } else if after_name && rest.starts_with(b"super::") {
            // Each `super` is the parent of the module before it.
            let mut base = module.to_vec();
            let mut s = at;
            while bytes[s..].starts_with(b"super::") {
                base.pop();
                s += "super::".len();
            }
            (s, base)
        } else {
            at += 1;
            continue;
        };
        let mut items = Vec::new();
        let end = collect(bytes, start, Vec::new(), &mut items);
        for item in items {
            let mut path = base.clone();
            path.extend(item);
            out.push(path);
        }
        at = end.max(at + 1);
    }
    out
}

/// The paths of a `use` tree starting at `at` (after `crate::` or `super::`), each with
/// `prefix` before it; returns where the tree ends.
fn collect(bytes: &[u8], mut at: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        if bytes.get(at) == Some(&b'{') {
            at += 1;
            loop {
                while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
                    at += 1;
                }
                if at >= bytes.len() || bytes[at] == b'}' {
                    return at + 1;
                }
                let before = at;
                at = collect(bytes, at, path.clone(), out);
                if at == before {
                    at += 1;
                }
                // Past an `as` alias to the next item.
                while at < bytes.len() && !matches!(bytes[at], b',' | b'}') {
                    at += 1;
                }
            }
        }
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if at > start {
            path.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        if at > start && bytes[at..].starts_with(b"::") {
            at += 2;
            continue;
        }
        out.push(path);
        return at;
    }
}

/// Every import of `files` (path under `src/`, text) that runs against the floors.
fn violations(files: &[(PathBuf, String)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (rel, text) in files {
        let name = rel.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.as_deref().is_some_and(|n| TEST_FILES.contains(&n)) || rel == Path::new("main.rs") {
            continue;
        }
        let module = module_path(rel);
        let from = unit_of(&module);
        if from == "crate" {
            // The crate root declares the modules and runs the pipeline through them.
            continue;
        }
        for path in paths_named(&code_of(text), &module) {
            let to = unit_of(&path);
            if to == from {
                continue;
            }
            let file = format!("src/{}", rel.display());
            let apart = APART.iter().any(|(a, b)| {
                (from == *a || from.starts_with(&format!("{a}::")))
                    && (to == *b || to.starts_with(&format!("{b}::")))
            });
            let why = match (floor(&from), floor(&to)) {
                _ if apart => Some("these two are kept apart"),
                (Some(f), Some(t)) if t > f => Some("imports a later floor"),
                (Some(f), Some(t)) if t == f => Some("imports a module of its own floor"),
                (None, _) | (_, None) => Some("is not in the floor table"),
                _ => None,
            };
            if let Some(why) = why {
                out.push(Violation {
                    file,
                    from: from.clone(),
                    to,
                    why,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.file, &a.to).cmp(&(&b.file, &b.to)));
    out.dedup();
    out
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src/").to_path_buf();
            out.push((
                rel,
                std::fs::read_to_string(&path).expect("readable source"),
            ));
        }
    }
}

#[test]
fn every_import_follows_the_floors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 40, "only {} files read", files.len());
    let found = violations(&files);
    let listed: Vec<String> = found
        .iter()
        .map(|v| format!("{}: {} → {} ({})", v.file, v.from, v.to, v.why))
        .collect();
    assert!(
        listed.is_empty(),
        "imports against the floors:\n{}",
        listed.join("\n")
    );
}

#[test]
fn every_unit_of_the_library_has_a_floor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    for (rel, _) in files {
        if rel == Path::new("main.rs") {
            continue;
        }
        let unit = unit_of(&module_path(&rel));
        assert!(
            floor(&unit).is_some(),
            "{} ({unit}) has no floor",
            rel.display()
        );
    }
}

/// The guard catches what it is for: each kind of wrong import, written the ways Rust
/// allows (a plain path, a group, a path through `super`).
#[test]
fn imports_against_the_floors_are_found() {
    let file = |path: &str, text: &str| (PathBuf::from(path), text.to_string());
    let found = violations(&[
        file("model/mod.rs", "use crate::lint::Level;\n"),
        file(
            "emit/mod.rs",
            "use crate::{output::Sink, render::Sink as S};\n",
        ),
        file(
            "render/grafana/mod.rs",
            "use super::prometheus::{PAGE, slos};\n",
        ),
        file(
            "render/grafana/context.rs",
            "fn f() { super::super::prometheus::slos(); }\n",
        ),
        file(
            "diagnostic.rs",
            "pub fn f() -> crate::lint::Level { todo!() }\n",
        ),
        file(
            "parse.rs",
            "use crate::{diagnostic::Diagnostic, validate};\n",
        ),
        file("render/kubernetes.rs", "use crate::Compiled;\n"),
        // Allowed: down a floor, within a unit, in tests, in comments.
        file(
            "render/prometheus/operational.rs",
            "use super::Rule;\nuse crate::render::slo::MINUTE;\n",
        ),
        file(
            "lint/rules/x.rs",
            "// crate::render::x\nuse crate::graph::Compiled;\n#[cfg(test)]\nmod tests { use crate::commands; }\n",
        ),
        file("render/test_platforms.rs", "use crate::compile;\n"),
    ]);
    let pairs: Vec<(&str, &str)> = found
        .iter()
        .map(|v| (v.from.as_str(), v.to.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("diagnostic", "lint"),
            ("emit", "render"),
            ("model", "lint"),
            ("parse", "validate"),
            ("render::grafana", "render::prometheus"),
            ("render::grafana", "render::prometheus"),
            ("render::kubernetes", "crate"),
        ],
        "{found:#?}"
    );
}
