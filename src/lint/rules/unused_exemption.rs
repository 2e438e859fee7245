use crate::lint::{Check, Exemption, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR018",
    name: "unused-exemption",
    level: Level::Warning,
    summary: "A `[[lint.exempt]]` that matched nothing, or has expired",
    docs: DOCS,
    check: Check::Exemptions,
};

const DOCS: &str = r#"## What it checks
Every `[[lint.exempt]]` entry after all environments are linted: an entry that exempted no
finding is reported as unused, an entry whose `expires` date has passed is reported as
expired (and no longer applies). An entry for an environment that was not linted (`--env`
named another one) is not reported as unused.

## Why it matters
Exemptions are debt with a reason attached. When the problem is fixed, the exemption stays
behind and would silently hide the problem if it came back; an expired exemption means the
promised fix did not happen. Reporting both keeps the list short and honest.

## Example
```toml
[[lint.exempt]]
rule = "critical-single-replica"
service = "api"          # api now runs 3 replicas: nothing to exempt
reason = "waiting for the new node pool"
expires = "2026-01-31"
```

## How to fix
Delete the entry, or, if the problem is still there and still accepted, correct its
`rule`, `env` or `service`, or move `expires` with a new reason.
"#;

fn scope(ex: &Exemption) -> String {
    let mut parts = vec![format!("{} {}", ex.rule.code, ex.rule.name)];
    if let Some(s) = &ex.service {
        parts.push(format!("service `{s}`"));
    }
    if let Some(e) = &ex.env {
        parts.push(format!("environment `{e}`"));
    }
    parts.join(", ")
}

/// An exemption that exempted nothing in any linted environment.
pub fn unused(ex: &Exemption) -> Finding {
    RULE.finding(
        None,
        format!("exemption for {} matches no finding", scope(ex)),
        ex.span.clone(),
        "exempts nothing",
    )
    .help(format!(
        "the problem it was added for (\"{}\") is gone: delete this `[[lint.exempt]]`",
        ex.reason
    ))
}

/// An exemption past its `expires` date: it no longer applies.
pub fn expired(ex: &Exemption, today: &str) -> Finding {
    let expires = ex.expires.clone().unwrap_or_default();
    RULE.finding(
        None,
        format!("exemption for {} expired on {expires}", scope(ex)),
        ex.expires_span.clone().unwrap_or_else(|| ex.span.clone()),
        format!("expired (today is {today})"),
    )
    .help("it no longer applies: fix what it exempted and delete it, or set a new `expires` with a new reason")
}
