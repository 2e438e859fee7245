//! Phase 7: bytes on disk.
//!
//! Emit writes the [`OutputFile`]s a producer hands to its [`Sink`], and knows nothing of
//! what they hold or who makes them. The output directory is
//! staged next to its final place and swapped in only when complete, so a failed run leaves
//! the previous output untouched. The `.berrys-manifest` lists what berrys wrote; the next
//! render replaces exactly those files (keeping, by a hard link, those whose bytes did not
//! change) and leaves every other file where it is.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::output::{OutputFile, Sink, WriteError};

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
/// previous manifest does not list are carried over untouched. Each file goes to disk as
/// soon as the sink receives it (from any thread), so the output never has to be held in
/// memory at once. Returns how many files were written, the manifest included.
pub fn write_with<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    dir: &Path,
    produce: impl FnOnce(&Sink<'_>) -> Result<(), E>,
) -> Result<usize, EmitError> {
    Stage::prepare(dir)?.write(produce)
}

/// A staging directory next to an output directory, holding (hard links to) the files of
/// the previous output that berrys did not write: the first half of [`write_with`], which
/// can run while the platform is still being read and linted.
#[derive(Debug)]
pub struct Stage {
    dir: PathBuf,
    stage: PathBuf,
    old: PathBuf,
    /// The previous output's files carried into the stage.
    carried: BTreeSet<PathBuf>,
    /// The files the previous render wrote (its manifest).
    previous: BTreeSet<String>,
    /// Files of the previous output linked into the stage because they were unchanged.
    linked: Mutex<BTreeSet<String>>,
    /// Directories made in the stage.
    made_dirs: Mutex<BTreeSet<PathBuf>>,
}

impl Stage {
    pub fn prepare(dir: &Path) -> Result<Stage, EmitError> {
        if dir.exists() && !dir.is_dir() {
            return Err(EmitError::NotADirectory(dir.to_path_buf()));
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_err("cannot create", &parent))?;
        let base = dir
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let pid = std::process::id();
        let mut stage = Stage {
            dir: dir.to_path_buf(),
            stage: parent.join(format!(".{base}.berrys-stage-{pid}")),
            old: parent.join(format!(".{base}.berrys-old-{pid}")),
            carried: BTreeSet::new(),
            previous: BTreeSet::new(),
            linked: Mutex::default(),
            made_dirs: Mutex::default(),
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
        if self.stage.exists() {
            fs::remove_dir_all(&self.stage).map_err(io_err("cannot remove", &self.stage))?;
        }
        fs::create_dir_all(&self.stage).map_err(io_err("cannot create", &self.stage))?;
        if self.dir.is_dir() {
            self.previous = previous_manifest(&self.dir);
            let ours: BTreeSet<PathBuf> = self.previous.iter().map(PathBuf::from).collect();
            carry_over(
                &self.dir,
                &self.stage,
                Path::new(""),
                &ours,
                &mut self.carried,
            )?;
        }
        Ok(())
    }

    /// Removes the stage: nothing is written after all.
    pub fn discard(self) {
        // Best effort: a leftover stage must not be mistaken for output.
        let _ = fs::remove_dir_all(&self.stage);
    }

    /// The second half of [`write_with`]: the files `produce` hands to the sink go into the
    /// stage, which then replaces the output directory.
    pub fn write<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        self,
        produce: impl FnOnce(&Sink<'_>) -> Result<(), E>,
    ) -> Result<usize, EmitError> {
        let result = self.fill_and_swap(produce);
        if result.is_err() {
            self.discard();
        }
        result
    }

    fn fill_and_swap<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &self,
        produce: impl FnOnce(&Sink<'_>) -> Result<(), E>,
    ) -> Result<usize, EmitError> {
        let written = Mutex::new(BTreeSet::new());
        let sink = |f: OutputFile| self.receive(f, &written);
        produce(&sink).map_err(|e| EmitError::Produce(e.into()))?;
        let paths = std::mem::take(&mut *written.lock().map_err(|_| self.locked())?);
        sink(manifest_of(paths.iter().map(String::as_str)))?;
        let count = paths.len() + 1;

        let (dir, stage, old) = (&self.dir, &self.stage, &self.old);
        if dir.exists() {
            fs::rename(dir, old).map_err(io_err("cannot move aside", dir))?;
            if let Err(e) = fs::rename(stage, dir) {
                // Put the previous output back before reporting.
                let _ = fs::rename(old, dir);
                return Err(io_err("cannot move into place", dir)(e));
            }
            remove_tree(old)?;
        } else {
            fs::rename(stage, dir).map_err(io_err("cannot move into place", dir))?;
        }
        Ok(count)
    }

    fn locked(&self) -> WriteError {
        WriteError::Thread
    }

    /// What the sink does with one file: into the stage, or linked there from the previous
    /// output when it already holds these bytes. `written` records the paths written.
    fn receive(&self, f: OutputFile, written: &Mutex<BTreeSet<String>>) -> Result<(), WriteError> {
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
        // A carried-over file of the same name is replaced, never written through.
        if self.carried.contains(Path::new(&f.path)) {
            fs::remove_file(&path).map_err(write_err("cannot replace", &path))?;
        }
        // The previous render's file, when it already holds these bytes, is linked into the
        // stage instead: no file to create and fill now, none to free with the old output,
        // and it keeps its modification time.
        let kept = self.previous.contains(&f.path) && {
            let previous = self.dir.join(&f.path);
            holds(&previous, &f) && fs::hard_link(&previous, &path).is_ok()
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

/// Whether `path` is a regular file (not a link to one) holding exactly `file`'s bytes (its
/// contents, then its pieces). A changed file usually differs in its size, known before
/// anything is read; the bytes are read and compared a buffer at a time, into a buffer each
/// thread keeps (a fresh one per file would be zeroed every time).
fn holds(path: &Path, file: &OutputFile) -> bool {
    thread_local! {
        static BUFFER: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0; 1 << 16].into());
    }
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() != file.len() as u64 {
        return false;
    }
    let Ok(opened) = fs::File::open(path) else {
        return false;
    };
    BUFFER.with_borrow_mut(|buffer| {
        let mut read = Reading {
            file: opened,
            buffer,
            at: 0,
            end: 0,
        };
        read.matches(file.contents.as_bytes())
            && file
                .each_piece_chunk(|chunk| read.matches(chunk.as_bytes()).then_some(()).ok_or(()))
                .is_ok()
            && read.at_end()
    })
}

/// A file read a buffer at a time and compared with expected bytes given in parts.
struct Reading<'b> {
    file: fs::File,
    buffer: &'b mut [u8],
    /// The part of the buffer read but not compared yet.
    at: usize,
    end: usize,
}

impl Reading<'_> {
    /// Whether the file's next bytes are `expected`.
    fn matches(&mut self, mut expected: &[u8]) -> bool {
        while !expected.is_empty() {
            if self.at == self.end && !self.fill() {
                return false;
            }
            let n = (self.end - self.at).min(expected.len());
            if self.buffer[self.at..self.at + n] != expected[..n] {
                return false;
            }
            self.at += n;
            expected = &expected[n..];
        }
        true
    }

