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
            message: message.into(),
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
