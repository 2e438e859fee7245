//! Phase 5: policies that need the whole platform in view.
//!
//! Every rule lives in its own file under [`rules`] with its code, name, default level,
//! summary and documentation; [`rules::RULES`] lists them all. A rule is a plain function
//! from a compiled environment to findings; this module applies the `[lint]` configuration
//! (levels, exemptions), merges the findings of all environments, and reports exemptions
//! that matched nothing or have expired.

pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::diagnostic::{self, Diagnostic, Severity};
use crate::graph::Compiled;
use crate::model::{RawDocument, Replicas, Service};

pub use rules::RULES;

/// How a rule is configured: off, or the severity of its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Allow,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    fn parse(text: &str) -> Option<Level> {
        match text {
            "allow" => Some(Level::Allow),
            "warning" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    fn severity(self) -> Option<Severity> {
        match self {
            Level::Allow => None,
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

/// When a rule runs.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Found while compiling (the model or the graph cannot be built without it): always an
    /// error, and neither configurable nor exemptible.
    Compile,
    /// A policy over one compiled environment.
    Platform(fn(&Compiled) -> Vec<Finding>),
    /// A policy over one compiled environment whose finding stands only when every linted
    /// environment reports it: a definition one environment's overrides use is not unused.
    EveryEnvironment(fn(&Compiled) -> Vec<Finding>),
    /// Computed from the exemptions once every environment is linted.
    Exemptions,
}

/// A lint rule: identity, default level, and documentation printed by `berrys explain`.
#[derive(Debug)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub summary: &'static str,
    /// Markdown with the sections `## What it checks`, `## Why it matters`, `## Example`
    /// and `## How to fix`.
    pub docs: &'static str,
    pub check: Check,
}

impl Rule {
    /// A finding of this rule at `span`; its severity is decided by the configuration.
    pub fn finding(
        &self,
        service: Option<&str>,
        message: impl Into<String>,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> Finding {
        let mut diagnostic = Diagnostic::error(self.code, self.name, message, span, label);
        diagnostic.severity = match self.level {
            Level::Warning => Severity::Warning,
            _ => Severity::Error,
        };
        Finding {
            service: service.map(str::to_string),
            at_most_warning: false,
            diagnostic,
        }
    }
}

/// One problem a rule found in one environment.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The service the finding is about, for `[[lint.exempt]] service = …`; `None` for
    /// platform-wide definitions (datastores, tiers, the quota).
    pub service: Option<String>,
    /// A milder form of the rule's problem (BR003 above 80 %): reported as a warning even
    /// when the rule's level is `error`.
    pub at_most_warning: bool,
    pub diagnostic: Diagnostic,
}

impl Finding {
    pub fn help(mut self, help: impl Into<String>) -> Finding {
        self.diagnostic = self.diagnostic.with_help(help);
        self
    }

    pub fn label(mut self, span: Range<usize>, text: impl Into<String>) -> Finding {
        self.diagnostic = self.diagnostic.with_secondary(span, text);
        self
    }
}

/// Finds a rule by code (`BR003`, any case) or name (`pool-overcommit`).
pub fn lookup(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(id) || r.name == id)
}

/// A rule identifier that is not in the registry, with the closest known one.
fn unknown_rule(id: &str, span: Range<usize>) -> Diagnostic {
    let candidates = RULES.iter().flat_map(|r| [r.code, r.name]);
    diagnostic::unknown_reference(
        "lint rule",
        id,
        span,
        &candidates.collect::<Vec<_>>(),
        "one of the rules `berrys rules` lists",
    )
}

/// A `[[lint.exempt]]` entry.
#[derive(Debug, Clone)]
pub struct Exemption {
    pub rule: &'static Rule,
    pub env: Option<String>,
    pub service: Option<String>,
    pub reason: String,
    pub expires: Option<String>,
    /// The whole entry, and its `expires` value.
    pub span: Range<usize>,
    pub expires_span: Option<Range<usize>>,
}

