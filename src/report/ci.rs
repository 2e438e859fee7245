//! Report formats of CI systems: GitLab Code Quality JSON and JUnit XML.

use std::collections::HashMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;

/// GitLab Code Quality: a JSON array of issues, one per diagnostic. GitLab tells a new
/// finding from one that was already there by its fingerprint, so the fingerprint leaves out
/// the line: a finding that only moves keeps it. Findings identical in code, file and message
/// are told apart by their order.
pub fn to_gitlab(diags: &[Diagnostic], source: &SourceFile) -> serde_json::Value {
    let mut seen: HashMap<[u8; 32], usize> = HashMap::new();
    let issues: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let key: [u8; 32] = Sha256::new()
                .chain_update(d.code.as_bytes())
                .chain_update([0])
                .chain_update(source.name.as_bytes())
                .chain_update([0])
                .chain_update(d.message.as_bytes())
                .finalize()
                .into();
            let nth = seen.entry(key).or_insert(0);
            *nth += 1;
            let fingerprint: [u8; 32] = Sha256::new()
                .chain_update(key)
                .chain_update(nth.to_le_bytes())
                .finalize()
                .into();
            let (line, _) = source.line_col(d.primary.span.start);
            let (end_line, _) = source.line_col(d.primary.span.end);
            let mut description = d.message.replace('\n', "; ");
            if let Some(h) = &d.help {
                description.push_str(&format!(" (help: {h})"));
            }
            serde_json::json!({
                "description": description,
                "check_name": d.code,
                "fingerprint": hex(&fingerprint),
                "severity": match d.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                },
                "location": {
                    "path": source.name,
                    "lines": { "begin": line, "end": end_line },
                },
            })
        })
        .collect();
    serde_json::Value::Array(issues)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// JUnit XML: one test suite for the file; each lint rule is a test case that passes when it
/// found nothing, and each diagnostic is a failing test case of its own (named by code and
/// place), so CI test views list every finding and every rule that was checked. A file that
/// does not compile has only its compile errors: no rule ran.
pub fn to_junit(diags: &[Diagnostic], source: &SourceFile) -> String {
    let is_rule = |code: &str| crate::lint::RULES.iter().any(|r| r.code == code);
    let too_many = crate::diagnostic::codes::TOO_MANY.code;
    let rules_ran = diags.iter().all(|d| d.code == too_many || is_rule(&d.code));
    let mut cases = String::new();
    for d in diags {
        let (line, col) = source.line_col(d.primary.span.start);
        let place = format!("{}:{line}:{col}", source.name);
        let mut text = format!("{place}: {}", d.message);
        if let Some(h) = &d.help {
            text.push_str(&format!("\nhelp: {h}"));
        }
        if !d.envs.is_empty() {
            text.push_str(&format!("\nenvironments: {}", d.envs.join(", ")));
        }
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(
            cases,
            "    <testcase classname=\"berrys.{code}\" name=\"{code} {name} at {place}\" file=\"{file}\" line=\"{line}\">\n      <failure type=\"{kind}\" message=\"{message}\">{text}</failure>\n    </testcase>\n",
            code = xml(&d.code),
            name = xml(&d.name),
            place = xml(&place),
            file = xml(&source.name),
            message = xml(&d.message),
            text = xml(&text),
        );
    }
    let mut passed = 0;
    if rules_ran {
        for rule in crate::lint::RULES {
            if diags.iter().any(|d| d.code == rule.code) {
                continue;
            }
            passed += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"berrys.{code}\" name=\"{code} {name}\" file=\"{file}\"/>",
                code = rule.code,
                name = rule.name,
                file = xml(&source.name),
            );
        }
    }
    let failures = diags.len();
    let tests = failures + passed;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"berrys lint\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"{file}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        file = xml(&source.name),
    )
}

/// Text as XML attribute or element content. Characters XML 1.0 does not allow at all
/// (control characters but tab and newlines) become U+FFFD.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(xml("x\u{1}y\nz"), "x\u{FFFD}y&#10;z");
    }
}
