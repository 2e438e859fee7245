use std::ops::Range;

use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule, percent};
use crate::model::burn::{BurnCondition, PAGE, TICKET};
use crate::model::{Delivery, Service};
use crate::units::Duration;

pub const RULE: Rule = Rule {
    code: "BR027",
    name: "burn-rate-unreachable",
    level: Level::Warning,
    summary: "A burn-rate alert condition or release gate that would need more than every request to fail",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every objective of every SLO against the thresholds berrys derives from it. A burn-rate
condition holds when the error ratio exceeds `factor × budget`: 14.4, 6, 3 and 1 times the
budget for the 1h and 6h page conditions and the 1d and 3d ticket conditions of a 30-day
window (13.44, 5.6, 2.8 and 0.93 over 28 days). The release gate of an analysed canary or
blue-green service fails above `max_burn_rate` times the budget (by default the 1h page
factor). A threshold of 100 % of requests or more is reported, with every such condition
of the objective named. Objectives of 1 % or less are left to BR025, which reads them as
fractions.

## Why it matters
No more than every request can fail, so such a condition never holds. An objective of 90 %
leaves a budget of 10 %: the 1h page condition needs 144 % of requests to fail, a total
outage pages only through the slower 6h condition, and a release gate at the default rate
passes a version that fails every request. The alerts and the gate are rendered, reviewed
and trusted, and cannot trigger. The usual cause is an objective written too low (`90`
for `99.0`) or a `max_burn_rate` copied from a stricter service. A latency objective of
90 % (a p90 target) is in the same place: its fast page cannot hold either, and it pages
only through the 6h condition.

## Example
```toml
[delivery.canary]
strategy = "canary"

[services.search]
delivery = "canary"
slo = { availability = 90 }     # budget 10 %: the 1h page condition and the gate need 144 %
```

## How to fix
Raise the objective above the figure the help names, so every condition can hold; lower
`max_burn_rate` below one over the budget for the gate. If a low objective is what the
service promises, exempt it: `[[lint.exempt]]` with `rule = "BR027"` and the service.
"#;

/// One threshold of an objective, as the share of requests that must fail.
struct Threshold {
    source: Source,
    error_ratio: f64,
    /// The factor of the budget it is, for the objective that makes it reachable.
    factor: f64,
}

/// What a threshold belongs to; named only for a finding.
#[derive(Clone, Copy)]
enum Source {
    /// An alert (`page`, `ticket`) condition, by its long window.
    Alert(&'static str, Duration),
    /// The release gate.
    Gate,
}

impl Threshold {
    fn what(&self) -> String {
        match self.source {
            Source::Alert(alert, long) => format!("the {long} {alert} condition"),
            Source::Gate => "the release gate".to_string(),
        }
    }

    fn is_gate(&self) -> bool {
        matches!(self.source, Source::Gate)
    }
}

/// The objectives of a service's SLO: its kind, value in percent and where it is written.
fn objectives(service: &Service) -> [Option<(&'static str, f64, Range<usize>)>; 2] {
    let Some(slo) = &service.slo else {
        return [None, None];
    };
    [
        slo.availability
            .as_ref()
            .map(|a| ("availability", *a.get_ref(), a.span())),
        slo.latency
            .as_ref()
            .map(|l| ("latency", l.percentile, slo.span.clone())),
    ]
}

fn alert_thresholds(period: Duration, budget: f64) -> [Threshold; 4] {
    let threshold = |alert: &'static str, c: &BurnCondition| Threshold {
        source: Source::Alert(alert, c.long),
        error_ratio: c.factor(period) * budget,
        factor: c.factor(period),
    };
    [
        threshold("page", &PAGE[0]),
        threshold("page", &PAGE[1]),
        threshold("ticket", &TICKET[0]),
        threshold("ticket", &TICKET[1]),
    ]
}

fn gate_threshold(delivery: &Delivery, period: Duration, budget: f64) -> Option<Threshold> {
    if !*delivery.analysis.get_ref() {
        return None;
    }
    let factor = delivery.max_burn_rate_for(period);
    Some(Threshold {
        source: Source::Gate,
        error_ratio: factor * budget,
        factor,
    })
}

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(slo) = &svc.slo else { continue };
        let period = *slo.window.get_ref();
        for (kind, objective, span) in objectives(svc).into_iter().flatten() {
            // An objective written as a fraction is BR025's finding, with the cause named.
            let budget = (100.0 - objective) / 100.0;
            if budget <= 0.0 || super::percentage_out_of_scale::reads_as_fraction(objective) {
                continue;
            }
            let gate = svc
                .delivery
                .as_ref()
                .and_then(|d| gate_threshold(d, period, budget));
            let dead: Vec<Threshold> = alert_thresholds(period, budget)
                .into_iter()
                .chain(gate)
                .filter(|t| t.error_ratio >= 1.0)
                .collect();
            if dead.is_empty() {
                continue;
            }
            out.push(finding(svc, kind, objective, span, budget, &dead));
        }
    }
    out
}

fn finding(
    svc: &Service,
    kind: &str,
    objective: f64,
    span: Range<usize>,
    budget: f64,
    dead: &[Threshold],
) -> Finding {
    let name = svc.name.get_ref();
    let needs: Vec<String> = dead
        .iter()
        .map(|t| format!("{} ({} %)", t.what(), percent(t.error_ratio)))
        .collect();
    let mut finding = RULE.finding(
        Some(name),
        format!(
            "`{name}`'s {kind} objective leaves a budget of {} %: {} would need more than every request to fail",
            percent(budget),
            and_list(&needs)
        ),
        span,
        format!("{} % leaves {} %", percent(objective / 100.0), percent(budget)),
    );
    let mut help = Vec::new();
    let largest = dead
        .iter()
        .filter(|t| !t.is_gate())
        .map(|t| t.factor)
        .reduce(f64::max);
    if let Some(largest) = largest {
        help.push(format!(
            "raise the objective above {} % so every alert condition can hold",
            percent(1.0 - 1.0 / largest)
        ));
    }
    if dead.iter().any(Threshold::is_gate)
        && let Some(delivery) = &svc.delivery
    {
        let (gate_span, gate_label) = match &delivery.max_burn_rate {
            Some(m) => (
                m.span(),
                format!("fails above {} × the budget", m.get_ref()),
            ),
            None => (
                delivery.span.clone(),
                "gated at the 1h page factor by default".to_string(),
            ),
        };
        finding = finding.label(gate_span, gate_label);
        help.push(format!(
            "set `max_burn_rate` below {} for the gate",
            plain(1.0 / budget)
        ));
    }
    finding.help(format!(
        "{}; if the objective is meant, exempt `{name}` from BR027 in `[[lint.exempt]]`",
        help.join(", or ")
    ))
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A figure without float noise: `10`, `6.9444`.
fn plain(value: f64) -> String {
    percent(value / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ninety_percent_objective_loses_the_fast_page_condition_only() {
        let thirty = Duration::from_secs(30 * 86_400);
        let dead: Vec<String> = alert_thresholds(thirty, 0.1)
            .into_iter()
            .filter(|t| t.error_ratio >= 1.0)
            .map(|t| t.what())
            .collect();
        assert_eq!(dead, ["the 1h page condition"]);
        assert!(
            alert_thresholds(thirty, 0.001)
                .iter()
                .all(|t| t.error_ratio < 1.0)
        );
    }
}
