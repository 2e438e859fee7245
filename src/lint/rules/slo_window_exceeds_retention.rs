use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR010",
    name: "slo-window-exceeds-retention",
    level: Level::Error,
    summary: "An SLO window longer than the Prometheus retention",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every SLO's `window` (default 30 days) against `[observability] retention` (default 15 days),
the time Prometheus keeps samples.

## Why it matters
The SLI over the SLO period and the error budget remaining are computed from the samples of
the whole window. With a shorter retention Prometheus silently evaluates over what it still
has: the budget looks healthier or worse than it is, and the period burn rate is wrong.

## Example
```toml
[observability]
retention = "15d"

[services.api]
slo = { availability = 99.9 }       # window defaults to 30d
```

## How to fix
Raise `retention` (and Prometheus' `--storage.tsdb.retention.time`) to at least the longest
window, or shorten the window (`window = "14d"`).
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let retention = &c.platform.observability.retention;
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(slo) = &svc.slo else { continue };
        let window = slo.window.get_ref();
        if window.millis <= retention.get_ref().millis {
            continue;
        }
        let mut f = RULE.finding(
            Some(svc.name.get_ref()),
            format!(
                "the {window} SLO window of `{}` is longer than the {} Prometheus retention",
                svc.name.get_ref(),
                retention.get_ref()
            ),
            slo.window.span(),
            if slo.window.span() == slo.span {
                format!("no `window`: the default is {window}")
            } else {
                format!("{window}")
            },
        );
        // A retention that is only the default has no place in the file.
        if retention.span() != (0..0) {
            f = f.label(
                retention.span(),
                format!("retention {}", retention.get_ref()),
            );
        }
        out.push(f.help(format!(
            "raise `[observability] retention` to at least {window}, or shorten the window"
        )));
    }
    out
}
