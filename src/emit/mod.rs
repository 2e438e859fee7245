//! Phase 7: bytes on disk.
//!
//! YAML goes through serde-saphyr, which quotes every string YAML 1.1 would read as
//! something else (`on`, `no`, `0777`, `1e3`, `2024-01-01`, …); [`shapes`] has it lay out
//! each distinct document shape once. The output directory is
//! staged next to its final place and swapped in only when complete, so a failed run leaves
//! the previous output untouched. The `.berrys-manifest` lists what berrys wrote; the next
//! render replaces exactly those files (keeping, by a hard link, those whose bytes did not
//! change) and leaves every other file where it is.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub mod shapes;

pub const MANIFEST: &str = ".berrys-manifest";
const MANIFEST_HEADER: &str = "# Files written by berrys. The next `berrys render` replaces exactly these;\n# other files in this directory are left alone.\n";

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("cannot serialise {kind}: {message}")]
    Serialise { kind: String, message: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> EmitError + 'a {
    move |source| EmitError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// One YAML document, already serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document(pub String);

impl Document {
    pub fn new<T: Serialize>(value: &T) -> Result<Document, EmitError> {
        to_yaml(value).map(Document)
    }

    /// A document of a kind every service has: laid out once per shape ([`shapes`]).
    pub fn recurring<T: Serialize>(value: &T) -> Result<Document, EmitError> {
        to_yaml_recurring(value).map(Document)
    }
}

pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, EmitError> {
    shapes::direct(value).map_err(|e| serialise_error::<T>(&e))
}

/// [`to_yaml`] for documents that recur with the same shape (one per service): the same
/// bytes, the layout made once per shape. One-off documents cost more this way.
pub fn to_yaml_recurring<T: Serialize>(value: &T) -> Result<String, EmitError> {
    shapes::to_string(value).map_err(|e| serialise_error::<T>(&e))
}

/// One item of a list, laid out through its shape ([`to_yaml_recurring`]) and indented by
/// `column`, written onto the end of `out`: what serde-saphyr writes for that item of the
/// list as the value of a key at `column`.
pub fn push_list_item<I: Serialize>(
    out: &mut String,
    item: &I,
    column: usize,
) -> Result<(), EmitError> {
    let text = to_yaml_recurring(&[item])?;
    indent_lines(out, &text, column);
    Ok(())
}

/// `text` with every non-empty line indented by `column` (empty lines, inside block
/// scalars, carry no indentation).
pub(crate) fn indent_lines(out: &mut String, text: &str, column: usize) {
    let _ = indented(text, &" ".repeat(column), |chunk| {
        out.push_str(chunk);
        Ok::<(), std::convert::Infallible>(())
    });
}

/// `text` in chunks, `indent` before each non-empty line.
fn indented<E>(
    text: &str,
    indent: &str,
    mut f: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    if indent.is_empty() {
        return f(text);
    }
    for line in text.split_inclusive('\n') {
        if line != "\n" {
            f(indent)?;
        }
        f(line)?;
    }
    Ok(())
}

/// `document` written onto the end of `out` with its one line `<column spaces><key>: []`
/// replaced by the key and the items `items` pushes there ([`push_list_item`] at `column`)
/// as they are made. A large list of same-shaped items is thus written item by item
/// through the shape cache instead of as one document of a shape seen once, and never held
/// apart from the text it goes into. The line stays `<key>: []` when no item is pushed.
pub fn write_spliced(
    out: &mut String,
    document: &str,
    key: &str,
    column: usize,
    items: impl FnOnce(&mut String) -> Result<(), EmitError>,
) -> Result<(), EmitError> {
    let line = list_line(document, key, column)?;
    out.push_str(&document[..line.start]);
    let start = out.len();
    out.push_str(&document[line.start..line.end - " []\n".len()]);
    out.push('\n');
    let first_item = out.len();
    items(out)?;
    if out.len() == first_item {
        out.truncate(start);
        out.push_str(&document[line.clone()]);
    }
    out.push_str(&document[line.end..]);
    Ok(())
}

/// Where in `document` its one line `<column spaces><key>: []` is.
pub fn list_line(
    document: &str,
    key: &str,
    column: usize,
) -> Result<std::ops::Range<usize>, EmitError> {
    let line = format!("{}{key}: []\n", " ".repeat(column));
    let mut found = document
        .match_indices(&line)
        .filter(|(at, _)| *at == 0 || document.as_bytes()[at - 1] == b'\n');
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return Err(EmitError::Serialise {
            kind: key.to_string(),
            message: "unexpected layout: the empty list is not on a line of its own".to_string(),
        });
    };
    Ok(at..at + line.len())
}

fn serialise_error<T>(e: &shapes::SerializeError) -> EmitError {
    EmitError::Serialise {
        kind: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("value")
            .to_string(),
        message: e.to_string(),
    }
}

