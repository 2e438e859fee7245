use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule, min_replicas_span};

pub const RULE: Rule = Rule {
    code: "BR006",
    name: "critical-single-replica",
    level: Level::Error,
    summary: "A critical service that can run with fewer than 2 replicas",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every service with `critical = true`: the fewest replicas it can run with in each environment
(its tier's `min_replicas` after overrides, its fixed `replicas`, or the environment's
`replicas` when autoscaling is off) must be at least 2.

## Why it matters
One replica is one pod: every deploy, node drain, eviction or crash is an outage of the
service, and its PodDisruptionBudget cannot protect it. A critical service is by definition
one whose outage pages someone.

## Example
```toml
[services.payments]
critical = true
replicas = 1
```

## How to fix
Run at least two replicas (`replicas = 2`, or a tier with `min_replicas = 2`). For an
environment that deliberately runs one replica of everything (local development), exempt it:

```toml
[[lint.exempt]]
rule = "critical-single-replica"
env = "local"
reason = "local development runs one replica of every service"
```
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let min = svc.replicas.min();
        if !*svc.critical.get_ref() || min >= 2 {
            continue;
        }
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!(
                    "critical service `{}` can run with {min} replica{}",
                    svc.name.get_ref(),
                    if min == 1 { "" } else { "s" }
                ),
                min_replicas_span(svc),
                format!("{min} replica{}", if min == 1 { "" } else { "s" }),
            )
            .label(svc.critical.span(), "critical")
            .help("run at least 2 replicas (`replicas = 2` or a tier with `min_replicas = 2`), or exempt the environment in `[[lint.exempt]]`"),
        );
    }
    out
}