impl Exemption {
    fn applies(&self, code: &str, env: &str, service: Option<&str>) -> bool {
        self.rule.code == code
            && self.env.as_deref().is_none_or(|e| e == env)
            && self.service.as_deref().is_none_or(|s| Some(s) == service)
    }

    /// Expired on the day after `expires` (an exemption is valid through its last day).
    pub fn expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|e| e < today)
    }
}

/// The `[lint]` table, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub fail_on: Severity,
    levels: BTreeMap<&'static str, Level>,
    pub exemptions: Vec<Exemption>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fail_on: Severity::Error,
            levels: BTreeMap::new(),
            exemptions: Vec::new(),
        }
    }
}

impl Config {
    pub fn level(&self, rule: &Rule) -> Level {
        self.levels.get(rule.code).copied().unwrap_or(rule.level)
    }
}

/// Reads `[lint]`: unknown rules (with a suggestion), levels set on rules that cannot be
/// configured, and malformed dates are errors, all reported together.
pub fn config(raw: &RawDocument) -> Result<Config, Vec<Diagnostic>> {
    let lint = &raw.lint;
    let mut diags = Vec::new();
    let fail_on = match lint.fail_on.as_ref().map(|f| f.get_ref().as_str()) {
        Some("warning") => Severity::Warning,
        _ => Severity::Error,
    };
    let mut levels = BTreeMap::new();
    let mut seen: BTreeMap<&str, Range<usize>> = BTreeMap::new();
    for (id, level) in &lint.rules {
        let Some(rule) = lookup(id.get_ref()) else {
            diags.push(unknown_rule(id.get_ref(), id.span()));
            continue;
        };
        if let Some(first) = seen.insert(rule.code, id.span()) {
            diags.push(
                Diagnostic::new(
                    crate::diagnostic::codes::INVALID_VALUE,
                    format!("rule {} {} is configured twice", rule.code, rule.name),
                    id.span(),
                    "second setting",
                )
                .with_secondary(first, "first setting")
                .with_help("set each rule once, by code or by name"),
            );
        }
        let Some(parsed) = Level::parse(level.get_ref()) else {
            continue;
        };
        if matches!(rule.check, Check::Compile) && parsed != Level::Error {
            diags.push(not_configurable(rule, level.span()));
            continue;
        }
        levels.insert(rule.code, parsed);
    }
    let mut exemptions = Vec::new();
    for entry in &lint.exempt {
        let ex = entry.get_ref();
        let Some(rule) = lookup(ex.rule.get_ref()) else {
            diags.push(unknown_rule(ex.rule.get_ref(), ex.rule.span()));
            continue;
        };
        if matches!(rule.check, Check::Compile | Check::Exemptions) {
            diags.push(not_configurable(rule, ex.rule.span()));
            continue;
        }
        if let Some(e) = &ex.expires
            && !is_date(e.get_ref())
        {
            diags.push(
                Diagnostic::new(
                    crate::diagnostic::codes::INVALID_VALUE,
                    format!("`{}` is not a date", e.get_ref()),
                    e.span(),
                    "expected YYYY-MM-DD",
                )
                .with_help("write the last day the exemption applies, e.g. \"2027-01-31\""),
            );
            continue;
        }
        exemptions.push(Exemption {
            rule,
            env: ex.env.as_ref().map(|e| e.get_ref().clone()),
            service: ex.service.as_ref().map(|s| s.get_ref().clone()),
            reason: ex.reason.get_ref().clone(),
            expires: ex.expires.as_ref().map(|e| e.get_ref().clone()),
            span: entry.span(),
            expires_span: ex.expires.as_ref().map(|e| e.span()),
        });
    }
    if diags.is_empty() {
        Ok(Config {
            fail_on,
            levels,
            exemptions,
        })
    } else {
        Err(diags)
    }
}

fn not_configurable(rule: &Rule, span: Range<usize>) -> Diagnostic {
    let why = match rule.check {
        Check::Exemptions => "an exemption cannot exempt exemptions",
        _ => "the platform cannot be compiled while it has this problem",
    };
    Diagnostic::new(
        crate::diagnostic::codes::INVALID_VALUE,
        format!(
            "rule {} {} cannot be lowered or exempted",
            rule.code, rule.name
        ),
        span,
        "not configurable",
    )
    .with_help(format!("{why}; fix the problem instead"))
}

