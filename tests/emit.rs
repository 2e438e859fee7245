//! YAML emission: strings a YAML 1.1 reader (Kubernetes' decoder) would turn into another
//! type or value come out quoted, and read back as the same strings.

use std::collections::BTreeMap;
use std::path::Path;

use berrys::render::{kubernetes, prometheus};
use berrys::yaml::to_string as to_yaml;

mod common;
#[path = "../benches/support/synthetic.rs"]
mod synthetic;

/// Every spelling YAML 1.1 resolves to a bool, null, int, float, timestamp or sexagesimal.
const LOOKALIKES: &[&str] = &[
    "on",
    "off",
    "On",
    "OFF",
    "yes",
    "no",
    "Yes",
    "NO",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "false",
    "True",
    "~",
    "null",
    "Null",
    "",
    "0777",
    "0o17",
    "0x1F",
    "1_000",
    "1e3",
    "1E3",
    "-1.5",
    ".inf",
    "-.Inf",
    ".nan",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "12:30",
    "1:20:30",
    "+12",
    "0b101",
    "=",
    "<<",
    "- item",
    "a: b",
    "#comment",
    "*alias",
    "&anchor",
    "!tag",
    "%dir",
    "@at",
    "`tick",
    "| block",
    "> fold",
    "'single'",
    "\"double\"",
    " leading",
    "trailing ",
];

/// Reads a scalar written by the emitter back as a string, following YAML's quoting rules.
fn unquote(scalar: &str) -> Option<String> {
    if let Some(inner) = scalar.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    if scalar.starts_with('"') {
        return serde_json::from_str::<String>(scalar).ok();
    }
    None
}

#[test]
fn yaml_1_1_lookalikes_are_quoted_and_round_trip() {
    let data: BTreeMap<String, String> = LOOKALIKES
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("k{i:02}"), v.to_string()))
        .collect();
    let yaml = to_yaml(&data).unwrap();
    for (i, expected) in LOOKALIKES.iter().enumerate() {
        let key = format!("k{i:02}: ");
        let line = yaml
            .lines()
            .find(|l| l.starts_with(&key))
            .unwrap_or_else(|| panic!("no line for {expected:?} in\n{yaml}"));
        let scalar = &line[key.len()..];
        assert_eq!(
            unquote(scalar).as_deref(),
            Some(*expected),
            "{expected:?} was written as {scalar}"
        );
    }
}

/// Plain words stay plain: quoting is only where it changes meaning.
#[test]
fn ordinary_strings_are_not_quoted() {
    let data = BTreeMap::from([
        ("a", "berrys-agents"),
        ("b", "500m"),
        ("c", "RuntimeDefault"),
    ]);
    assert_eq!(
        to_yaml(&data).unwrap(),
        "a: berrys-agents\nb: 500m\nc: RuntimeDefault\n"
    );
}

/// The reference platform's rendered manifests never contain an unquoted look-alike value.
#[test]
fn rendered_values_from_platform_toml_are_quoted() {
    let text = r#"
[platform]
name = "demo"
labels = { flag = "on", code = "0777" }
annotations = { "example.com/date" = "2024-01-01" }

[services.api]
image = "api:1"
port = 8080
env = { A = "no", B = "1e3", C = "12:30", D = "~", E = "y", F = "1_000" }
"#;
    let source = berrys::source::SourceFile::new("platform.toml", text);
    let compiled = berrys::compile(&source, berrys::Envs::One(None)).unwrap();
    let files = berrys::render::render(&compiled[0]).unwrap();
    let api = files
        .iter()
        .find(|f| f.path == "kubernetes/api.yaml")
        .unwrap();
    for needle in [
        "flag: \"on\"",
        "code: \"0777\"",
        "example.com/date: \"2024-01-01\"",
        "A: \"no\"",
        "B: \"1e3\"",
        "C: \"12:30\"",
        "D: \"~\"",
        "E: \"y\"",
        "F: \"1_000\"",
    ] {
        assert!(api.contents.contains(needle), "missing {needle}");
    }
}

