//! The output formats of diagnostics: rustc-style text with the source underlined
//! (miette's graphical handler), JSON, SARIF 2.1.0 for code scanning, GitHub Actions
//! workflow commands, GitLab Code Quality and JUnit XML (`ci`). Formats are chosen by the command layer; the phases only produce
//! [`Diagnostic`] values.

use std::fmt;
use std::ops::Range;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::SourceFile;

mod ci;
pub use ci::{to_gitlab, to_junit};

/// Lines longer than this are not quoted: the diagnostic names its place instead. A snippet
/// of a minified or generated line helps nobody, and miette's layout cannot pad to columns
/// beyond 65,535.
pub const MAX_QUOTED_LINE: usize = 400;

/// The source as miette reads it: each snippet found through the line index, so quoting a
/// diagnostic costs the lines it shows, not the file before them; and exactly the lines a
/// label covers (plus the context asked for), so labels on distant lines are quoted as
/// separate snippets, each headed by its own place, instead of one that runs from the first
/// to the last.
struct Quoted<'a>(&'a SourceFile);

impl SourceCode for Quoted<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let source = self.0;
        let start = source.clamp(span.offset());
        let end = source.clamp(span.offset() + span.len()).max(start);
        let first = source.line_of(start);
        let last = source.line_of(end.saturating_sub(1).max(start));
        let from = first.saturating_sub(before);
        let to = (last + after).min(source.line_count() - 1);
        let data = source.line_range(from).start..source.line_range(to).end;
        let column = start - source.line_range(first).start;
        Ok(Box::new(MietteSpanContents::new_named(
            source.name.clone(),
            &source.text.as_bytes()[data.clone()],
            SourceSpan::from(data.start..data.end),
            from,
            column,
            to - from + 1,
        )))
    }
}

/// Binds a diagnostic to its source for miette's renderer.
struct Bound<'a> {
    diag: &'a Diagnostic,
    source: Quoted<'a>,
    clamp: &'a SourceFile,
    locate: bool,
    /// Whether the source is quoted; if not, the labels are listed under the message.
    quote: bool,
}

impl fmt::Debug for Bound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Bound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Bound<'_> {}

