use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR013",
    name: "scale-down-thrash",
    level: Level::Warning,
    summary: "Scale-down stabilization below 60 s",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
The `scale_down.stabilization` of every autoscaled service (its tier's, or the service's
override) must be at least 60 seconds. Without `scale_down` the HPA default of 300 seconds
applies and nothing is reported.

## Why it matters
The stabilization window is how long the autoscaler remembers its highest recommendation
before scaling down. A short window follows every dip in load: pods are removed and re-added
within minutes, each new pod starts cold (connection pools, caches, JIT), and the service
oscillates between too few and too many replicas.

## Example
```toml
[scaling.web]
min_replicas = 2
max_replicas = 10
scale_down = { stabilization = "10s", max_percent = 50, period = "60s" }
```

## How to fix
Use at least `stabilization = "60s"`; 300 seconds (the Kubernetes default) suits most
services. Scale-up can stay fast: its window is separate.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(auto) = svc.replicas.autoscale() else {
            continue;
        };
        let Some(stab) = auto
            .scale_down
            .as_ref()
            .and_then(|p| p.stabilization.as_ref())
        else {
            continue;
        };
        if stab.get_ref().millis >= 60_000 {
            continue;
        }
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!(
                    "`{}` scales down after only {} of lower load",
                    svc.name.get_ref(),
                    stab.get_ref()
                ),
                stab.span(),
                "below 60s",
            )
            .label(auto.tier.span(), format!("tier `{}`", auto.tier.get_ref()))
            .help(
                "use a scale-down stabilization of at least 60s (300s is the Kubernetes default)",
            ),
        );
    }
    out
}