/// Many files in many directories, written from several threads at once: every directory
/// exists before any thread writes into it.
#[test]
fn concurrent_writes_into_new_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let files: Vec<berrys::output::OutputFile> = (0..400)
        .map(|i| {
            berrys::output::OutputFile::new(
                &format!("d{}/e{}/f{i}.txt", i % 7, i % 3),
                format!("{i}\n"),
            )
        })
        .collect();
    let count = berrys::emit::write_with(&out, |sink| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(50)
                .map(|part| scope.spawn(move || part.iter().try_for_each(|f| sink(f.clone()))))
                .collect();
            handles.into_iter().try_for_each(|h| h.join().unwrap())
        })
    })
    .unwrap();
    assert_eq!(count.files, 401);
    for f in &files {
        assert_eq!(
            std::fs::read_to_string(out.join(&f.path)).unwrap(),
            f.contents
        );
    }
}

/// Files made of shared pieces (the two rule files) are written piece by piece, each line
/// indented, empty lines left empty; what lands on disk is what `joined` holds in memory.
#[test]
fn pieces_are_written_indented_and_equal_their_joined_form() {
    use berrys::output::OutputFile;
    use std::sync::Arc;
    let pieces = Arc::new(vec![
        "- name: a\n  expr: |\n    x\n\n    y\n".to_string(),
        "- name: b\n".to_string(),
    ]);
    let plain =
        OutputFile::new("plain.yaml", "groups:\n".to_string()).followed_by(Arc::clone(&pieces), 0);
    let indented = OutputFile::new("indented.yaml", "spec:\n".to_string()).followed_by(pieces, 2);
    assert_eq!(
        plain.clone().joined().contents,
        "groups:\n- name: a\n  expr: |\n    x\n\n    y\n- name: b\n"
    );
    assert_eq!(
        indented.clone().joined().contents,
        "spec:\n  - name: a\n    expr: |\n      x\n\n      y\n  - name: b\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    berrys::emit::write_with(&out, |sink| {
        sink(plain.clone())?;
        sink(indented.clone())
    })
    .unwrap();
    for f in [plain, indented] {
        let path = out.join(&f.path);
        assert_eq!(std::fs::read_to_string(path).unwrap(), f.joined().contents);
    }
}

/// A platform large enough that the rule files are written in several batches, from two
/// threads taking services in turn: what lands on disk is what the in-memory render holds,
/// and both rule files carry every service's groups in service order.
#[test]
fn streamed_rule_files_on_disk_equal_the_in_memory_render() {
    let compiled = common::generated_base(synthetic::platform(400, 3));
    let files = berrys::render::render(&compiled).unwrap();
    let rules = files
        .iter()
        .find(|f| f.path == "prometheus/rules.yaml")
        .unwrap();
    assert!(rules.contents.len() > 3 << 20, "expected several batches");
    let names: Vec<&str> = rules
        .contents
        .lines()
        .filter_map(|l| l.strip_prefix("- name: berrys-"))
        .filter_map(|l| l.strip_suffix("-operational"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names.len(), 400);
    assert_eq!(names, sorted, "groups in service order");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    berrys::emit::write_with(&out, |sink| berrys::render::render_to(&compiled, sink)).unwrap();
    let report = berrys::emit::check(&out, &files);
    assert!(report.is_clean(), "{report:?}");
}

/// Appending is only for files the same run started: a file carried over from a previous
/// render (possibly a hard link to the user's own file) is never written through.
#[test]
fn appending_to_a_file_not_started_in_this_run_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine\n").unwrap();
    let result = berrys::emit::write_with(&out, |sink| {
        sink(berrys::output::OutputFile::new("notes.txt", "more\n".to_string()).appended())
    });
    assert!(result.is_err());
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine\n"
    );
}

