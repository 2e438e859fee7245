//! Files made of one piece per service, written in service order while the services are
//! rendered on every core: a service's piece is written as soon as every service before it
//! is, never held until the end (the rule files of 10,000 services are 85 MB).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::error::RenderError;
use super::prometheus::RuleFileForm;
use crate::output::{OutputFile, Sink};

/// Bytes of pieces written at once: few writes, little memory.
const BATCH_BYTES: usize = 1 << 20;

/// Files that all take the same pieces, in order: each file's head, then the pieces
/// (indented for the file), or the file's empty form when no service had a piece.
pub struct Ordered<'a> {
    sink: &'a Sink<'a>,
    files: Vec<RuleFileForm>,
    state: Mutex<State>,
    /// Held while a batch is written; whether the files have been started.
    writer: Mutex<bool>,
}

#[derive(Default)]
struct State {
    /// The next piece to write, and those that arrived before their turn.
    next: usize,
    waiting: BTreeMap<usize, String>,
    /// Pieces whose turn has come, written together once they are large enough.
    batch: Vec<String>,
    batch_bytes: usize,
}

fn poisoned() -> RenderError {
    RenderError::Thread { kind: "output" }
}

impl<'a> Ordered<'a> {
    pub fn new(sink: &'a Sink<'a>, files: Vec<RuleFileForm>) -> Ordered<'a> {
        Ordered {
            sink,
            files,
            state: Mutex::new(State::default()),
            writer: Mutex::new(false),
        }
    }

    /// Piece `i`; queues every piece whose turn has come and writes them when they are
    /// many. The writing happens outside the queue's lock (other pieces keep arriving
    /// meanwhile) but inside the writer's, taken before the queue's is released, so batches
    /// land in order.
    pub fn add(&self, i: usize, piece: String) -> Result<(), RenderError> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        state.waiting.insert(i, piece);
        loop {
            let next = state.next;
            let Some(piece) = state.waiting.remove(&next) else {
                break;
            };
            state.next += 1;
            state.batch_bytes += piece.len();
            state.batch.push(piece);
        }
        if state.batch_bytes < BATCH_BYTES {
            return Ok(());
        }
        let batch = std::mem::take(&mut state.batch);
        state.batch_bytes = 0;
        let mut started = self.writer.lock().map_err(|_| poisoned())?;
        drop(state);
        self.write(&mut started, batch)
    }

    fn write(&self, started: &mut bool, batch: Vec<String>) -> Result<(), RenderError> {
        if batch.is_empty() {
            return Ok(());
        }
        if !*started {
            *started = true;
            for file in &self.files {
                (self.sink)(OutputFile::new(file.path, file.head.text.clone()))?;
            }
        }
        let shared = Arc::new(batch);
        for file in &self.files {
            (self.sink)(
                OutputFile::new(file.path, String::new())
                    .followed_by(Arc::clone(&shared), file.head.column)
                    .appended(),
            )?;
        }
        Ok(())
    }

    /// Writes what is left, or the files' empty forms when there were no pieces.
    pub fn finish(&self) -> Result<(), RenderError> {
        let batch = std::mem::take(&mut self.state.lock().map_err(|_| poisoned())?.batch);
        let mut started = self.writer.lock().map_err(|_| poisoned())?;
        self.write(&mut started, batch)?;
        if *started {
            return Ok(());
        }
        for file in &self.files {
            (self.sink)(OutputFile::new(file.path, file.empty.clone()))?;
        }
        Ok(())
    }
}
