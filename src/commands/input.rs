//! Where the platform is read from: a named file, standard input (`-f -`), or the nearest
//! `platform.toml` in the current directory or a parent, as cargo finds `Cargo.toml`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::source::{self, ReadError, SourceFile};

/// The file name looked for when no `-f` is given.
pub const DEFAULT_FILE: &str = "platform.toml";

/// The platform's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformFile {
    /// `-f -`: diagnostics name it `<stdin>`.
    Stdin,
    Path(PathBuf),
}

impl PlatformFile {
    /// `-f ARG`: `-` is standard input.
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") {
            PlatformFile::Stdin
        } else {
            PlatformFile::Path(arg.to_path_buf())
        }
    }

    /// The directory relative output paths start from: the file's own, so a platform found
    /// in a parent renders beside itself; the current directory for standard input.
    pub fn dir(&self) -> &Path {
        match self {
            PlatformFile::Path(p) => p.parent().unwrap_or(Path::new("")),
            PlatformFile::Stdin => Path::new(""),
        }
    }

    /// The path, for a file; `None` for standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PlatformFile::Path(p) => Some(p),
            PlatformFile::Stdin => None,
        }
    }

    /// How a command line names it again (`-f` is left out for the default file).
    pub fn as_arg(&self) -> Option<String> {
        match self {
            PlatformFile::Stdin => Some("-".to_string()),
            PlatformFile::Path(p) if p == Path::new(DEFAULT_FILE) => None,
            PlatformFile::Path(p) => Some(p.display().to_string()),
        }
    }

    pub fn read(&self) -> Result<SourceFile, ReadError> {
        match self {
            PlatformFile::Path(p) => source::read(p),
            PlatformFile::Stdin => source::read_stdin(),
        }
    }
}

/// The platform file a command uses: `-f` as given, else `platform.toml` in `cwd` or the
/// nearest parent that has one, as a path relative to `cwd` (`../platform.toml`), so
/// diagnostics name a path the user can open. A file found in a parent is named on `err`
/// unless `quiet`. `Err` is the exit code (2), with the reason written.
pub fn locate(
    arg: Option<&Path>,
    cwd: &Path,
    quiet: bool,
    err: &mut dyn Write,
) -> Result<PlatformFile, i32> {
    if let Some(arg) = arg {
        return Ok(PlatformFile::from_arg(arg));
    }
    let mut relative = PathBuf::new();
    for dir in cwd.ancestors() {
        if dir.join(DEFAULT_FILE).is_file() {
            let path = relative.join(DEFAULT_FILE);
            if dir != cwd && !quiet {
                let _ = writeln!(
                    err,
                    "using {} ({})",
                    path.display(),
                    dir.join(DEFAULT_FILE).display()
                );
            }
            return Ok(PlatformFile::Path(path));
        }
        relative.push("..");
    }
    let _ = writeln!(
        err,
        "error: no {DEFAULT_FILE} in the current directory or any parent; create one with `berrys init`, or name the file with -f FILE (-f - reads standard input)"
    );
    Err(super::EXIT_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_parent_is_found_and_named_relative_to_the_current_directory() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.path().join(DEFAULT_FILE), "").unwrap();
        let mut err = Vec::new();
        let found = locate(None, &deep, false, &mut err).unwrap();
        assert_eq!(
            found,
            PlatformFile::Path(PathBuf::from("../../platform.toml"))
        );
        assert_eq!(found.dir(), Path::new("../.."));
        assert!(
            String::from_utf8(err)
                .unwrap()
                .starts_with("using ../../platform.toml (")
        );

        std::fs::write(deep.join(DEFAULT_FILE), "").unwrap();
        let mut err = Vec::new();
        let found = locate(None, &deep, false, &mut err).unwrap();
        assert_eq!(found, PlatformFile::Path(PathBuf::from(DEFAULT_FILE)));
        assert!(
            err.is_empty(),
            "the current directory's file is not announced"
        );
    }

    #[test]
    fn a_directory_named_platform_toml_is_not_a_platform() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(DEFAULT_FILE)).unwrap();
        let mut err = Vec::new();
        // The temporary directory's parents have no platform.toml either.
        if locate(None, root.path(), true, &mut err).is_ok() {
            return;
        }
        assert!(String::from_utf8(err).unwrap().contains("berrys init"));
    }

    #[test]
    fn dash_is_standard_input() {
        assert_eq!(PlatformFile::from_arg(Path::new("-")), PlatformFile::Stdin);
        assert_eq!(PlatformFile::Stdin.as_arg().as_deref(), Some("-"));
        assert_eq!(
            PlatformFile::from_arg(Path::new(DEFAULT_FILE)).as_arg(),
            None
        );
    }
}