impl miette::Diagnostic for Bound<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let d = self.diag;
        let mut code = if d.code == d.name {
            d.code.clone()
        } else {
            format!("{} {}", d.code, d.name)
        };
        // miette heads a snippet with the location of its first label; when that is not the
        // offending value (a contributing one comes first), the offending one is named here.
        if self.locate {
            let (line, col) = self.clamp.line_col(d.primary.span.start);
            code.push_str(&format!(" --> {}:{line}:{col}", self.clamp.name));
        }
        Some(Box::new(code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut lines: Vec<String> = Vec::new();
        if !self.quote {
            let d = self.diag;
            for l in std::iter::once(&d.primary).chain(&d.secondary) {
                let (line, col) = self.clamp.line_col(l.span.start);
                lines.push(format!("at {line}:{col} (line not quoted): {}", l.text));
            }
        }
        lines.extend(self.diag.help.clone());
        // A problem found in every environment checked needs no list of them.
        let envs = &self.diag.envs;
        if !envs.is_empty() && !self.diag.everywhere {
            let s = if envs.len() == 1 { "" } else { "s" };
            lines.push(format!("in environment{s}: {}", envs.join(", ")));
        }
        (!lines.is_empty()).then(|| Box::new(lines.join("\n")) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.quote
            .then_some(&self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if !self.quote {
            return None;
        }
        let d = self.diag;
        let to_span = |l: &Label, primary: bool| {
            let span = self.clamp.clamp_span(&l.span);
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if primary {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        };
        Some(Box::new(
            std::iter::once(to_span(&d.primary, true))
                .chain(d.secondary.iter().map(move |l| to_span(l, false))),
        ))
    }
}

/// Renders diagnostics rustc-style, with the source underlined.
pub fn render_human(diags: &[Diagnostic], source: &SourceFile, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(100)
        .with_context_lines(0);
    let mut out = String::new();
    for d in diags {
        let quote = std::iter::once(&d.primary)
            .chain(&d.secondary)
            .all(|l| quotable(source, &l.span));
        let render = |locate: bool| {
            let bound = Bound {
                diag: d,
                source: Quoted(source),
                clamp: source,
                locate: locate || !quote,
                quote,
            };
            let mut text = String::new();
            if handler.render_report(&mut text, &bound).is_err() {
                // The handler only fails on a broken fmt::Write; a String never is one.
                text = d.message.clone();
            }
            text
        };
        let mut text = render(false);
        let (line, col) = source.line_col(d.primary.span.start);
        let primary_header = format!("[{}:{line}:{col}]", source.name);
        let first_header = text
            .lines()
            .find_map(|l| l.split_once("╭─").map(|(_, h)| h.trim().to_string()));
        if first_header.is_some_and(|h| h != primary_header) {
            text = render(true);
        }
        push_with_elisions(&mut out, &text);
        out.push('\n');
    }
    out
}

/// Appends a rendered diagnostic, marking with `⋮` the lines left out between two snippets
/// of it (a snippet closes with `╰──`, the next opens with `╭─[`).
fn push_with_elisions(out: &mut String, text: &str) {
    let mut closed: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        if let Some(indent) = closed.take()
            && line.contains("╭─[")
        {
            out.push_str(&" ".repeat(indent));
            out.push_str("⋮\n");
        }
        if line.contains("╰──") {
            closed = line.find('╰').map(|at| line[..at].chars().count());
        }
        out.push_str(line);
    }
}

/// Whether every line a span touches is short enough to quote.
fn quotable(source: &SourceFile, span: &Range<usize>) -> bool {
    let span = source.clamp_span(span);
    (source.line_of(span.start)..=source.line_of(span.end))
        .all(|line| source.line_range(line).len() <= MAX_QUOTED_LINE + 1)
}

/// The machine-readable form of one diagnostic (`--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub end: JsonPosition,
    pub help: Option<&'a str>,
    pub environments: &'a [String],
    pub related: Vec<JsonRelated<'a>>,
}

#[derive(Debug, Serialize)]
pub struct JsonPosition {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated<'a> {
    pub message: &'a str,
    pub line: usize,
    pub column: usize,
    pub end: JsonPosition,
}

pub fn to_json<'a>(d: &'a Diagnostic, source: &'a SourceFile) -> JsonDiagnostic<'a> {
    let (line, column) = source.line_col(d.primary.span.start);
    let (end_line, end_column) = source.line_col(d.primary.span.end);
    JsonDiagnostic {
        code: &d.code,
        name: &d.name,
        severity: d.severity,
        message: &d.message,
        file: &source.name,
        line,
        column,
        end: JsonPosition {
            line: end_line,
            column: end_column,
        },
        help: d.help.as_deref(),
        environments: &d.envs,
        related: d
            .secondary
            .iter()
            .map(|l| {
                let (line, column) = source.line_col(l.span.start);
                let (el, ec) = source.line_col(l.span.end);
                JsonRelated {
                    message: &l.text,
                    line,
                    column,
                    end: JsonPosition {
                        line: el,
                        column: ec,
                    },
                }
            })
            .collect(),
    }
}

/// A SARIF 2.1.0 log of one run: every rule of the registry in `tool.driver.rules`, every
/// diagnostic as a result (compile errors have rule ids outside the registry).
pub fn to_sarif(diags: &[Diagnostic], source: &SourceFile) -> serde_json::Value {
    use serde_json::json;
    let rules = crate::lint::RULES;
    let region = |span: &Range<usize>| {
        let (line, column) = source.line_col(span.start);
        let (end_line, end_column) = source.line_col(span.end);
        json!({
            "startLine": line,
            "startColumn": column,
            "endLine": end_line,
            "endColumn": end_column,
        })
    };
    let uri = sarif_uri(&source.name);
    let location = |span: &Range<usize>| {
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": uri },
                "region": region(span),
            }
        })
    };
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let mut result = json!({
                "ruleId": d.code,
                "level": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "message": { "text": text },
                "locations": [location(&d.primary.span)],
                "properties": { "environments": d.envs },
            });
            if let Some(i) = rules.iter().position(|r| r.code == d.code) {
                result["ruleIndex"] = json!(i);
            }
            if !d.secondary.is_empty() {
                result["relatedLocations"] = d
                    .secondary
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let mut loc = location(&l.span);
                        loc["id"] = json!(i + 1);
                        loc["message"] = json!({ "text": l.text });
                        loc
                    })
                    .collect();
            }
            result
        })
        .collect();
    let driver_rules: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.summary },
                "help": { "text": r.docs, "markdown": r.docs },
                "defaultConfiguration": {
                    "level": match r.level {
                        crate::lint::Level::Allow => "none",
                        crate::lint::Level::Warning => "warning",
                        crate::lint::Level::Error => "error",
                    }
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "berrys",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": driver_rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A relative file path as a URI reference: `/` separators, unreserved bytes as they are,
/// everything else percent-encoded.
fn sarif_uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One line per diagnostic, `file:line:col: CODE [level] name: message`, for editors and
/// grep; the name is left out where it is the code (`syntax`, `schema`). Newlines in a
/// message become `; `.
pub fn to_concise(diags: &[Diagnostic], source: &SourceFile) -> String {
    let mut out = String::new();
    for d in diags {
        let (line, col) = source.line_col(d.primary.span.start);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let name = if d.name == d.code {
            String::new()
        } else {
            format!(" {}", d.name)
        };
        let message = d.message.replace('\n', "; ");
        out.push_str(&format!(
            "{}:{line}:{col}: {} [{level}]{name}: {message}\n",
            source.name, d.code
        ));
    }
    out
}

/// GitHub Actions workflow commands: one `::error` or `::warning` line per diagnostic, shown
/// as annotations on the pull request's diff.
pub fn to_github(diags: &[Diagnostic], source: &SourceFile) -> String {
    // Workflow-command escaping: data escapes `%`, CR, LF; properties also `:` and `,`.
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diags {
        let (line, col) = source.line_col(d.primary.span.start);
        let (end_line, end_col) = source.line_col(d.primary.span.end);
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let envs = &d.envs;
        if !envs.is_empty() && !d.everywhere {
            let s = if envs.len() == 1 { "" } else { "s" };
            message.push_str(&format!("\nin environment{s}: {}", envs.join(", ")));
        }
        out.push_str(&format!(
            "::{kind} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            property(&source.name),
            property(&format!("{} {}", d.code, d.name)),
            data(&message),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quoting a line costs that line: the snippet of the last line of a long file holds
    /// only it, so rendering N diagnostics is linear in N.
    #[test]
    fn a_snippet_holds_only_the_lines_it_shows() {
        let text: String = (0..100_000).map(|i| format!("key{i} = {i}\n")).collect();
        let source = SourceFile::new("big.toml", text);
        let last = source.line_range(99_999);
        let quoted = Quoted(&source);
        let span = SourceSpan::from(last.start..last.start + 3);
        let contents = quoted.read_span(&span, 0, 0).unwrap();
        assert_eq!(contents.data(), b"key99999 = 99999\n");
        assert_eq!((contents.line(), contents.line_count()), (99_999, 1));
        let contents = quoted.read_span(&span, 2, 5).unwrap();
        // Two lines before, and after it only the empty line the final newline starts.
        assert_eq!((contents.line(), contents.line_count()), (99_997, 4));
    }

    #[test]
    fn lines_longer_than_the_limit_are_not_quoted() {
        let source = SourceFile::new("x", format!("a = 1\nb = \"{}\"\n", "x".repeat(500)));
        assert!(quotable(&source, &(0..1)));
        assert!(!quotable(&source, &(6..7)));
        assert!(!quotable(&source, &(0..8)), "a span reaching a long line");
    }
}
