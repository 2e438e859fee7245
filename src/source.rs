//! The input file: its name, its text, and byte-offset → line/column mapping.

use std::ops::Range;

/// A `platform.toml` as read from disk, kept whole so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset, clamped to the text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// Clamps an offset into the text and onto a character boundary, so a span from any
    /// source (including a fuzzed one) can be sliced safely.
    pub fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The 0-based line holding a byte offset (clamped to the text).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = self.clamp(offset);
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// How many lines the text has (a final line without a newline counts).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The bytes of a 0-based line, its newline included.
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let line = line.min(self.line_starts.len() - 1);
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.line_starts[line]..end
    }

    pub fn clamp_span(&self, span: &Range<usize>) -> Range<usize> {
        let start = self.clamp(span.start);
        let end = self.clamp(span.end).max(start);
        start..end
    }
}

/// The largest platform file berrys reads: a generated 10,000-service platform is a fraction
/// of it, and the limit bounds the memory and time any input can cost.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a platform file could not be read; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}{hint}", hint = if source.kind() == std::io::ErrorKind::NotFound {
        "\n  help: pass the file with `-f <FILE>`, or create one with `berrys init`"
    } else { "" })]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a regular file (it is {kind}); berrys reads platform files only, never FIFOs, devices or directories"
    )]
    NotAFile { path: String, kind: &'static str },
    #[error("{path} is {size} bytes, above the limit of {limit} bytes (16 MiB) for a platform file; is it the right file?", limit = MAX_SOURCE_BYTES)]
    TooLarge { path: String, size: u64 },
    #[error("{path} is not UTF-8 text (invalid byte at offset {offset}); TOML files must be UTF-8")]
    NotUtf8 { path: String, offset: usize },
}

/// Reads a platform file: only a regular file (a symbolic link to one is followed), and none
/// above [`MAX_SOURCE_BYTES`]. Its kind is checked before it is opened: opening a FIFO
/// without a writer would wait forever.
pub fn read(path: &std::path::Path) -> Result<SourceFile, ReadError> {
    use std::io::Read;
    let name = path.display().to_string();
    let io = |source| ReadError::Io {
        path: name.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            path: name,
            kind: kind_of(&meta.file_type()),
        });
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge {
            path: name,
            size: meta.len(),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    // Checked again: the file may have grown since it was looked at.
    decode(name, bytes)
}

/// How diagnostics name a platform read from standard input (`-f -`).
pub const STDIN_NAME: &str = "<stdin>";

/// Reads the platform from standard input, with the same limit as a file.
pub fn read_stdin() -> Result<SourceFile, ReadError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: STDIN_NAME.to_string(),
            source,
        })?;
    decode(STDIN_NAME.to_string(), bytes)
}

/// The bytes of a platform file as a source: refused above [`MAX_SOURCE_BYTES`] or when
/// they are not UTF-8.
pub fn decode(name: String, bytes: Vec<u8>) -> Result<SourceFile, ReadError> {
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge {
            path: name,
            size: bytes.len() as u64,
        });
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(e) => Err(ReadError::NotUtf8 {
            path: name,
            offset: e.utf8_error().valid_up_to(),
        }),
    }
}

fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}
