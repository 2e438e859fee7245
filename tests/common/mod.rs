//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use berrys::source::SourceFile;
use berrys::{CompileError, Compiled, Envs, compile};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
            berrys::diagnostic::render_human(&d, source, false)
        ),
        Err(e) => panic!("{e:?}"),
    }
}

/// The human rendering of every diagnostic of a source, as shown to users.
pub fn diagnostics(source: &SourceFile) -> String {
    match compile(source, Envs::All) {
        Ok(_) => String::new(),
        Err(CompileError::Diagnostics(d)) => berrys::diagnostic::render_human(&d, source, false),
        Err(e) => format!("{e:?}"),
    }
}
