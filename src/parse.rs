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
    let headers = Headers::of(source);
    let mut len = 64 << 10;
    loop {
        let whole = len >= text.len();
        let cut = if whole {
            text.len()
        } else {
            // On a character boundary: the text is cut before it is looked at.
            let len = source.clamp(len);
            text[..len].rfind('\n').map_or(len, |i| i + 1)
        };
        let trusted_end = if whole {
            usize::MAX
        } else {
            text[..source.clamp(cut.saturating_sub(1))]
                .rfind('\n')
                .map_or(0, |i| i + 1)
        };
        let (_, errors) = DeTable::parse_recoverable(&text[..cut]);
        // The body of a table defined twice: its keys are "duplicates" only because of that.
        let mut repeated_bodies: Vec<std::ops::Range<usize>> = Vec::new();
        let mut diags: Vec<Diagnostic> = Vec::new();
        for e in &errors {
            let span = e.span().unwrap_or(0..0);
            if span.start >= trusted_end || repeated_bodies.iter().any(|b| b.contains(&span.start))
            {
                continue;
            }
            if e.message().trim() == "duplicate key"
                && let Some((d, body)) = headers.duplicate(source, span.clone())
            {
                repeated_bodies.extend(body);
                diags.push(d);
                continue;
            }
            diags.push(syntax_error(e, span));
        }
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

/// The table headers of a file, by line: what a duplicate key is a duplicate of.
struct Headers {
    /// (line, the header's path with its parts trimmed, the span of the path, `[[…]]`).
    lines: Vec<(usize, String, std::ops::Range<usize>, bool)>,
}

const DUPLICATE_HELP: &str =
    "TOML allows each table and each key once: merge the two definitions, or remove one";

impl Headers {
    fn of(source: &SourceFile) -> Headers {
        let mut lines = Vec::new();
        for line in 0..source.line_count() {
            let range = source.line_range(line);
            let text = &source.text[range.clone()];
            let trimmed = text.trim_start();
            let Some(rest) = trimmed.strip_prefix('[') else {
                continue;
            };
            let (array, rest) = match rest.strip_prefix('[') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let Some(end) = rest.find(']') else {
                continue;
            };
            let at = range.start + (text.len() - rest.len());
            let path: Vec<&str> = rest[..end].split('.').map(str::trim).collect();
            let inner = rest[..end].trim();
            let lead = rest[..end].len() - rest[..end].trim_start().len();
            lines.push((
                line,
                path.join("."),
                at + lead..at + lead + inner.len(),
                array,
            ));
        }
        Headers { lines }
    }

    /// The diagnostic for a duplicate key at `span`, pointing at both definitions, and the
    /// body of a repeated table (whose keys then need no errors of their own).
    fn duplicate(
        &self,
        source: &SourceFile,
        span: std::ops::Range<usize>,
    ) -> Option<(Diagnostic, Option<std::ops::Range<usize>>)> {
        let line = source.line_of(span.start);
        let here = self.lines.iter().position(|h| h.0 == line);
        if let Some(i) = here {
            let (_, path, at, array) = &self.lines[i];
            let first = self.lines[..i]
                .iter()
                .find(|h| &h.1 == path && !h.3 && !array)?;
            let body_start = source.line_range(line).end;
            let body_end = self
                .lines
                .get(i + 1)
                .map_or(source.text.len(), |h| source.line_range(h.0).start);
            let d = Diagnostic::new(
                crate::diagnostic::codes::SYNTAX,
                format!("table `[{path}]` is defined twice"),
                at.clone(),
                "defined again here",
            )
            .with_secondary(first.2.clone(), "first defined here")
            .with_help(DUPLICATE_HELP);
            return Some((d, Some(body_start..body_end)));
        }
        let key = source.text.get(span.clone())?.trim();
        let table = self.lines.iter().rev().find(|h| h.0 < line);
        let from = table.map_or(0, |h| h.0 + 1);
        let first = (from..line).find_map(|l| {
            let range = source.line_range(l);
            let text = &source.text[range.clone()];
            let lead = text.len() - text.trim_start().len();
            let rest = text.trim_start().strip_prefix(key)?;
            rest.trim_start()
                .starts_with('=')
                .then(|| range.start + lead..range.start + lead + key.len())
        })?;
        let place = table.map_or_else(
            || "at the top level".to_string(),
            |h| format!("in `[{}]`", h.1),
        );
        let d = Diagnostic::new(
            crate::diagnostic::codes::SYNTAX,
            format!("key `{key}` is defined twice {place}"),
            span,
            "defined again here",
        )
        .with_secondary(first, "first defined here")
        .with_help(DUPLICATE_HELP);
        Some((d, None))
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
