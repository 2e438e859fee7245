//! Text the schema admits but the tools that read berrys' output refuse: characters YAML
//! cannot carry, label or annotation keys that kustomize reads as something other than a
//! string, and values kustomize writes unquoted that YAML 1.1 readers cannot read back.
//! berrys writes all of them correctly, but `kubectl kustomize` fails on the
//! `kustomization.yaml` it ships ("control characters are not allowed", "json: unsupported
//! type"), or PyYAML on what it builds, so they are refused here, at their place.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;

/// Values YAML 1.1 gives types of their own (the merge key and the `value` type) that
/// kustomize writes unquoted: PyYAML, and so kubernetes-validate and checkov, cannot read
/// the built output back.
const YAML_1_1_ONLY: [&str; 2] = ["<<", "="];

/// The tables whose keys become label or annotation keys in the output.
const KEY_MAPS: [&str; 4] = ["labels", "annotations", "pod_annotations", "node_selector"];

/// Every string, key or value, with a character YAML does not print (`c-printable` of the
/// YAML 1.2 specification: C0 controls but tab, line feed and carriage return, DEL, the C1
/// controls, U+FFFE and U+FFFF), and every key of a label or annotation table that YAML 1.1
/// reads as a number, boolean, null or date. Each with the path to it, for the later phases
/// to leave it out.
///
/// The file's `text` decides how much is looked at: a string can hold such a character only
/// when the file has an escape (a backslash) or a character beyond ASCII (TOML itself
/// forbids the rest), so in a plain ASCII file only the tables are walked, for their keys.
pub fn check(
    doc: &Spanned<DeTable<'_>>,
    text: &str,
    out: &mut Vec<Diagnostic>,
    at: &mut Vec<Vec<String>>,
) {
    let mut walk = Walk {
        strings: !text.is_ascii()
            || text.contains('\\')
            || YAML_1_1_ONLY
                .iter()
                .any(|v| text.contains(&format!("\"{v}\"")) || text.contains(&format!("'{v}'"))),
        path: Vec::new(),
        out,
        at,
    };
    walk.table(doc.get_ref(), false);
}

/// A step of the path to a value: written out only for a value that is reported.
#[derive(Debug, Clone, Copy)]
enum Step<'t> {
    Key(&'t str),
    Index(usize),
}

/// One walk over the tree: where it is, and what it found.
struct Walk<'t, 'o> {
    /// Whether strings can hold an unprintable character at all.
    strings: bool,
    path: Vec<Step<'t>>,
    out: &'o mut Vec<Diagnostic>,
    at: &'o mut Vec<Vec<String>>,
}

impl<'t> Walk<'t, '_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
        self.at.push(
            self.path
                .iter()
                .map(|s| match s {
                    Step::Key(k) => (*k).to_string(),
                    Step::Index(i) => i.to_string(),
                })
                .collect(),
        );
    }

    fn table(&mut self, table: &'t DeTable<'_>, keys_are_labels: bool) {
        for (key, value) in table {
            let name: &str = key.get_ref().as_ref();
            self.path.push(Step::Key(name));
            if let Some(c) = unprintable(name).filter(|_| self.strings) {
                self.report(unprintable_error(c, key.span()));
            } else if keys_are_labels && !reads_as_string(name) {
                self.report(not_a_string_key(name, key.span()));
            }
            self.value(value, KEY_MAPS.contains(&name));
            self.path.pop();
        }
    }

    fn value(&mut self, value: &'t Spanned<DeValue<'_>>, keys_are_labels: bool) {
        match value.get_ref() {
            DeValue::String(s) if self.strings => {
                if let Some(c) = unprintable(s) {
                    self.report(unprintable_error(c, value.span()));
                } else if YAML_1_1_ONLY.contains(&s.as_ref()) {
                    self.report(yaml_1_1_only_error(s, value.span()));
                }
            }
            DeValue::Table(t) => self.table(t, keys_are_labels),
            // No label table is inside an array: without strings to look at, arrays are
            // passed over.
            DeValue::Array(items) if self.strings => {
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Step::Index(i));
                    self.value(item, false);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }
}

fn yaml_1_1_only_error(value: &str, span: Range<usize>) -> Diagnostic {
    Diagnostic::new(
        crate::diagnostic::codes::INVALID_VALUE,
        format!("`{value}` alone is a YAML 1.1 merge key or value indicator"),
        span,
        "not a string to YAML 1.1",
    )
    .with_help(
        "kustomize writes it unquoted and YAML 1.1 readers (PyYAML: kubernetes-validate, \
         checkov) then refuse the built manifests; add to the text",
    )
}

