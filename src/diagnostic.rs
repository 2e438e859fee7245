//! Diagnostics: what is wrong, where in `platform.toml`, and how to fix it.
//!
//! Every phase reports problems as [`Diagnostic`] values; none of them stops at the first
//! problem. They are shown once, at the end, in one of the formats of `crate::report`.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A labelled byte range of the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    pub span: Range<usize>,
    pub text: String,
}

impl Label {
    pub fn new(span: Range<usize>, text: impl Into<String>) -> Self {
        Label {
            span,
            text: text.into(),
        }
    }
}

/// The identity of a diagnostic: a rule code (`BR001`) or a compile-error kind
/// (`syntax`), and its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
}

/// The codes of the problems the compile phases find. BR001 and BR002 are also in the
/// lint rule table, which documents them; they are found while compiling.
pub mod codes {
    use crate::diagnostic::Code;

    pub const SYNTAX: Code = Code {
        code: "syntax",
        name: "syntax",
    };
    pub const SCHEMA: Code = Code {
        code: "schema",
        name: "schema",
    };
    pub const INVALID_VALUE: Code = Code {
        code: "invalid",
        name: "invalid-value",
    };
    pub const DEPENDENCY_CYCLE: Code = Code {
        code: "BR001",
        name: "dependency-cycle",
    };
    pub const UNKNOWN_REFERENCE: Code = Code {
        code: "BR002",
        name: "unknown-reference",
    };
    /// The end of a phase's report: more problems than [`super::MAX_PER_PHASE`].
    pub const TOO_MANY: Code = Code {
        code: "too-many",
        name: "too-many-errors",
    };
}

/// How many diagnostics of one compile phase (syntax, schema, model and graph) are
/// reported; the rest are counted. A file of junk has a problem on every line, and the
/// first hundred say what is wrong as well as all of them.
pub const MAX_PER_PHASE: usize = 100;

/// The first [`MAX_PER_PHASE`] of a phase's diagnostics (in order), then, if there were
/// more, one that says how many more `phase` errors there are (`omitted`, beyond those in
/// `diags`, when the phase stopped counting itself).
pub fn capped(mut diags: Vec<Diagnostic>, phase: &str, omitted: Omitted) -> Vec<Diagnostic> {
    let beyond = diags.len().saturating_sub(MAX_PER_PHASE);
    let at = diags
        .get(MAX_PER_PHASE)
        .map(|d| d.primary.span.clone())
        .or_else(|| diags.last().map(|d| d.primary.span.end..d.primary.span.end));
    diags.truncate(MAX_PER_PHASE);
    let message = match omitted {
        Omitted::Counted(n) if n + beyond > 0 => {
            format!("{} more {phase} error(s) not shown", n + beyond)
        }
        Omitted::Uncounted { from_line } => format!(
            "more {phase} errors from line {from_line} on not shown (checking stopped there)"
        ),
        Omitted::Counted(_) => return diags,
    };
    diags.push(
        Diagnostic::new(
            codes::TOO_MANY,
            message,
            at.unwrap_or(0..0),
            "the first not shown",
        )
        .with_help(format!(
            "berrys reports the first {MAX_PER_PHASE} errors of each phase: fix these and run again"
        )),
    );
    diags
}

/// What a phase left out of its diagnostics before [`capped`] saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Omitted {
    /// This many more, counted.
    Counted(usize),
    /// An unknown number from this line (1-based) on: the phase stopped.
    Uncounted { from_line: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Stable identifier: a rule code (`BR001`) or a compile-error kind (`syntax`, `schema`).
    pub code: String,
    /// Kebab-case name of the rule or error kind.
    pub name: String,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// Environments the diagnostic was found in (`base` for the file as written).
    pub envs: Vec<String>,
    /// Found in every environment that was checked: the human form then names none.
    pub everywhere: bool,
}

impl Diagnostic {
    pub fn error(
        code: &str,
        name: &str,
        message: impl Into<String>,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code: code.to_string(),
            name: name.to_string(),
            severity: Severity::Error,
            message: shorten(message.into()),
            primary: Label::new(span, label),
            secondary: Vec::new(),
            help: None,
            envs: Vec::new(),
            everywhere: false,
        }
    }

    /// An error of one of the compile phases' [`codes`].
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        Self::error(code.code, code.name, message, span, label)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_secondary(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        self.secondary.push(Label::new(span, text));
        self
    }

    /// Attaches a "did you mean" suggestion when one of `candidates` is close to `found`.
    pub fn with_suggestion<'a>(
        self,
        found: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        match suggest(found, candidates) {
            Some(best) => self.with_help(format!("did you mean `{best}`?")),
            None => self,
        }
    }
}

/// The candidate closest to `found`, if it is close enough to be a plausible typo.
pub fn suggest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(found, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// The longest message kept whole: a message quotes the values it is about, and a value
/// may be a whole minified line.
pub const MAX_MESSAGE: usize = 500;

/// A message cut to its first [`MAX_MESSAGE`] bytes or so, with `…` and its last words.
fn shorten(message: String) -> String {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let floor = |mut i: usize| {
        while !message.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = floor(MAX_MESSAGE * 3 / 5);
    let tail = floor(message.len() - MAX_MESSAGE / 5);
    format!("{} … {}", &message[..head], &message[tail..])
}

/// BR002: `unknown <kind> `name``, with the closest of `known` as a suggestion, or the
/// list of what is defined.
pub fn unknown_reference(
    kind: &str,
    name: &str,
    span: Range<usize>,
    known: &[&str],
    define: &str,
) -> Diagnostic {
    let d = Diagnostic::new(
        codes::UNKNOWN_REFERENCE,
        format!("unknown {kind} `{name}`"),
        span,
        format!("no {kind} with this name"),
    );
    match suggest(name, known.iter().copied()) {
        Some(best) => d.with_help(format!("did you mean `{best}`?")),
        None if known.is_empty() => d.with_help(format!("no {kind} is defined: add {define}")),
        None if known.len() > 12 => d.with_help(format!("add {define}")),
        None => d.with_help(format!(
            "defined {kind}s: {}; or add {define}",
            known.join(", ")
        )),
    }
}

/// Sorts by position, then merges diagnostics that are the same problem found in several
/// environments into one entry listing them all.
pub fn merge_and_sort(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by(|a, b| {
        (
            a.primary.span.start,
            a.primary.span.end,
            &a.code,
            &a.message,
        )
            .cmp(&(
                b.primary.span.start,
                b.primary.span.end,
                &b.code,
                &b.message,
            ))
    });
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags {
        if let Some(last) = out.last_mut()
            && last.code == d.code
            && last.primary == d.primary
            && last.message == d.message
            && last.secondary == d.secondary
        {
            for env in d.envs {
                if !last.envs.contains(&env) {
                    last.envs.push(env);
                }
            }
            continue;
        }
        out.push(d);
    }
    for d in &mut out {
        d.envs
            .sort_by(|a, b| (a != "base", a).cmp(&(b != "base", b)));
    }
    out
}

/// Marks the diagnostics found in all of `checked` environments.
pub fn mark_everywhere(diags: &mut [Diagnostic], checked: usize) {
    for d in diags {
        d.everywhere = !d.envs.is_empty() && d.envs.len() == checked;
    }
}