/// `YYYY-MM-DD` naming a real day.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts[..] else { return false };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Today's date in UTC as `YYYY-MM-DD`, for exemption expiry.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Lints every compiled environment. Findings of several environments that are the same
/// problem become one entry listing them all.
pub fn lint(compiled: &[Compiled], config: &Config, today: &str) -> Vec<Diagnostic> {
    // Environments are linted in parallel; each reports its findings and which exemptions
    // it used.
    let per_env = crate::parallel::each(compiled, |c| {
        let env = c.platform.env.as_str();
        let mut used = vec![false; config.exemptions.len()];
        let mut out = Vec::new();
        for rule in RULES {
            let (Check::Platform(check) | Check::EveryEnvironment(check)) = rule.check else {
                continue;
            };
            let Some(severity) = config.level(rule).severity() else {
                continue;
            };
            for finding in check(c) {
                let mut exempt = false;
                for (i, ex) in config.exemptions.iter().enumerate() {
                    if !ex.expired(today) && ex.applies(rule.code, env, finding.service.as_deref())
                    {
                        used[i] = true;
                        exempt = true;
                    }
                }
                if exempt {
                    continue;
                }
                let mut d = finding.diagnostic;
                d.severity = if finding.at_most_warning {
                    severity.min(Severity::Warning)
                } else {
                    severity
                };
                d.envs = vec![env.to_string()];
                out.push(d);
            }
        }
        (out, used)
    });
    let mut used = vec![false; config.exemptions.len()];
    let mut out = Vec::new();
    for (findings, env_used) in per_env {
        out.extend(findings);
        for (u, e) in used.iter_mut().zip(env_used) {
            *u |= e;
        }
    }

    let linted: BTreeSet<&str> = compiled.iter().map(|c| c.platform.env.as_str()).collect();
    if let Some(severity) = config.level(&rules::unused_exemption::RULE).severity() {
        for (ex, used) in config.exemptions.iter().zip(used) {
            let finding = if ex.expired(today) {
                rules::unused_exemption::expired(ex, today)
            } else if !used && ex.env.as_deref().is_none_or(|e| linted.contains(e)) {
                rules::unused_exemption::unused(ex)
            } else {
                continue;
            };
            let mut d = finding.diagnostic;
            d.severity = severity;
            out.push(d);
        }
    }
    let mut out = diagnostic::merge_and_sort(out);
    out.retain(|d| {
        let every = lookup(&d.code).is_some_and(|r| matches!(r.check, Check::EveryEnvironment(_)));
        !every || d.envs.len() == compiled.len()
    });
    diagnostic::mark_everywhere(&mut out, compiled.len());
    out
}

/// Whether the findings make `berrys lint` fail.
pub fn fails(findings: &[Diagnostic], fail_on: Severity) -> bool {
    findings.iter().any(|d| d.severity >= fail_on)
}

// ---- facts shared by several rules ------------------------------------------------------

/// Where a service's lower replica bound is written: its tier's minimum (or override), or
/// its fixed count.
pub fn min_replicas_span(service: &Service) -> Range<usize> {
    match &service.replicas {
        Replicas::Fixed { span, .. } => span.clone(),
        Replicas::Auto(a) => a.min.span(),
    }
}

/// Where the service's maximum replica count is written: the count, or the tier's maximum.
pub fn max_replicas_span(service: &Service) -> Range<usize> {
    match &service.replicas {
        Replicas::Fixed { span, .. } => span.clone(),
        Replicas::Auto(a) => a.max.span(),
    }
}

/// A percentage without float noise: `99.95`, `99.6703`.
pub fn percent(fraction: f64) -> String {
    let text = format!("{:.4}", fraction * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_779), "2026-11-22");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2027-13-01"));
        assert!(!is_date("2027-1-01"));
        assert!(!is_date("soon"));
    }
}
