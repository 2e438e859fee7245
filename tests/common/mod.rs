//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use berrys::source::SourceFile;
use berrys::{CompileError, Compiled, Envs, compile};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `berrys` binary, run in `dir` without colour.
pub fn berrys_in(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(insta_cmd::get_cargo_bin("berrys"));
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// A scratch directory holding a copy of the reference platform.
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("platform.toml"),
        dir.path().join("platform.toml"),
    )
    .unwrap();
    dir
}

pub fn reference() -> SourceFile {
    load(&root().join("platform.toml"))
}

pub fn load(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    SourceFile::new(name, text)
}

pub fn compile_env(source: &SourceFile, env: Option<&str>) -> Compiled {
    match compile(source, Envs::One(env)) {
        Ok(mut c) => c.remove(0),
        Err(CompileError::Diagnostics(d)) => panic!(
            "{} does not compile:\n{}",
            source.name,
            berrys::report::render_human(&d, source, false)
        ),
        Err(e) => panic!("{e:?}"),
    }
}

/// The human rendering of every diagnostic of a source, as shown to users.
pub fn diagnostics(source: &SourceFile) -> String {
    match compile(source, Envs::All) {
        Ok(_) => String::new(),
        Err(CompileError::Diagnostics(d)) => berrys::report::render_human(&d, source, false),
        Err(e) => format!("{e:?}"),
    }
}

/// The reference platform with every SLO over 28 days instead of the default 30: the
/// burn-rate factors are then repeating decimals (13.44, 5.6, 2.8, 0.9333…).
pub fn reference_28d() -> SourceFile {
    let reference = reference();
    let slos = reference.text.matches("\nslo = { ").count();
    assert!(slos >= 5, "the reference has SLOs to vary");
    let text = reference
        .text
        .replace("\nslo = { ", "\nslo = { window = \"28d\", ");
    SourceFile::new("platform-28d.toml".to_string(), text)
}

/// Every platform the observability tests cover: the reference, its 28-day variant and the
/// valid fixtures, each in every environment.
pub fn all_compiled() -> Vec<(String, Compiled)> {
    let mut sources = vec![reference(), reference_28d()];
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    sources.extend(fixtures.iter().map(|p| load(p)));
    let mut out = Vec::new();
    for source in sources {
        let all = compile(&source, Envs::All)
            .unwrap_or_else(|e| panic!("{} does not compile: {e:?}", source.name));
        for c in all {
            out.push((format!("{} --env {}", source.name, c.platform.env), c));
        }
    }
    out
}

/// The base environment of a generated platform (the text of `synthetic::platform`).
pub fn generated_base(text: String) -> Compiled {
    let source = SourceFile::new("generated.toml".to_string(), text);
    compile(&source, Envs::One(None))
        .expect("generated platform compiles")
        .remove(0)
}

/// [`all_compiled`] and every environment of a generated platform, named
/// `generated --env <env>`.
pub fn all_compiled_and_generated(text: String) -> Vec<(String, Compiled)> {
    let mut out = all_compiled();
    let generated = SourceFile::new("generated.toml".to_string(), text);
    for c in compile(&generated, Envs::All).expect("generated platform compiles") {
        out.push((format!("generated --env {}", c.platform.env), c));
    }
    out
}
