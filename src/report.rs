//! The output formats of diagnostics: rustc-style text with the source underlined
//! (miette's graphical handler), JSON, SARIF 2.1.0 for code scanning, and GitHub Actions
//! workflow commands. Formats are chosen by the command layer; the phases only produce
//! [`Diagnostic`] values.

use std::fmt;
use std::ops::Range;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::SourceFile;

/// Binds a diagnostic to its source for miette's renderer.
struct Bound<'a> {
    diag: &'a Diagnostic,
    source: NamedSource<String>,
    clamp: &'a SourceFile,
    locate: bool,
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
        // A problem found in every environment checked needs no list of them.
        let envs = &self.diag.envs;
        let env_note = (!envs.is_empty() && !self.diag.everywhere).then(|| {
            let s = if envs.len() == 1 { "" } else { "s" };
            format!("in environment{s}: {}", envs.join(", "))
        });
        match (&self.diag.help, env_note) {
            (Some(h), Some(e)) => Some(Box::new(format!("{h}\n{e}"))),
            (Some(h), None) => Some(Box::new(h.clone())),
            (None, Some(e)) => Some(Box::new(e)),
            (None, None) => None,
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
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
        .with_width(100);
    let mut out = String::new();
    for d in diags {
        let render = |locate: bool| {
            let bound = Bound {
                diag: d,
                source: NamedSource::new(source.name.clone(), source.text.clone()),
                clamp: source,
                locate,
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
        out.push_str(&text);
        out.push('\n');
    }
    out
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
