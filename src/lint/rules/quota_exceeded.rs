use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::capacity::{self, RESOURCE_KINDS};

pub const RULE: Rule = Rule {
    code: "BR011",
    name: "quota-exceeded",
    level: Level::Error,
    summary: "Σ of requests/limits at max replicas (+ surge or blue-green) above the namespace quota",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
When `[platform] quota` is set: for each of `cpu`, `memory`, `cpu_limit` and `memory_limit`
in it, the sum over all services of that resource × (maximum replicas + the pods its release
strategy adds: the rolling surge of 25 %, rounded up; for blue-green both versions at full
size; for an nginx canary the canary beside a stable version scaled back up on abort — the
same count as BR003). Each service that contributes is labelled with its share.
`berrys capacity` prints the same totals at minimum and at peak, with the share of the
quota they take.

## Why it matters
The ResourceQuota caps what the namespace's pods may request. When autoscalers reach their
maximum during a rollout, pods beyond the quota are rejected at admission: the scale-up that
was supposed to absorb load fails exactly when it is needed, and a rollout can stall with
its surge pods unschedulable.

## Example
```toml
[platform]
quota = { cpu = "4" }

[services.api]
resources = { cpu = "500m" }
scaling = { tier = "standard", max_replicas = 8 }   # 500m × (8 + 2) = 5 cores
```

## How to fix
Raise the quota, lower `max_replicas`, or lower the services' requests (after checking
their real usage on the service dashboards).
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for kind in RESOURCE_KINDS {
        let total = capacity::resource_total(&c.platform, kind);
        let Some(limit) = total.quota else {
            continue;
        };
        if !total.exceeds_quota() {
            continue;
        }
        let key = kind.key;
        let mut f = RULE
            .finding(
                None,
                format!(
                    "at maximum replicas the services request {} {key}, above the namespace quota of {}",
                    kind.show(total.at_peak),
                    limit.get_ref().text
                ),
                limit.span(),
                format!("quota {key} = {}", limit.get_ref().text),
            )
            .help(format!(
                "pods beyond the quota are rejected when autoscalers scale up: raise `quota.{key}`, lower `max_replicas`, or lower the services' `{key}`"
            ));
        for share in &total.shares {
            f = f.label(
                share.each.span(),
                format!(
                    "{}: {} × {} = {}",
                    share.service.name.get_ref(),
                    share.each.get_ref().text,
                    share.peak.formula(),
                    kind.show(share.at_peak)
                ),
            );
        }
        out.push(f);
    }
    out
}
