use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR015",
    name: "missing-resources",
    level: Level::Error,
    summary: "No CPU/memory requests or limits",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every service's `resources`: all four of `cpu`, `memory` (requests), `cpu_limit` and
`memory_limit` must be set. One finding per service lists what is missing.

## Why it matters
Without requests the scheduler places pods blind and the HPA cannot compute utilisation (it
reports `<unknown>` and never scales). Without limits one leaking pod can take a node's memory
and get its neighbours evicted. A namespace with a ResourceQuota rejects pods without them
outright. Every capacity check of berrys (quota, pools) also needs them.

## Example
```toml
[services.api]
resources = { cpu = "250m" }       # no memory, no limits
```

## How to fix
Set all four, from observed usage (the service dashboard shows CPU and memory against
requests and limits):

```toml
resources = { cpu = "250m", memory = "256Mi", cpu_limit = "1", memory_limit = "512Mi" }
```
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let r = svc.resources.get_ref();
        let missing: Vec<&str> = [
            ("cpu", r.cpu.is_none()),
            ("memory", r.memory.is_none()),
            ("cpu_limit", r.cpu_limit.is_none()),
            ("memory_limit", r.memory_limit.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, missing)| missing.then_some(k))
        .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!("`{}` has no {}", svc.name.get_ref(), missing.join(", ")),
                svc.resources.span(),
                format!("missing {}", missing.join(", ")),
            )
            .help("set `resources = { cpu, memory, cpu_limit, memory_limit }` from observed usage"),
        );
    }
    out
}
