//! Values serialised once with placeholders for a few names, then filled name by name.

use serde::Serialize;

use super::shapes;
use crate::markers::NAMES;

/// A value serialised with placeholders ([`NAMES`], in order) standing for names inside
/// its strings: its YAML layout, and each string cut where the names go. Filling it with
/// names gives what serialising the value with those names in its strings gives
/// ([`super::recurring`]), provided the names go into the strings as they are and nothing
/// else in the value depends on them; callers check that once against a value built with
/// the names ([`Placeholders::fill`] compared with [`super::recurring`]).
#[derive(Debug)]
pub struct Placeholders {
    layout: shapes::Pattern,
    /// Per string scalar; empty for a string without placeholders (its own text stands).
    cuts: Vec<Vec<Cut>>,
    /// How many names go in.
    names: usize,
}

/// A piece of a string with placeholders: text as it is, or where name `i` goes.
#[derive(Debug)]
enum Cut {
    Text(String),
    Name(usize),
}

impl Placeholders {
    /// How many names a value can leave out.
    pub const MAX: usize = NAMES.len();

    /// The placeholder that stands for name `i` (below [`Self::MAX`]).
    pub fn placeholder(i: usize) -> char {
        NAMES[i]
    }

    /// `value`, whose strings hold the placeholders of `names` names; `None` when it does
    /// not make a pattern (a scalar that is not a string, a string whose layout depends on
    /// it) or holds a placeholder beyond `names`.
    pub fn new<T: Serialize>(value: &T, names: usize) -> Option<Placeholders> {
        let layout = shapes::pattern(value)?;
        let cuts: Vec<Vec<Cut>> = layout.strings().map(cut).collect();
        let in_range = cuts
            .iter()
            .flatten()
            .all(|c| !matches!(c, Cut::Name(n) if *n >= names));
        in_range.then_some(Placeholders {
            layout,
            cuts,
            names,
        })
    }

    /// The value's YAML with `names` in place of the placeholders.
    pub fn fill(&self, names: &[&str]) -> Option<String> {
        if names.len() != self.names {
            return None;
        }
        self.layout.fill_with(|i, buf| {
            let cuts = &self.cuts[i];
            for c in cuts {
                match c {
                    Cut::Text(t) => buf.push_str(t),
                    Cut::Name(n) => buf.push_str(names[*n]),
                }
            }
            !cuts.is_empty()
        })
    }
}

/// `s` cut at its placeholders; empty when it has none.
fn cut(s: &str) -> Vec<Cut> {
    let mut cuts = Vec::new();
    if !s.contains(NAMES) {
        return cuts;
    }
    let mut text = String::new();
    for c in s.chars() {
        match NAMES.iter().position(|&m| m == c) {
            Some(n) => {
                if !text.is_empty() {
                    cuts.push(Cut::Text(std::mem::take(&mut text)));
                }
                cuts.push(Cut::Name(n));
            }
            None => text.push(c),
        }
    }
    if !text.is_empty() {
        cuts.push(Cut::Text(text));
    }
    cuts
}
