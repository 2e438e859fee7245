use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR019",
    name: "delivery-without-slo",
    level: Level::Error,
    summary: "A canary or blue-green release gated on SLOs the service does not have",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every service whose delivery profile is a canary or blue-green release with `analysis = true`
(the default) must have an `slo`: the analysis measures the new version against it.

## Why it matters
berrys gates each canary step, and the blue-green switch, on the burn rate of the new
version's own pods against the service's error budget. Without an objective there is no
budget and nothing to measure: no AnalysisTemplate is rendered, the steps only wait out
their pause, and a broken version is promoted to all traffic on schedule. The release looks
protected in review and is not.

## Example
```toml
[delivery.canary]
strategy = "canary"

[services.search]
delivery = "canary"     # analysis = true by default
# no slo
```

## How to fix
Add an objective (`slo = { availability = 99.9 }`), or say that the release is not gated:
`delivery = { profile = "canary", analysis = false }`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(delivery) = &svc.delivery else {
            continue;
        };
        if !*delivery.analysis.get_ref() || svc.slo.is_some() {
            continue;
        }
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!(
                    "`{}` gates its releases on SLOs (`{}` analyses them), but has no `slo`",
                    svc.name.get_ref(),
                    delivery.profile.get_ref()
                ),
                delivery.span.clone(),
                "analysed release",
            )
            .help(format!(
                "add `slo = {{ availability = 99.9 }}`, or write `delivery = {{ profile = \"{}\", analysis = false }}` for an ungated release",
                delivery.profile.get_ref()
            )),
        );
    }
    out
}
