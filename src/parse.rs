//! Phase 1: TOML text → spanned document tree.
//!
//! The toml crate's `DeTable` keeps the byte range of every key and value; every later phase
//! points its diagnostics at those ranges. Parsing recovers from errors, so all syntax errors
//! of a file are reported together.
//!
//! A large file is parsed in two halves on two threads when that is sure to give the tree
//! of parsing it whole (see [`parse_in_halves`]); anything else, and every file with an
//! error, is parsed whole.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, MAX_PER_PHASE, Omitted, capped};
use crate::source::SourceFile;

pub type Document<'a> = Spanned<DeTable<'a>>;

/// Files smaller than this are parsed whole: a second thread costs more than it saves.
pub const SPLIT_MIN_BYTES: usize = 128 << 10;

/// The tree of `source`. `scratch` holds text the tree may borrow from besides the source's
/// (the second half of a file parsed in halves).
pub fn parse<'a>(
    source: &'a SourceFile,
    scratch: &'a mut String,
) -> Result<Document<'a>, Vec<Diagnostic>> {
    if let Some(doc) = parse_in_halves(&source.text, scratch) {
        return Ok(doc);
    }
    if let Ok(table) = DeTable::parse(&source.text) {
        return Ok(table);
    }
    Err(syntax_errors(source))
}

/// The syntax errors of a file that does not parse: the first [`MAX_PER_PHASE`] and a note
/// of the rest. A recovering parse reports every error, so on a file of junk it builds one
/// per line, costing memory and time without end. It therefore runs on a growing prefix of
/// the file (cut at a line start) until that holds more errors than are reported, or is the
/// whole file; errors on a prefix's last line are the cut's and are not trusted.
fn syntax_errors(source: &SourceFile) -> Vec<Diagnostic> {
    let text = &source.text;
    let mut len = 64 << 10;
    loop {
        let whole = len >= text.len();
        let cut = if whole {
            text.len()
        } else {
            text[..len].rfind('\n').map_or(len, |i| i + 1)
        };
        let trusted_end = if whole {
            usize::MAX
        } else {
            text[..cut.saturating_sub(1)]
                .rfind('\n')
                .map_or(0, |i| i + 1)
        };
        let (_, errors) = DeTable::parse_recoverable(&text[..cut]);
        let diags: Vec<Diagnostic> = errors
            .iter()
            .map(|e| (e, e.span().unwrap_or(0..0)))
            .filter(|(_, span)| span.start < trusted_end)
            .map(|(e, span)| syntax_error(e, span))
            .collect();
        let mut diags = diags;
        diags.sort_by_key(|d| d.primary.span.start);
        if whole || diags.len() > MAX_PER_PHASE {
            let omitted = if whole {
                Omitted::Counted(0)
            } else {
                Omitted::Uncounted {
                    from_line: source.line_col(diags[MAX_PER_PHASE].primary.span.start).0,
                }
            };
            return capped(diags, "syntax", omitted);
        }
        len *= 4;
    }
}

fn syntax_error(e: &toml::de::Error, span: std::ops::Range<usize>) -> Diagnostic {
    let message = e.message().trim().replace('\n', "; ");
    Diagnostic::new(
        crate::diagnostic::codes::SYNTAX,
        format!("invalid TOML: {message}"),
        span,
        "here",
    )
    .with_help(
        "platform.toml must be valid TOML 1.0: `key = value` pairs under `[table]` headers, strings in double quotes",
    )
}

