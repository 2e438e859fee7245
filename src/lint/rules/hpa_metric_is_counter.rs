use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR024",
    name: "hpa-metric-is-counter",
    level: Level::Error,
    summary: "A custom HPA metric scaled on as a gauge whose name is a counter's (`_total`, `_count`, `_sum`, `_bucket`)",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every custom HPA metric in `metrics` that is a `gauge` (the default `kind`) must not be
named like a Prometheus counter: `*_total`, `*_count`, `*_sum`, `*_bucket` or `*_created`.

## Why it matters
A counter only grows. An HPA that averages it per pod against a `target` sees a value that
rises for as long as the pods run: it scales up to `max_replicas` and never scales down,
however little traffic there is. What was meant is the counter's rate (requests per
second per pod).

## Example
```toml
[services.api]
metrics = [{ name = "http_requests_total", target = 50 }]
```

## How to fix
Say that the metric is a counter; the prometheus-adapter rule berrys renders then exposes
its per-second rate under the same name, and `target` is per second:

```toml
metrics = [{ name = "http_requests_total", target = 50, kind = "rate" }]
```

If the series really is a gauge with an unlucky name, exempt the service with that reason.
"#;

/// Suffixes Prometheus naming gives counters and the parts of histograms and summaries.
const COUNTER_SUFFIXES: [&str; 5] = ["_total", "_count", "_sum", "_bucket", "_created"];

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, raw) in &c.platform.raw.services {
        for metric in &raw.get_ref().metrics {
            let metric = metric.get_ref();
            let gauge = metric.kind.as_ref().is_none_or(|k| k.get_ref() == "gauge");
            let metric_name = metric.name.get_ref();
            let Some(suffix) = COUNTER_SUFFIXES.iter().find(|s| metric_name.ends_with(*s)) else {
                continue;
            };
            if !gauge {
                continue;
            }
            out.push(
                RULE.finding(
                    Some(name.get_ref()),
                    format!(
                        "`{metric_name}` of `{}` is named like a counter (`{suffix}`) but scaled on as a gauge",
                        name.get_ref()
                    ),
                    metric.name.span(),
                    "a counter only grows: the HPA would scale up and stay up",
                )
                .help(format!(
                    "scale on its rate: `{{ name = \"{metric_name}\", target = {}, kind = \"rate\" }}`",
                    metric.target.get_ref()
                )),
            );
        }
    }
    out
}
