use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR009",
    name: "latency-threshold-not-bucket",
    level: Level::Warning,
    summary: "A latency SLO threshold that is not a histogram bucket bound",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
When `[observability] latency_buckets` lists the bucket bounds of the request-duration
histogram, every latency SLO's `threshold` must be one of them.

## Why it matters
The latency SLI counts requests faster than the threshold from the histogram bucket whose
`le` is the threshold. Without such a bucket the series does not exist: the SLI is empty, the
SLO looks perfect and its burn-rate alerts can never fire.

## Example
```toml
[observability]
latency_buckets = ["100ms", "250ms", "1s"]

[services.api]
slo = { latency = { threshold = "300ms", percentile = 99 } }   # no 300ms bucket
```

## How to fix
Use a threshold that is a bucket bound (`"250ms"`), or add the bound to the service's
histogram and to `latency_buckets`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let o = &c.platform.observability;
    let Some(buckets) = &o.latency_buckets else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(latency) = svc.slo.as_ref().and_then(|s| s.latency.as_ref()) else {
            continue;
        };
        let threshold = latency.threshold.get_ref();
        if buckets.iter().any(|b| b.get_ref() == threshold) {
            continue;
        }
        let list: Vec<String> = buckets.iter().map(|b| b.get_ref().to_string()).collect();
        let nearest = buckets
            .iter()
            .min_by_key(|b| b.get_ref().millis.abs_diff(threshold.millis))
            .map(|b| b.get_ref().to_string());
        let mut f = RULE.finding(
            Some(svc.name.get_ref()),
            format!(
                "latency threshold {threshold} of `{}` is not a histogram bucket bound",
                svc.name.get_ref()
            ),
            latency.threshold.span(),
            "no bucket with this bound",
        );
        if let (Some(first), Some(last)) = (buckets.first(), buckets.last()) {
            f = f.label(
                first.span().start..last.span().end,
                format!("buckets: {}", list.join(", ")),
            );
        }
        out.push(f.help(match nearest {
            Some(n) => format!("use a bucket bound (the nearest is {n}), or add {threshold} to the histogram and to `latency_buckets`"),
            None => "add the threshold to the histogram and to `latency_buckets`".to_string(),
        }));
    }
    out
}