/// A render over its previous output links the files whose bytes did not change into the
/// new output (same inode, same modification time) and writes the others afresh, never
/// through the old file: a hard link the user made to an old file keeps the old bytes.
#[cfg(unix)]
#[test]
fn unchanged_files_are_kept_changed_files_are_new() {
    use berrys::emit::write_with;
    use berrys::output::OutputFile;
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let render = |files: &[(&str, &str)]| {
        write_with(&out, |sink| {
            files
                .iter()
                .try_for_each(|(path, text)| sink(OutputFile::new(path, text.to_string())))
        })
    };
    render(&[
        ("a/same.txt", "same\n"),
        ("b.txt", "old\n"),
        ("c.txt", "x\n"),
    ])
    .unwrap();
    let inode = |p: &str| std::fs::metadata(out.join(p)).unwrap().ino();
    let (same, b, c) = (inode("a/same.txt"), inode("b.txt"), inode("c.txt"));
    let snapshot = dir.path().join("b-snapshot.txt");
    std::fs::hard_link(out.join("b.txt"), &snapshot).unwrap();

    // Changed size, changed bytes of the same size, unchanged.
    render(&[
        ("a/same.txt", "same\n"),
        ("b.txt", "new text\n"),
        ("c.txt", "y\n"),
    ])
    .unwrap();
    assert_eq!(inode("a/same.txt"), same);
    assert_ne!(inode("b.txt"), b);
    assert_ne!(inode("c.txt"), c);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(read(&out.join("a/same.txt")), "same\n");
    assert_eq!(read(&out.join("b.txt")), "new text\n");
    assert_eq!(read(&out.join("c.txt")), "y\n");
    assert_eq!(read(&snapshot), "old\n");

    // A failed render after an unchanged file was linked leaves the output as it was.
    let failed = write_with(&out, |sink| {
        sink(OutputFile::new("a/same.txt", "same\n".to_string()))?;
        Err(berrys::emit::EmitError::NotADirectory(
            "fails midway".into(),
        ))
    });
    assert!(failed.is_err());
    assert_eq!(inode("a/same.txt"), same);
    assert_eq!(read(&out.join("b.txt")), "new text\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("berrys-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A file written as contents and pieces (the promtool tests are, three groups of
/// megabytes) is compared piece by piece with the previous output's: kept when its bytes
/// are unchanged, written afresh when any byte differs, wherever it is (in the contents, in
/// a piece, across the 64 KiB reads, in the indentation).
#[cfg(unix)]
#[test]
fn files_written_in_pieces_are_kept_when_their_bytes_are_unchanged() {
    use berrys::emit::write_with;
    use berrys::output::OutputFile;
    use std::os::unix::fs::MetadataExt;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let big: String = (0..9000).map(|i| format!("- item {i}\n")).collect();
    assert!(big.len() > 1 << 16);
    let pieces = |last: &str| Arc::new(vec![big.clone(), "x: 1\n".to_string(), last.to_string()]);
    let render = |head: &str, last: &str, indent: usize| {
        write_with(&out, |sink| {
            sink(OutputFile::new("t.yaml", head.to_string()).followed_by(pieces(last), indent))
        })
        .unwrap();
        std::fs::metadata(out.join("t.yaml")).unwrap().ino()
    };
    let first = render("head:\n", "end\n", 0);
    let expected = format!("head:\n{big}x: 1\nend\n");
    assert_eq!(
        std::fs::read_to_string(out.join("t.yaml")).unwrap(),
        expected
    );
    assert_eq!(render("head:\n", "end\n", 0), first, "unchanged: kept");
    let changed = [
        render("hoad:\n", "end\n", 0),
        render("hoad:\n", "eod\n", 0),
        render("hoad:\n", "eod\n", 2),
        render("hoad:\n", "eod\n\n", 2),
    ];
    for (i, inode) in changed.iter().enumerate() {
        let before = if i == 0 { first } else { changed[i - 1] };
        assert_ne!(*inode, before, "change {i} written afresh");
    }
    let indented = std::fs::read_to_string(out.join("t.yaml")).unwrap();
    assert!(
        indented.starts_with("hoad:\n  - item 0\n"),
        "{}",
        &indented[..40]
    );
    assert!(indented.ends_with("  x: 1\n  eod\n\n"));
    assert_eq!(
        render("hoad:\n", "eod\n\n", 2),
        changed[3],
        "unchanged: kept"
    );
}

/// A file linked from the previous output because it started with the same bytes, then
/// appended to (the rule files are written this way), is copied first: the previous
/// output's file, and every other link to it, keeps its bytes.
#[cfg(unix)]
#[test]
fn a_kept_file_that_is_appended_to_gets_a_copy_of_its_own() {
    use berrys::emit::write_with;
    use berrys::output::OutputFile;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    write_with(&out, |sink| {
        sink(OutputFile::new("r.yaml", "head\n".to_string()))
    })
    .unwrap();
    let snapshot = dir.path().join("r-snapshot.yaml");
    std::fs::hard_link(out.join("r.yaml"), &snapshot).unwrap();
    write_with(&out, |sink| {
        sink(OutputFile::new("r.yaml", "head\n".to_string()))?;
        sink(OutputFile::new("r.yaml", "more\n".to_string()).appended())?;
        sink(OutputFile::new("r.yaml", "end\n".to_string()).appended())
    })
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("r.yaml")).unwrap(),
        "head\nmore\nend\n"
    );
    assert_eq!(std::fs::read_to_string(&snapshot).unwrap(), "head\n");
}

/// Only a regular file is kept: a symbolic link in the place of a file berrys wrote, even
/// to the same bytes, is replaced by a file, and its target is left alone.
#[cfg(unix)]
#[test]
fn a_symbolic_link_in_place_of_an_unchanged_file_is_replaced() {
    use berrys::emit::write_with;
    use berrys::output::OutputFile;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let render = || {
        write_with(&out, |sink| {
            sink(OutputFile::new("a.txt", "same\n".to_string()))
        })
    };
    render().unwrap();
    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "same\n").unwrap();
    std::fs::remove_file(out.join("a.txt")).unwrap();
    std::os::unix::fs::symlink(&target, out.join("a.txt")).unwrap();
    render().unwrap();
    let meta = std::fs::symlink_metadata(out.join("a.txt")).unwrap();
    assert!(meta.is_file(), "{meta:?}");
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).unwrap(),
        "same\n"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "same\n");
}