    /// Whether every byte of the file has been compared.
    fn at_end(&mut self) -> bool {
        self.at == self.end && !self.fill()
    }

    /// Reads the next buffer; false at the end of the file or on an error.
    fn fill(&mut self) -> bool {
        loop {
            match self.file.read(self.buffer) {
                Ok(0) => return false,
                Ok(n) => {
                    (self.at, self.end) = (0, n);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

/// Replaces the hard link at `path` by a file of its own with the same contents.
fn unshare(path: &Path) -> io::Result<()> {
    let contents = fs::read(path)?;
    fs::remove_file(path)?;
    fs::write(path, contents)
}

/// Removes a directory tree, its top-level subdirectories on threads of their own: removing
/// 20,000 files from one thread is a noticeable share of a large render.
fn remove_tree(dir: &Path) -> Result<(), EmitError> {
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err("cannot read", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_dir()))
        .collect();
    let results = crate::parallel::map(&entries, |sub| {
        fs::remove_dir_all(sub).map_err(io_err("cannot remove", sub))
    });
    results
        .into_iter()
        .collect::<Result<Vec<()>, EmitError>>()?;
    fs::remove_dir_all(dir).map_err(io_err("cannot remove", dir))
}

/// Hard-links (or copies) every entry of `from` that berrys did not write into `to`, and
/// records the files it carried.
fn carry_over(
    from_root: &Path,
    to_root: &Path,
    rel: &Path,
    ours: &BTreeSet<PathBuf>,
    carried: &mut BTreeSet<PathBuf>,
) -> Result<(), EmitError> {
    let from = from_root.join(rel);
    let entries = fs::read_dir(&from).map_err(io_err("cannot read", &from))?;
    for entry in entries {
        let entry = entry.map_err(io_err("cannot read", &from))?;
        let rel_path = rel.join(entry.file_name());
        // The directory entry's own type (no stat of each of thousands of files); a
        // symbolic link is carried as a link, never followed.
        let kind = entry
            .file_type()
            .map_err(io_err("cannot read", &entry.path()))?;
        let target = to_root.join(&rel_path);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(io_err("cannot create", &target))?;
            carry_over(from_root, to_root, &rel_path, ours, carried)?;
            // Directories that held only berrys' files disappear with them.
            if fs::read_dir(&target).is_ok_and(|mut d| d.next().is_none()) {
                let _ = fs::remove_dir(&target);
            }
        } else if !ours.contains(&rel_path) && rel_path != Path::new(MANIFEST) {
            if fs::hard_link(entry.path(), &target).is_err() {
                fs::copy(entry.path(), &target).map_err(io_err("cannot copy", &entry.path()))?;
            }
            carried.insert(rel_path);
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
