use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR016",
    name: "critical-without-slo",
    level: Level::Warning,
    summary: "A critical service without an SLO",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every service with `critical = true` must have an `slo` (availability, latency, or both).

## Why it matters
berrys derives the burn-rate alerts, the SLO dashboard and the SLO composition checks
(BR004) from SLOs. A critical service without one pages only on symptoms like crash loops
and 5xx spikes, never on a slow burn of its users' patience, and the services that depend on
it cannot check what they promise.

## Example
```toml
[services.payments]
critical = true
# no slo
```

## How to fix
Add an objective, e.g. `slo = { availability = 99.9 }`, or
`slo = { availability = 99.9, latency = { threshold = "500ms", percentile = 95 } }`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        if !*svc.critical.get_ref() || svc.slo.is_some() {
            continue;
        }
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!("critical service `{}` has no SLO", svc.name.get_ref()),
                svc.critical.span(),
                "critical, but no `slo`",
            )
            .help(
                "add `slo = { availability = 99.9 }` (and a latency objective if it serves users)",
            ),
        );
    }
    out
}
