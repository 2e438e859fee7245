//! Phase 7: bytes on disk.
//!
//! Emit writes the [`OutputFile`]s a producer hands to its [`Sink`], and knows nothing of
//! what they hold or who makes them. The output directory is resolved to its real place,
//! staged next to it and swapped in only when complete ([`place`]), so a failed run leaves
//! the previous output untouched. The `.berrys-manifest` lists what berrys wrote; the next
//! render replaces exactly those files (keeping, by a hard link, those whose bytes did not
//! change: [`compare`]), carries every other file over, and refuses to write where one of
//! those stands.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::output::{OutputFile, Sink, WriteError};

mod compare;
mod place;

use place::Place;

pub const MANIFEST: &str = ".berrys-manifest";
const MANIFEST_HEADER: &str = "# Files written by berrys. The next `berrys render` replaces exactly these;\n# other files in this directory are left alone.\n";

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("{path} cannot be the output directory: it {why}")]
    Unusable { path: PathBuf, why: String },
    #[error(
        "{dir} holds {n} path(s) berrys did not write where it would write:{list}\n  help: move them out of the output directory (or delete them) and render again; berrys replaces only the files its .berrys-manifest lists",
        n = conflicts.len(),
        list = conflicts_text(conflicts)
    )]
    Conflicts {
        dir: PathBuf,
        conflicts: Vec<Conflict>,
    },
    /// The swap failed half-way and the previous output could not be put back.
    #[error("cannot move the new output into {dir} ({source}); the previous output is in {old}")]
    Misplaced {
        dir: PathBuf,
        old: PathBuf,
        source: io::Error,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The producer of the files failed (its own error, or a file it could not write).
    #[error(transparent)]
    Produce(Box<dyn std::error::Error + Send + Sync>),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> EmitError + 'a {
    move |source| EmitError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The manifest for a set of files (listing itself too).
pub fn manifest(files: &[OutputFile]) -> OutputFile {
    manifest_of(files.iter().map(|f| f.path.as_str()))
}

fn manifest_of<'a>(paths: impl Iterator<Item = &'a str>) -> OutputFile {
    let mut paths: BTreeSet<&str> = paths.collect();
    paths.insert(MANIFEST);
    let mut contents = MANIFEST_HEADER.to_string();
    for p in paths {
        contents.push_str(p);
        contents.push('\n');
    }
    OutputFile::new(MANIFEST, contents)
}

