//! The files berrys writes, as the renderers make them and emit writes them: the one
//! vocabulary the two share, so that neither needs the other. Only the command layer
//! joins a renderer to a [`Sink`].

use std::path::PathBuf;
use std::sync::Arc;

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

    /// The length of the file in bytes: its contents, then its pieces indented.
    pub fn len(&self) -> usize {
        let mut len = self.contents.len();
        let _ = self.each_piece_chunk(|chunk| {
            len += chunk.len();
            Ok::<(), std::convert::Infallible>(())
        });
        len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of the pieces in order, in chunks, each non-empty line preceded by the
    /// indentation.
    pub fn each_piece_chunk<E>(&self, f: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        each_chunk(&self.pieces, self.indent, f)
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

/// Why a file handed to a sink could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file appended to before it was started in this run.
    #[error("cannot append to {path}: it was not started in this run")]
    NotStarted { path: String },
    /// Another thread writing files failed while holding a lock they share.
    #[error("a writing thread failed")]
    Thread,
}

/// Receives every rendered file once, possibly from several threads at a time.
pub type Sink<'a> = dyn Fn(OutputFile) -> Result<(), WriteError> + Sync + 'a;