/// Rendering a platform twice into one directory: the second output holds the same bytes,
/// and its per-service files are the first render's files (the same inodes).
#[cfg(unix)]
#[test]
fn a_second_render_of_the_same_platform_keeps_the_per_service_files() {
    use std::os::unix::fs::MetadataExt;
    let compiled = common::generated_base(synthetic::platform(40, 5));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let render = || {
        berrys::emit::write_with(&out, |sink| berrys::render::render_to(&compiled, sink)).unwrap()
    };
    render();
    let inodes = |sub: &str| -> Vec<(std::ffi::OsString, u64)> {
        let mut v: Vec<_> = std::fs::read_dir(out.join(sub))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), e.metadata().unwrap().ino())
            })
            .collect();
        v.sort();
        v
    };
    let before = (inodes("kubernetes"), inodes("grafana/services"));
    assert_eq!(before.0.len(), 41);
    render();
    assert_eq!((inodes("kubernetes"), inodes("grafana/services")), before);
    let files = berrys::render::render(&compiled).unwrap();
    let report = berrys::emit::check(&out, &files);
    assert!(report.is_clean(), "{report:?}");
}

/// Per-service documents are laid out once per shape (`yaml::recurring`): every manifest
/// and rule fragment of every platform we have, and of a generated one with many shapes,
/// must be the bytes serde-saphyr writes for it directly; and the rules as the render makes
/// them, from their kinds' patterns, must be the groups built and serialised directly.
#[test]
fn recurring_documents_equal_their_direct_serialisation() {
    let platforms = common::all_compiled_and_generated(synthetic::platform(300, 7));
    let mut compared = 0;
    for (name, c) in &platforms {
        let rules = prometheus::RuleRenderer::new(c).unwrap();
        for service in c.platform.services.values() {
            let svc = service.name.get_ref();
            for object in kubernetes::service_objects(c, service) {
                let fast = berrys::yaml::recurring(&object).unwrap();
                assert_eq!(
                    fast,
                    to_yaml(&object).unwrap(),
                    "{name}: manifests of {svc}"
                );
            }
            let groups = rules.service_groups(service).unwrap();
            let fast = prometheus::fragment(&groups).unwrap();
            let slow = Some(to_yaml(&groups).unwrap());
            assert_eq!(fast, slow, "{name}: rule groups of {svc}");
            // As the render makes them: groups from their kind's pattern.
            let made = rules.service_rules(service).unwrap();
            assert_eq!(Some(made.fragment), slow, "{name}: rules of {svc}");
            let pages: Vec<_> = groups
                .iter()
                .flat_map(|g| &g.rules)
                .filter(|r| {
                    let name = r.alert.as_deref();
                    name == Some(prometheus::PAGE_ALERT)
                        || name == Some(prometheus::operational::SERVICE_DOWN)
                })
                .cloned()
                .collect();
            assert_eq!(made.page_alerts, pages, "{name}: page alerts of {svc}");
            compared += 1;
        }
    }
    assert!(compared > 900, "only {compared} services compared");
}
