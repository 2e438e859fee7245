//! The YAML writer: every YAML document berrys writes is serialised here.
//!
//! YAML goes through serde-saphyr, which quotes every string YAML 1.1 would read as
//! something else (`on`, `no`, `0777`, `1e3`, `2024-01-01`, …). Its public face is small:
//! serialise a value ([`to_string`]), serialise a value of a kind that recurs with the same
//! shape ([`recurring`]: the same bytes, laid out once per shape by [`shapes`]), and write a
//! document whose one long list is made item by item ([`with_lists`], [`list_head`]) or
//! whose strings differ from document to document only in a few names ([`Placeholders`]).
//! How the fast paths work is this module's business alone; callers say what to serialise.

mod lists;
mod placeholders;
mod shapes;

use serde::Serialize;

pub use lists::{Head, Items, list_head, with_lists};
pub use placeholders::Placeholders;

/// A value serde-saphyr could not serialise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot serialise {kind}: {message}")]
pub struct YamlError {
    /// What was serialised: the value's type, or the list being written.
    pub kind: String,
    pub message: String,
}

impl YamlError {
    fn of<T>(e: &serde_saphyr::SerializeError) -> YamlError {
        YamlError {
            kind: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("value")
                .to_string(),
            message: e.to_string(),
        }
    }
}

/// `value` as YAML, serialised node by node.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    shapes::direct(value).map_err(|e| YamlError::of::<T>(&e))
}

/// [`to_string`] for values that recur with the same shape (one per service): the same
/// bytes, the layout made once per shape. One-off documents cost more this way.
pub fn recurring<T: Serialize>(value: &T) -> Result<String, YamlError> {
    shapes::to_string(value).map_err(|e| YamlError::of::<T>(&e))
}

/// One YAML document, already serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document(pub String);

impl Document {
    pub fn new<T: Serialize>(value: &T) -> Result<Document, YamlError> {
        to_string(value).map(Document)
    }

    /// A document of a kind every service has ([`recurring`]).
    pub fn recurring<T: Serialize>(value: &T) -> Result<Document, YamlError> {
        recurring(value).map(Document)
    }
}

/// A multi-document YAML file: every document starts with `---`.
pub fn documents(docs: &[Document]) -> String {
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

/// A file of one document, [`documents`] of it, in the document's own buffer: a large
/// document (the Grafana kustomization, megabytes at 10,000 services) is not copied again
/// to be written.
pub fn document(document: Document) -> String {
    let mut text = document.0;
    text.insert_str(0, "---\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// `text` with every non-empty line indented by `column` (empty lines, inside block
/// scalars, carry no indentation), onto the end of `out`.
fn indent_lines(out: &mut String, text: &str, column: usize) {
    if column == 0 {
        out.push_str(text);
        return;
    }
    let indent = " ".repeat(column);
    for line in text.split_inclusive('\n') {
        if line != "\n" {
            out.push_str(&indent);
        }
        out.push_str(line);
    }
}

#[cfg(test)]
mod tests;
