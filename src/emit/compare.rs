//! Whether a file on disk already holds the bytes of an [`OutputFile`], read a buffer at a
//! time: a kept file costs a size check and a read instead of a write.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use crate::output::OutputFile;

/// Whether `path` is a regular file (not a link to one) holding exactly `file`'s bytes (its
/// contents, then its pieces). A changed file usually differs in its size, known before
/// anything is read; the bytes are read and compared a buffer at a time, into a buffer each
/// thread keeps (a fresh one per file would be zeroed every time).
pub(super) fn holds(path: &Path, file: &OutputFile) -> bool {
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
