//! Documents with long lists written item by item: a list of thousands of items of a few
//! shapes is laid out through the shapes ([`super::recurring`]) one item at a time, as the
//! items are made, instead of as one document of a shape seen once, and the items are never
//! held apart from the text they go into.
//!
//! This relies on how serde-saphyr writes a block sequence that is a map's value: its items
//! start at the key's column (`key:` then `- item` lines), and an empty one is `key: []` on
//! a line of its own. Every line of an item is indented alike, which keeps block scalars
//! intact. Tests compare every list so written with the document serialised whole.

use serde::Serialize;

use super::{Document, YamlError, indent_lines};

/// Pushes the items of one list, in order.
pub struct Items<'o> {
    out: &'o mut String,
    column: usize,
}

/// What fills one list of [`with_lists`]: pushes its items.
pub type ListFn<'f, E> = dyn FnMut(&mut Items<'_>) -> Result<(), E> + 'f;

impl Items<'_> {
    /// One item, laid out through its shape, as serde-saphyr writes it in this list.
    pub fn push<I: Serialize>(&mut self, item: &I) -> Result<(), YamlError> {
        let text = super::recurring(&[item])?;
        indent_lines(self.out, &text, self.column);
        Ok(())
    }

    /// One item whose own lists are written item by item: `frame`, the item with those lists
    /// empty, as [`with_lists`] writes it.
    pub fn push_with_lists<F: Serialize, E: From<YamlError>>(
        &mut self,
        frame: &F,
        lists: &mut [(&str, &mut ListFn<'_, E>)],
    ) -> Result<(), E> {
        let mut item = String::new();
        with_lists(&mut item, &[frame], lists)?;
        indent_lines(self.out, &item, self.column);
        Ok(())
    }
}

/// `frame` serialised onto the end of `out`, with the items each of `lists` pushes in place
/// of the empty list of that name. `frame` is the document with those lists empty; they are
/// filled in the order they stand in it, and one that gets no item stays `[]`. A list whose
/// empty form is not on a line of its own, or is not the only one of its name after the
/// list before it, is refused rather than guessed at.
pub fn with_lists<F: Serialize, E: From<YamlError>>(
    out: &mut String,
    frame: &F,
    lists: &mut [(&str, &mut ListFn<'_, E>)],
) -> Result<(), E> {
    let text = super::to_string(frame)?;
    let mut at = 0;
    for (key, items) in lists.iter_mut() {
        let (line, column) = list_line(&text, at, key)?;
        out.push_str(&text[at..line.start]);
        let start = out.len();
        out.push_str(&text[line.start..line.end - " []\n".len()]);
        out.push('\n');
        let first_item = out.len();
        items(&mut Items {
            out: &mut *out,
            column,
        })?;
        if out.len() == first_item {
            out.truncate(start);
            out.push_str(&text[line.clone()]);
        }
        at = line.end;
    }
    out.push_str(&text[at..]);
    Ok(())
}

/// The start of a file of one document whose last entry is a long list: the text up to the
/// list's items, and the column they go at. The items follow as lists serialised by
/// [`super::recurring`] (at column 0), every line indented by `column` spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub text: String,
    pub column: usize,
}

/// The [`Head`] of `frame`'s file, `frame` being the document with its last entry, the list
/// `key`, empty.
pub fn list_head<F: Serialize>(frame: &F, key: &str) -> Result<Head, YamlError> {
    let text = super::document(Document::new(frame)?);
    let (line, column) = list_line(&text, 0, key)?;
    if line.end != text.len() {
        return Err(layout_error(
            key,
            "the list is not the document's last entry",
        ));
    }
    let mut head = text;
    head.truncate(line.end - " []\n".len());
    head.push('\n');
    Ok(Head { text: head, column })
}

/// Where in `text`, from `from` on, its one line `<spaces><key>: []` is, and its column.
fn list_line(
    text: &str,
    from: usize,
    key: &str,
) -> Result<(std::ops::Range<usize>, usize), YamlError> {
    let tail = format!("{key}: []\n");
    let mut found = text[from..]
        .match_indices(&tail)
        .map(|(i, _)| from + i)
        .filter_map(|at| {
            let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            let indent = &text[line_start..at];
            indent
                .bytes()
                .all(|b| b == b' ')
                .then_some((line_start..at + tail.len(), indent.len()))
        })
        .filter(|(line, _)| line.start >= from);
    match (found.next(), found.next()) {
        (Some(line), None) => Ok(line),
        _ => Err(layout_error(
            key,
            "unexpected layout: the empty list is not on a line of its own",
        )),
    }
}

fn layout_error(key: &str, message: &str) -> YamlError {
    YamlError {
        kind: key.to_string(),
        message: message.to_string(),
    }
}