/// The tree of `text` parsed as two halves on two threads, or `None` when that could differ
/// from parsing it whole; `None` costs little, because every check is made before parsing
/// or right after it.
///
/// A platform file of thousands of services is mostly `[services.<name>]` tables. The text
/// is cut at the start of such a header line near its middle. Parsing the first half alone
/// then gives what parsing the whole file has at that point: a header line cannot stand
/// inside a string, an array or an inline table that the first half leaves open, because
/// the first half would then fail to parse. The second half is parsed as a document of its
/// own, and it yields the same tables as in the whole file when all of these hold:
///
/// - every table header in it is `[services.<bare key>…]` or `[[services.<bare key>…]]`,
///   so it adds nothing at the root but under `services`, never defines `services` itself,
///   and its first header closes whatever table the first half ended in;
/// - the first half made `services` a table with a header (`[services]`, `[services.x]`):
///   not an inline table, not a dotted key, not an array of tables, any of which a header
///   cannot extend. The key's span tells: a header's key follows its `[`, and a table made
///   by a header cannot have been made before it by a key (keys of the root come first);
/// - no key directly under `services` is in both halves: a service's tables are all in one
///   half, so no table is defined twice or extended across the cut.
///
/// The second half is parsed from a copy of the text with the first half blanked out
/// (spaces: one token for the lexer), so its spans are the whole file's.
pub fn parse_in_halves<'a>(text: &'a str, scratch: &'a mut String) -> Option<Document<'a>> {
    if text.len() < SPLIT_MIN_BYTES || crate::parallel::cores() < 2 {
        return None;
    }
    let at = cut(text)?;
    let (head, tail) = text.split_at(at);
    if !tail.lines().all(service_header_or_no_header) {
        return None;
    }
    scratch.clear();
    scratch.reserve(text.len());
    scratch.extend(std::iter::repeat_n(' ', at));
    scratch.push_str(tail);
    let padded: &'a str = scratch;
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| DeTable::parse(padded).ok());
        let first = DeTable::parse(head).ok();
        (first, second.join().ok().flatten())
    });
    let (mut first, second) = (first?, second?);
    let mut second = second.into_inner();
    let added = match second.remove("services").map(Spanned::into_inner) {
        Some(DeValue::Table(added)) if second.is_empty() => added,
        _ => return None,
    };
    let made_by_header = |key: &Spanned<_>| text[..key.span().start].trim_end().ends_with('[');
    match first.get_ref().get_key_value("services") {
        Some((key, value)) if made_by_header(key) && value.get_ref().is_table() => {}
        _ => return None,
    }
    let Some(DeValue::Table(services)) = first.get_mut().get_mut("services").map(Spanned::get_mut)
    else {
        return None;
    };
    if added
        .keys()
        .any(|k| services.contains_key(k.get_ref().as_ref()))
    {
        return None;
    }
    for (k, v) in added {
        services.insert(k, v);
    }
    Some(first)
}

/// Where to cut `text`: the start of the first `[services.<bare key>]` line from its middle
/// (searched as bytes: the middle may fall inside a character).
fn cut(text: &str) -> Option<usize> {
    let mut from = text.len() / 2;
    loop {
        let at = from + memchr::memmem::find(&text.as_bytes()[from..], b"\n[services.")? + 1;
        // `at` follows a line break, so it is a character boundary.
        let line = text[at..].lines().next().unwrap_or("");
        if let Some(("services", name)) = header(line).and_then(|h| h.split_once('.'))
            && !name.contains('.')
            && !line.starts_with("[[")
        {
            return Some(at);
        }
        from = at;
    }
}

/// Whether `line` is no table header, or a header of a table under `services` written with
/// bare keys.
fn service_header_or_no_header(line: &str) -> bool {
    let line = line.trim_start();
    if !line.starts_with('[') {
        return true;
    }
    header(line).is_some_and(|h| h.starts_with("services.") && !h.ends_with('.'))
}

/// The dotted name of a header line written with bare keys and nothing else on the line
/// but a comment: `services.api` for `[services.api]  # …` or `[[services.api.routes]]`.
fn header(line: &str) -> Option<&str> {
    let (open, close) = if line.starts_with("[[") {
        ("[[", "]]")
    } else {
        ("[", "]")
    };
    let rest = line.strip_prefix(open)?;
    let end = rest.find(close)?;
    let (name, after) = (&rest[..end], rest[end + close.len()..].trim_start());
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    let well_formed = !name.is_empty()
        && name.chars().all(bare)
        && !name.starts_with('.')
        && !name.contains("..");
    (well_formed && (after.is_empty() || after.starts_with('#'))).then_some(name)
}
