use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule, min_replicas_span};
use crate::model::Pdb;

pub const RULE: Rule = Rule {
    code: "BR005",
    name: "pdb-blocks-drain",
    level: Level::Error,
    summary: "A PDB that allows no disruption at the minimum replica count",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
A service's explicit `pdb`: `max_unavailable = 0`, or a `min_available` at or above the
fewest replicas the service can run with (its tier's `min_replicas`, or its fixed count).
The PodDisruptionBudgets berrys writes by itself (`maxUnavailable: 1`) never block.

## Why it matters
A node drain (cluster upgrade, node rotation, autoscaler scale-down) evicts pods only as far as
their PodDisruptionBudget allows. A budget that allows no eviction when the service runs at its
minimum blocks the drain indefinitely: upgrades stall and nodes cannot be removed, often
discovered at 2 a.m. during a maintenance window.

## Example
```toml
[services.api]
scaling = "standard"                 # min_replicas = 2
pdb = { min_available = 2 }          # at 2 replicas, nothing may be evicted
```

## How to fix
Use `max_unavailable = 1` (or remove `pdb`: berrys then writes `maxUnavailable: 1`), or keep
`min_available` below the minimum replica count by raising `min_replicas`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let min = svc.replicas.min();
        let (span, why) = match &svc.pdb {
            Some(Pdb::MaxUnavailable(n)) if *n.get_ref() == 0 => (
                n.span(),
                "max_unavailable = 0 allows no eviction at all".to_string(),
            ),
            Some(Pdb::MinAvailable(n)) if *n.get_ref() >= min => (
                n.span(),
                format!("{} of {min} pods must stay available", n.get_ref()),
            ),
            _ => continue,
        };
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!(
                    "the PodDisruptionBudget of `{}` allows no disruption at {min} replica{}",
                    svc.name.get_ref(),
                    if min == 1 { "" } else { "s" }
                ),
                span,
                why,
            )
            .label(min_replicas_span(svc), format!("can run with {min}"))
            .help("use `pdb = { max_unavailable = 1 }` or remove `pdb`, or raise the minimum replicas above `min_available`"),
        );
    }
    out
}