/// Paths listed in an existing directory's manifest (empty when there is none).
fn previous_manifest(dir: &Path) -> BTreeSet<String> {
    fs::read_to_string(dir.join(MANIFEST))
        .map(|text| {
            text.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                // Never follow a manifest entry outside the directory.
                .filter(|l| {
                    !l.split('/').any(|c| c.is_empty() || c == ".." || c == ".")
                        && !l.starts_with('/')
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the files `produce` hands to its sink (plus the manifest) as the new contents of
/// `dir`, atomically with respect to failures: everything is staged in a sibling directory
/// first, and `dir` is only replaced once the stage is complete. Files in `dir` that the
/// previous manifest does not list are carried over untouched; a file berrys would write
/// where such a file (or a symbolic link, or a directory) is refuses the whole render. Each
/// file goes to disk as soon as the sink receives it (from any thread), so the output never
/// has to be held in memory at once.
pub fn write_with<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    dir: &Path,
    produce: impl FnOnce(&Sink<'_>) -> Result<(), E>,
) -> Result<Written, EmitError> {
    Stage::prepare(dir)?.write(produce)
}

/// Writes one file whole (a lint report): to a temporary file beside it, then renamed over
/// it, so a reader never sees half a report and a failed write leaves the old one.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// What a render left in the output directory.
#[derive(Debug)]
pub struct Written {
    /// Files written, the manifest included.
    pub files: usize,
    /// The directory written: `--out` resolved.
    pub dir: PathBuf,
    /// Things the user should know that did not stop the render (leftovers of interrupted
    /// runs, a previous output that could not be removed).
    pub notes: Vec<String>,
}

/// A path of the previous output that berrys did not write, standing where it would write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    /// Relative to the output directory.
    pub path: String,
    pub kind: ConflictKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConflictKind {
    /// A file of the user's where berrys writes one.
    File,
    /// A symbolic link where berrys writes a file or a directory of files: writing there
    /// would write outside the output.
    Link,
    /// A file where berrys needs a directory.
    FileForDirectory,
    /// A directory of the user's files where berrys writes a file.
    Directory,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            ConflictKind::File => "a file berrys did not write is where it writes one",
            ConflictKind::Link => {
                "a symbolic link is where berrys writes; it never writes through one"
            }
            ConflictKind::FileForDirectory => "a file is where berrys writes a directory",
            ConflictKind::Directory => "a directory is where berrys writes a file",
        };
        write!(f, "{}: {what}", self.path)
    }
}

fn conflicts_text(conflicts: &[Conflict]) -> String {
    let mut s = String::new();
    for c in conflicts {
        s.push_str("\n  ");
        s.push_str(&c.to_string());
    }
    s
}

/// A staging directory next to an output directory, holding (hard links to) the files of
/// the previous output that berrys did not write: the first half of [`write_with`], which
/// can run while the platform is still being read and linted.
#[derive(Debug)]
pub struct Stage {
    place: Place,
    stage: PathBuf,
    /// What the previous output held that berrys did not write.
    carried: Carried,
    /// The files the previous render wrote (its manifest).
    previous: BTreeSet<String>,
    /// Files of the previous output linked into the stage because they were unchanged.
    linked: Mutex<BTreeSet<String>>,
    /// Directories made in the stage.
    made_dirs: Mutex<BTreeSet<PathBuf>>,
    /// Paths refused, with what stands there.
    conflicts: Mutex<BTreeSet<Conflict>>,
    notes: Vec<String>,
}

/// The previous output's entries that berrys did not write, by path relative to it.
#[derive(Debug, Default)]
struct Carried {
    /// Files and symbolic links.
    files: BTreeSet<String>,
    links: BTreeSet<String>,
    /// Directories that still hold something after berrys' own files are taken out.
    dirs: BTreeSet<String>,
    /// Every real directory of the previous output ("" for the top): only through these are
    /// previous files read.
    real_dirs: BTreeSet<String>,
}

impl Carried {
    /// What stands where berrys would write `path`.
    fn conflict(&self, path: &str) -> Option<Conflict> {
        if self.files.is_empty() && self.dirs.is_empty() {
            return None;
        }
        let found = |at: &str, kind| {
            Some(Conflict {
                path: at.to_string(),
                kind,
            })
        };
        for (i, _) in path.match_indices('/') {
            let dir = &path[..i];
            if self.links.contains(dir) {
                return found(dir, ConflictKind::Link);
            }
            if self.files.contains(dir) {
                return found(dir, ConflictKind::FileForDirectory);
            }
        }
        if self.links.contains(path) {
            found(path, ConflictKind::Link)
        } else if self.files.contains(path) {
            found(path, ConflictKind::File)
        } else if self.dirs.contains(path) {
            found(path, ConflictKind::Directory)
        } else {
            None
        }
    }
}

impl Stage {
    pub fn prepare(dir: &Path) -> Result<Stage, EmitError> {
        let place = Place::resolve(dir)?;
        let notes = place.clear_stale();
        let mut stage = Stage {
            stage: place.stage(),
            place,
            carried: Carried::default(),
            previous: BTreeSet::new(),
            linked: Mutex::default(),
            made_dirs: Mutex::default(),
            conflicts: Mutex::default(),
            notes,
        };
        match stage.make() {
            Ok(()) => Ok(stage),
            Err(e) => {
                stage.discard();
                Err(e)
            }
        }
    }

    /// A fresh stage directory holding the previous output's files that berrys did not write.
    fn make(&mut self) -> Result<(), EmitError> {
        if fs::symlink_metadata(&self.stage).is_ok() {
            place::remove_tree(&self.stage).map_err(io_err("cannot remove", &self.stage))?;
        }
        fs::create_dir_all(&self.stage).map_err(io_err("cannot create", &self.stage))?;
        let dir = &self.place.dir;
        if fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
            self.previous = previous_manifest(dir);
            self.carried.real_dirs.insert(String::new());
            carry_over(dir, &self.stage, "", &self.previous, &mut self.carried)?;
        }
        Ok(())
    }

    /// Removes the stage: nothing is written after all.
    pub fn discard(self) {
        // Best effort: a leftover stage of this process is cleared by the next run.
        let _ = place::remove_tree(&self.stage);
    }

    /// The second half of [`write_with`]: the files `produce` hands to the sink go into the
    /// stage, which then replaces the output directory.
    pub fn write<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        mut self,
        produce: impl FnOnce(&Sink<'_>) -> Result<(), E>,
    ) -> Result<Written, EmitError> {
        let installed = self
            .fill(produce)
            .and_then(|files| Ok((files, self.place.install(&self.stage)?)));
        match installed {
            Ok((files, note)) => {
                self.notes.extend(note);
                Ok(Written {
                    files,
                    dir: self.place.dir,
                    notes: self.notes,
                })
            }
            Err(e) => {
                self.discard();
                Err(e)
            }
        }
    }

    /// Fills the stage; the number of files written, the manifest included.
    fn fill<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &self,
        produce: impl FnOnce(&Sink<'_>) -> Result<(), E>,
    ) -> Result<usize, EmitError> {
        let written = Mutex::new(BTreeSet::new());
        let sink = |f: OutputFile| self.receive(f, &written);
        produce(&sink).map_err(|e| EmitError::Produce(e.into()))?;
        let conflicts = std::mem::take(&mut *self.conflicts.lock().map_err(|_| self.locked())?);
        if !conflicts.is_empty() {
            return Err(EmitError::Conflicts {
                dir: self.place.dir.clone(),
                conflicts: conflicts.into_iter().collect(),
            });
        }
        let paths = std::mem::take(&mut *written.lock().map_err(|_| self.locked())?);
        sink(manifest_of(paths.iter().map(String::as_str)))?;
        Ok(paths.len() + 1)
    }

    fn locked(&self) -> WriteError {
        WriteError::Thread
    }

    /// What the sink does with one file: into the stage, or linked there from the previous
    /// output when it already holds these bytes; refused when something berrys did not
    /// write stands in its way. `written` records the paths written.
    fn receive(&self, f: OutputFile, written: &Mutex<BTreeSet<String>>) -> Result<(), WriteError> {
        if let Some(conflict) = self.carried.conflict(&f.path) {
            self.conflicts
                .lock()
                .map_err(|_| self.locked())?
                .insert(conflict);
            return Ok(());
        }
        let path = self.stage.join(&f.path);
        if let Some(p) = path.parent() {
            // Created under the lock: another thread must not write into a directory that
            // is recorded but not made yet.
            let mut made = self.made_dirs.lock().map_err(|_| self.locked())?;
            if !made.contains(p) {
                fs::create_dir_all(p).map_err(write_err("cannot create", p))?;
                made.insert(p.to_path_buf());
            }
        }
        if f.append {
            // Only onto a file this run has written: never through a carried-over link.
            if !written.lock().map_err(|_| self.locked())?.contains(&f.path) {
                return Err(WriteError::NotStarted { path: f.path });
            }
            // Nor through a link to the previous output's file: it gets a copy of its own.
            if self
                .linked
                .lock()
                .map_err(|_| self.locked())?
                .remove(&f.path)
            {
                unshare(&path).map_err(write_err("cannot write", &path))?;
            }
            return write_file(&f, &path).map_err(write_err("cannot write", &path));
        }
        // The previous render's file, when it already holds these bytes, is linked into the
        // stage instead: no file to create and fill now, none to free with the old output,
        // and it keeps its modification time. Only a file reached through real directories
        // of the output: never one a symbolic link leads to.
        let kept = self.previous.contains(&f.path)
            && self
                .carried
                .real_dirs
                .contains(f.path.rsplit_once('/').map_or("", |(dir, _)| dir))
            && {
                let previous = self.place.dir.join(&f.path);
                compare::holds(&previous, &f) && fs::hard_link(&previous, &path).is_ok()
            };
        if kept {
            self.linked
                .lock()
                .map_err(|_| self.locked())?
                .insert(f.path.clone());
        } else {
            write_file(&f, &path).map_err(write_err("cannot write", &path))?;
        }
        written.lock().map_err(|_| self.locked())?.insert(f.path);
        Ok(())
    }
}

fn write_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `file` at `path`: created, or appended to when it is more of a file started in
/// this run.
fn write_file(file: &OutputFile, path: &Path) -> io::Result<()> {
    if file.pieces.is_empty() && !file.append {
        return fs::write(path, &file.contents);
    }
    let opened = if file.append {
        fs::OpenOptions::new().append(true).open(path)?
    } else {
        fs::File::create(path)?
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, opened);
    out.write_all(file.contents.as_bytes())?;
    file.each_piece_chunk(|chunk| out.write_all(chunk.as_bytes()))?;
    out.into_inner().map_err(io::IntoInnerError::into_error)?;
    Ok(())
}

/// Replaces the hard link at `path` by a file of its own with the same contents.
fn unshare(path: &Path) -> io::Result<()> {
    let contents = fs::read(path)?;
    fs::remove_file(path)?;
    fs::write(path, contents)
}

/// Hard-links (or copies) every entry of `from_root/rel` that berrys did not write (`ours`)
/// into `to_root`, and records what it carried. Symbolic links are carried as links, never
/// followed.
fn carry_over(
    from_root: &Path,
    to_root: &Path,
    rel: &str,
    ours: &BTreeSet<String>,
    carried: &mut Carried,
) -> Result<(), EmitError> {
    let from = from_root.join(rel);
    let entries = fs::read_dir(&from).map_err(io_err("cannot read", &from))?;
    for entry in entries {
        let entry = entry.map_err(io_err("cannot read", &from))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let rel_path = if rel.is_empty() {
            name.into_owned()
        } else {
            format!("{rel}/{name}")
        };
        // The directory entry's own type (no stat of each of thousands of files).
        let kind = entry
            .file_type()
            .map_err(io_err("cannot read", &entry.path()))?;
        let target = to_root.join(&rel_path);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(io_err("cannot create", &target))?;
            carried.real_dirs.insert(rel_path.clone());
            carry_over(from_root, to_root, &rel_path, ours, carried)?;
            // Directories that held only berrys' files disappear with them.
            if fs::read_dir(&target).is_ok_and(|mut d| d.next().is_none()) {
                let _ = fs::remove_dir(&target);
            } else {
                carried.dirs.insert(rel_path);
            }
        } else if !ours.contains(&rel_path) && rel_path != MANIFEST {
            if fs::hard_link(entry.path(), &target).is_err() {
                fs::copy(entry.path(), &target).map_err(io_err("cannot copy", &entry.path()))?;
            }
            if kind.is_symlink() {
                carried.links.insert(rel_path.clone());
            }
            carried.files.insert(rel_path);
        }
    }
    Ok(())
}

/// What `render --check` found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Files whose contents differ from what would be written.
    pub stale: Vec<String>,
    /// Files that would be written but do not exist.
    pub missing: Vec<String>,
    /// Files berrys wrote before (in the manifest) that it would no longer write.
    pub extra: Vec<String>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Compares `dir` with what [`write_with`] would leave there, touching nothing.
pub fn check(dir: &Path, files: &[OutputFile]) -> CheckReport {
    let mut files = files.to_vec();
    files.push(manifest(&files));
    let mut report = CheckReport::default();
    for f in &files {
        match fs::read(dir.join(&f.path)) {
            Ok(bytes) if bytes == f.contents.as_bytes() => {}
            Ok(_) => report.stale.push(f.path.clone()),
            Err(_) => report.missing.push(f.path.clone()),
        }
    }
    let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    report.extra = previous_manifest(dir)
        .into_iter()
        .filter(|p| !expected.contains(p.as_str()))
        .collect();
    report
}