fn not_a_string_key(name: &str, span: Range<usize>) -> Diagnostic {
    Diagnostic::new(
        crate::diagnostic::codes::INVALID_VALUE,
        format!("the key `{name}` reads as a number, boolean, null or date in YAML 1.1"),
        span,
        "not a string to kustomize",
    )
    .with_help(format!(
        "kustomize cannot build a kustomization with such a key (\"json: unsupported type\"); \
         prefix it (`example.com/{name}`) or give it letters"
    ))
}

/// The first character of `s` that YAML cannot print.
fn unprintable(s: &str) -> Option<char> {
    // Nearly every string is printable ASCII: checked bytewise first.
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    s.chars().find(|&c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })
}

fn unprintable_error(c: char, span: Range<usize>) -> Diagnostic {
    Diagnostic::new(
        crate::diagnostic::codes::INVALID_VALUE,
        format!(
            "the text holds U+{:04X}, a character YAML cannot carry",
            u32::from(c)
        ),
        span,
        "unprintable character",
    )
    .with_help(
        "remove it: kustomize refuses YAML with control characters, and no Kubernetes field \
         needs one",
    )
}

/// Whether a plain YAML scalar `s` is a string to a YAML 1.1 reader (go-yaml, which
/// kustomize uses) and to YAML 1.2's core schema: not null, a boolean, an integer in any
/// base, a float or a date.
pub fn reads_as_string(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "", "~", "null", "y", "n", "yes", "no", "true", "false", "on", "off",
    ];
    let lower = s.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str())
        || matches!(lower.as_str(), ".inf" | "+.inf" | "-.inf" | ".nan")
    {
        return false;
    }
    !(is_number(s) || is_date(s))
}

/// YAML 1.1 and 1.2 numbers: `0777`, `0x1F`, `0o17`, `0b101`, `1_000`, `1e3`, `.5`, `1:30`.
fn is_number(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let digits =
        |t: &str, ok: fn(u8) -> bool| !t.is_empty() && t.bytes().all(|b| ok(b) || b == b'_');
    if let Some(hex) = body.strip_prefix("0x") {
        return digits(hex, |b| b.is_ascii_hexdigit());
    }
    if let Some(oct) = body.strip_prefix("0o") {
        return digits(oct, |b| (b'0'..=b'7').contains(&b));
    }
    if let Some(bin) = body.strip_prefix("0b") {
        return digits(bin, |b| b == b'0' || b == b'1');
    }
    // Sexagesimal (YAML 1.1): `1:30`, `1:30.5`.
    if body.contains(':') {
        let mut parts = body.split(':');
        let first = parts.next().unwrap_or("");
        return digits(first, |b| b.is_ascii_digit())
            && parts.all(|p| {
                let p = p.split_once('.').map_or(p, |(w, _)| w);
                !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
            });
    }
    // Decimal integers and floats, with an optional exponent.
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let has_digits =
        whole.bytes().any(|b| b.is_ascii_digit()) || frac.bytes().any(|b| b.is_ascii_digit());
    let numeric = |t: &str| t.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    has_digits && numeric(whole) && numeric(frac) && exponent_ok
}

/// A YAML 1.1 timestamp's date part: `2001-12-14`, `2001-1-5`.
fn is_date(s: &str) -> bool {
    let date = s.split(['t', 'T', ' ']).next().unwrap_or(s);
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[1..].iter().all(|p| (1..=2).contains(&p.len()))
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_non_strings_are_found() {
        for s in [
            "0777",
            "0x1F",
            "1e3",
            "null",
            "Null",
            "~",
            "",
            "yes",
            "Off",
            "1_000",
            ".5",
            "1:30",
            "-12",
            "+1.5e-3",
            "2030-01-01",
            ".inf",
            "0b101",
            "0o17",
        ] {
            assert!(!reads_as_string(s), "{s}");
        }
        for s in [
            "team",
            "app.kubernetes.io/name",
            "e1",
            "1e",
            "1.2.3",
            "0x",
            "v1",
            "1-2",
            "a:b",
            "x_1",
        ] {
            assert!(reads_as_string(s), "{s}");
        }
    }

    #[test]
    fn unprintable_characters_are_found() {
        assert_eq!(unprintable("plain text\twith tab\n"), None);
        assert_eq!(unprintable("é ü 漢"), None);
        for c in [
            '\u{0}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{FFFE}', '\u{FFFF}',
        ] {
            assert_eq!(unprintable(&format!("a{c}b")), Some(c));
        }
    }
}