/// A multi-document YAML file: every document starts with `---`.
pub fn yaml_documents(docs: &[Document]) -> String {
    // Sized once: grown by doubling, a service's manifests were copied four times over.
    let mut out = String::with_capacity(docs.iter().map(|d| d.0.len() + 5).sum());
    for d in docs {
        out.push_str("---\n");
        out.push_str(&d.0);
        if !d.0.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// A file of one document, [`yaml_documents`] of it, in the document's own buffer: a large
/// document (the Grafana kustomization, megabytes at 10,000 services) is not copied again
/// to be written.
pub fn yaml_document(document: Document) -> String {
    let mut text = document.0;
    text.insert_str(0, "---\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A file berrys writes, relative to the output directory (always `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub contents: String,
    /// Text that follows `contents`, written piece by piece, each line indented by
    /// `indent` spaces (empty lines stay empty): files joined from per-service parts (the
    /// rule files) are never held as one string, and two files can share the parts.
    pub pieces: Arc<Vec<String>>,
    pub indent: usize,
    /// More of a file already started in this run, to be appended to it: large files made
    /// of per-service parts are written as the parts arrive, in order.
    pub append: bool,
}

impl OutputFile {
    pub fn new(path: &str, contents: String) -> Self {
        OutputFile {
            path: path.to_string(),
            contents,
            pieces: Arc::default(),
            indent: 0,
            append: false,
        }
    }

    /// The same text, to be appended to the file of that path started earlier in the run.
    pub fn appended(mut self) -> Self {
        self.append = true;
        self
    }

    pub fn followed_by(mut self, pieces: Arc<Vec<String>>, indent: usize) -> Self {
        self.pieces = pieces;
        self.indent = indent;
        self
    }

    /// The same file with its pieces joined into `contents`.
    pub fn joined(mut self) -> Self {
        let pieces = std::mem::take(&mut self.pieces);
        let contents = &mut self.contents;
        let _ = each_chunk(&pieces, self.indent, |chunk| {
            contents.push_str(chunk);
            Ok::<(), std::convert::Infallible>(())
        });
        self
    }

    fn write_to(&self, path: &Path) -> io::Result<()> {
        if self.pieces.is_empty() && !self.append {
            return fs::write(path, &self.contents);
        }
        let file = if self.append {
            fs::OpenOptions::new().append(true).open(path)?
        } else {
            fs::File::create(path)?
        };
        let mut file = io::BufWriter::with_capacity(1 << 16, file);
        file.write_all(self.contents.as_bytes())?;
        each_chunk(&self.pieces, self.indent, |chunk| {
            file.write_all(chunk.as_bytes())
        })?;
        file.into_inner().map_err(io::IntoInnerError::into_error)?;
        Ok(())
    }
}

/// The pieces' text in order, each non-empty line preceded by `indent` spaces.
fn each_chunk<E>(
    pieces: &[String],
    indent: usize,
    mut f: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let spaces = " ".repeat(indent);
    for p in pieces {
        indented(p, &spaces, &mut f)?;
    }
    Ok(())
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
pub fn write_with(
    dir: &Path,
    produce: impl FnOnce(&crate::render::Sink<'_>) -> Result<(), EmitError>,
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
    pub fn write(
        self,
        produce: impl FnOnce(&crate::render::Sink<'_>) -> Result<(), EmitError>,
    ) -> Result<usize, EmitError> {
        let result = self.fill_and_swap(produce);
        if result.is_err() {
            self.discard();
        }
        result
    }

    fn fill_and_swap(
        &self,
        produce: impl FnOnce(&crate::render::Sink<'_>) -> Result<(), EmitError>,
    ) -> Result<usize, EmitError> {
        let (dir, stage, old, carried) = (&self.dir, &self.stage, &self.old, &self.carried);
        let written = Mutex::new(BTreeSet::new());
        // Files of the previous output linked into the stage because they were unchanged.
        let linked = Mutex::new(BTreeSet::new());
        let made_dirs = Mutex::new(BTreeSet::new());
        let locked = || EmitError::Io {
            action: "cannot write",
            path: stage.to_path_buf(),
            source: io::Error::other("a writing thread failed"),
        };
        let sink = |f: OutputFile| -> Result<(), EmitError> {
            let path = stage.join(&f.path);
            if let Some(p) = path.parent() {
                // Created under the lock: another thread must not write into a directory that
                // is recorded but not made yet.
                let mut made = made_dirs.lock().map_err(|_| locked())?;
                if !made.contains(p) {
                    fs::create_dir_all(p).map_err(io_err("cannot create", p))?;
                    made.insert(p.to_path_buf());
                }
            }
            if f.append {
                // Only onto a file this run has written: never through a carried-over link.
                if !written.lock().map_err(|_| locked())?.contains(&f.path) {
                    return Err(EmitError::Serialise {
                        kind: f.path,
                        message: "appended to before it was started".to_string(),
                    });
                }
                // Nor through a link to the previous output's file: it gets a copy of its own.
                if linked.lock().map_err(|_| locked())?.remove(&f.path) {
                    unshare(&path).map_err(io_err("cannot write", &path))?;
                }
                return f.write_to(&path).map_err(io_err("cannot write", &path));
            }
            // A carried-over file of the same name is replaced, never written through.
            if carried.contains(Path::new(&f.path)) {
                fs::remove_file(&path).map_err(io_err("cannot replace", &path))?;
            }
            // The previous render's file, when it already holds these bytes, is linked into
            // the stage instead: no file to create and fill now, none to free with the old
            // output, and it keeps its modification time.
            let kept = self.previous.contains(&f.path) && {
                let previous = dir.join(&f.path);
                holds(&previous, &f) && fs::hard_link(&previous, &path).is_ok()
            };
            if kept {
                linked.lock().map_err(|_| locked())?.insert(f.path.clone());
            } else {
                f.write_to(&path).map_err(io_err("cannot write", &path))?;
            }
            written.lock().map_err(|_| locked())?.insert(f.path);
            Ok(())
        };
        produce(&sink)?;
        let paths = std::mem::take(&mut *written.lock().map_err(|_| locked())?);
        sink(manifest_of(paths.iter().map(String::as_str)))?;
        let count = paths.len() + 1;

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
    let mut len = file.contents.len();
    let _ = each_chunk(&file.pieces, file.indent, |chunk| {
        len += chunk.len();
        Ok::<(), std::convert::Infallible>(())
    });
    if !meta.is_file() || meta.len() != len as u64 {
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
            && each_chunk(&file.pieces, file.indent, |chunk| {
                read.matches(chunk.as_bytes()).then_some(()).ok_or(())
            })
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
