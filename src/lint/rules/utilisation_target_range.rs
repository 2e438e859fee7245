use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR014",
    name: "utilisation-target-range",
    level: Level::Warning,
    summary: "CPU/memory utilisation target outside 40–90 %",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
The `cpu_target` and `memory_target` of every autoscaled service (from its tier or its
override): each must be between 40 and 90 percent of the requests.

## Why it matters
Below 40 % the autoscaler keeps more than twice the pods the load needs: the platform pays for
idle capacity and the pools of all those pods count against the datastores. Above 90 % there
is no headroom for the time a new pod takes to start: a burst saturates the existing pods
before help arrives, and memory above 90 % of the request is close to eviction.

## Example
```toml
[scaling.batch]
min_replicas = 2
max_replicas = 20
cpu_target = 95
```

## How to fix
Use a target between 40 and 90; 60–75 suits most request-driven services.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(auto) = svc.replicas.autoscale() else {
            continue;
        };
        for (key, target) in [
            ("cpu_target", &auto.cpu_target),
            ("memory_target", &auto.memory_target),
        ] {
            let Some(t) = target else { continue };
            let v = *t.get_ref();
            if (40..=90).contains(&v) {
                continue;
            }
            let why = if v < 40 { "below 40%" } else { "above 90%" };
            out.push(
                RULE.finding(
                    Some(svc.name.get_ref()),
                    format!("`{}` autoscales at {key} {v}%, {why}", svc.name.get_ref()),
                    t.span(),
                    why,
                )
                .label(auto.tier.span(), format!("tier `{}`", auto.tier.get_ref()))
                .help(if v < 40 {
                    "a target below 40% keeps more than twice the pods the load needs; use 40–90"
                } else {
                    "a target above 90% leaves no headroom while new pods start; use 40–90"
                }),
            );
        }
    }
    out
}
