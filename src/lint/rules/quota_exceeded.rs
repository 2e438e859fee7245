use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::Resources;
use crate::units::{Quantity, number_quantity};

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

type Pick = fn(&Resources) -> Option<&toml::Spanned<Quantity>>;

fn check(c: &Compiled) -> Vec<Finding> {
    let p = &c.platform;
    let Some(quota) = &p.quota else {
        return Vec::new();
    };
    let kinds: [(&str, Pick, bool); 4] = [
        ("cpu", |r| r.cpu.as_ref(), true),
        ("memory", |r| r.memory.as_ref(), false),
        ("cpu_limit", |r| r.cpu_limit.as_ref(), true),
        ("memory_limit", |r| r.memory_limit.as_ref(), false),
    ];
    let mut out = Vec::new();
    for (key, pick, cores) in kinds {
        let Some(limit) = pick(quota.get_ref()) else {
            continue;
        };
        let show = |v: f64| if cores { number_quantity(v) } else { bytes(v) };
        let mut total = 0.0;
        let mut shares = Vec::new();
        for svc in p.services.values() {
            let Some(each) = pick(svc.resources.get_ref()) else {
                continue;
            };
            let peak = svc.peak_pods();
            let share = each.get_ref().value * f64::from(peak.total());
            total += share;
            shares.push((
                each.span(),
                format!(
                    "{}: {} × {} = {}",
                    svc.name.get_ref(),
                    each.get_ref().text,
                    peak.formula(),
                    show(share)
                ),
            ));
        }
        // Quantities are decimal fractions: compare with a tolerance far below a millicore.
        if total <= limit.get_ref().value * (1.0 + 1e-9) {
            continue;
        }
        let mut f = RULE
            .finding(
                None,
                format!(
                    "at maximum replicas the services request {} {key}, above the namespace quota of {}",
                    show(total),
                    limit.get_ref().text
                ),
                limit.span(),
                format!("quota {key} = {}", limit.get_ref().text),
            )
            .help(format!(
                "pods beyond the quota are rejected when autoscalers scale up: raise `quota.{key}`, lower `max_replicas`, or lower the services' `{key}`"
            ));
        for (span, text) in shares {
            f = f.label(span, text);
        }
        out.push(f);
    }
    out
}

/// Bytes in the largest binary unit that keeps a readable number.
fn bytes(v: f64) -> String {
    let units = [
        ("Ti", 1024f64.powi(4)),
        ("Gi", 1024f64.powi(3)),
        ("Mi", 1024f64.powi(2)),
        ("Ki", 1024.0),
    ];
    for (suffix, size) in units {
        if v >= size {
            let n = v / size;
            let text = format!("{n:.2}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return format!("{text}{suffix}");
        }
    }
    format!("{v}")
}
