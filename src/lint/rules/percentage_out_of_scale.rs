use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::Sp;

pub const RULE: Rule = Rule {
    code: "BR025",
    name: "percentage-out-of-scale",
    level: Level::Error,
    summary: "An SLO availability or latency percentile written as a fraction (0.999) where a percentage (99.9) is meant",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
`slo.availability` and `slo.latency.percentile` are percentages, between 0 and 100. A
value of 1 or less almost certainly is a fraction written where the percentage was meant:
`availability = 0.999` asks for 0.999 % of requests to succeed, not 99.9 %.

## Why it matters
The value is valid, so nothing else complains, and everything derived from it is wrong
without a sign: an availability objective of 0.999 % leaves an error budget of 99 % of all
requests, so the burn-rate alerts never fire, and a latency objective at the 0.95th
percentile holds for the fastest request in a hundred.

## Example
```toml
[services.api]
slo = { availability = 0.999, latency = { threshold = "300ms", percentile = 0.95 } }
```

## How to fix
Write percentages, as the finding suggests:

```toml
slo = { availability = 99.9, latency = { threshold = "300ms", percentile = 95 } }
```
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, raw) in &c.platform.raw.services {
        let Some(slo) = &raw.get_ref().slo else {
            continue;
        };
        let slo = slo.get_ref();
        let name = name.get_ref();
        if let Some(availability) = &slo.availability {
            out.extend(fraction(name, "availability", availability));
        }
        if let Some(latency) = &slo.latency {
            out.extend(fraction(
                name,
                "latency percentile",
                &latency.get_ref().percentile,
            ));
        }
    }
    out
}

/// A percentage in (0, 1]: almost certainly a fraction (BR027 leaves these to this rule).
pub fn reads_as_fraction(percent: f64) -> bool {
    percent > 0.0 && percent <= 1.0
}

/// A finding when `value` reads as a fraction of one.
fn fraction(service: &str, what: &str, value: &Sp<f64>) -> Option<Finding> {
    let v = *value.get_ref();
    if !reads_as_fraction(v) {
        return None;
    }
    let meant = crate::lint::percent(v);
    Some(
        RULE.finding(
            Some(service),
            format!("the {what} of `{service}` is {v} %, which reads as a fraction"),
            value.span(),
            format!("{v} %, not {meant} %"),
        )
        .help(format!(
            "percentages are written from 0 to 100: did you mean {meant}?"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(v: f64) -> Option<Finding> {
        fraction("api", "availability", &toml::Spanned::new(0..1, v))
    }

    #[test]
    fn fractions_of_one_are_found_and_percentages_are_not() {
        assert!(at(0.999).is_some());
        assert!(at(1.0).is_some());
        assert_eq!(
            at(0.9995).unwrap().diagnostic.help.as_deref(),
            Some("percentages are written from 0 to 100: did you mean 99.95?")
        );
        for v in [1.5, 50.0, 90.0, 99.9] {
            assert!(at(v).is_none(), "{v}");
        }
    }
}
