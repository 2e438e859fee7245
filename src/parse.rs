//! Phase 1: TOML text → spanned document tree.
//!
//! The toml crate's `DeTable` keeps the byte range of every key and value; every later phase
//! points its diagnostics at those ranges. Parsing recovers from errors, so all syntax errors
//! of a file are reported together.

use toml::Spanned;
use toml::de::DeTable;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

pub type Document<'a> = Spanned<DeTable<'a>>;

pub fn parse(source: &SourceFile) -> Result<Document<'_>, Vec<Diagnostic>> {
    let (table, errors) = DeTable::parse_recoverable(&source.text);
    if errors.is_empty() {
        return Ok(table);
    }
    let diags = errors
        .iter()
        .map(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().replace('\n', "; ");
            Diagnostic::error(
                "syntax",
                "syntax",
                format!("invalid TOML: {message}"),
                span,
                "here",
            )
            .with_help(
                "platform.toml must be valid TOML 1.0: `key = value` pairs under `[table]` headers, strings in double quotes",
            )
        })
        .collect();
    Err(diags)
}
