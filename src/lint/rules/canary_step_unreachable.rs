use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::{Strategy, Traffic};

pub const RULE: Rule = Rule {
    code: "BR020",
    name: "canary-step-unreachable",
    level: Level::Warning,
    summary: "A canary step weighted by replicas that the minimum replica count cannot approximate",
    docs: DOCS,
    check: Check::Platform(check),
};

/// How far, in percentage points, the share of pods may be from a step's weight.
const TOLERANCE: u32 = 5;

const DOCS: &str = r#"## What it checks
For a canary with `traffic = "replicas"`, each step's weight against the shares of traffic
the service's minimum replica count can give the new version. Without a traffic router the
share is the share of pods behind the callers' Service: with `n` replicas, or `n + 1`
during the rollout's surge, the canary can only hold `c / n` or `c / (n + 1)` of the
traffic for `c` of its pods (at least one, and at least one stable pod). A step is reported
when the closest of those shares is more than 5 percentage points from its weight; the help
names the smallest replica count that reaches every step.

## Why it matters
Argo Rollouts rounds the weight to whole pods. 10 % of 2 pods is one pod of three: a third
of the traffic, not a tenth, goes to the untested version at the first step, and the gradual
release the profile promises is a coin toss. With an HPA the count may be higher at release
time, but the minimum is what a quiet night's release gets.

## Example
```toml
[delivery.canary]
strategy = "canary"
steps = [10, 25, 50, 75]

[services.search]
replicas = 2            # 10 % becomes 33 %, 25 % becomes 33 %, 75 % becomes 67 %
delivery = "canary"
```

## How to fix
Raise the minimum replicas to the count the help names, choose steps the count can reach
(`steps = [33, 67]` for 3 pods), or weigh traffic on the Ingress (`traffic = "nginx"`).
"#;

/// The shares of traffic, in percent, `replicas` pods can give a canary.
fn shares(replicas: u32) -> Vec<f64> {
    let mut out = Vec::new();
    for total in [replicas, replicas + 1] {
        for canary in 1..total {
            out.push(100.0 * f64::from(canary) / f64::from(total));
        }
    }
    out
}

/// The share closest to `weight`, if it is within the tolerance it is compared with.
fn closest(replicas: u32, weight: u32) -> Option<f64> {
    shares(replicas).into_iter().min_by(|a, b| {
        (a - f64::from(weight))
            .abs()
            .total_cmp(&(b - f64::from(weight)).abs())
    })
}

fn reachable(replicas: u32, weight: u32) -> bool {
    closest(replicas, weight).is_some_and(|s| (s - f64::from(weight)).abs() <= f64::from(TOLERANCE))
}

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(Strategy::Canary(canary)) = svc.delivery.as_ref().map(|d| &d.strategy) else {
            continue;
        };
        if canary.traffic != Traffic::Replicas {
            continue;
        }
        let min = svc.replicas.min();
        let weights: Vec<u32> = canary.steps.iter().map(|s| *s.get_ref()).collect();
        // Every step is reachable with 20 pods (shares 5 points apart at most).
        let enough = (min..=20)
            .find(|&n| weights.iter().all(|&w| reachable(n, w)))
            .unwrap_or(20);
        for step in &canary.steps {
            let weight = *step.get_ref();
            if reachable(min, weight) {
                continue;
            }
            let share = closest(min, weight).unwrap_or(100.0);
            out.push(
                RULE.finding(
                    Some(svc.name.get_ref()),
                    format!(
                        "canary step {weight}% of `{}` becomes {}% of the traffic with {min} replica{}",
                        svc.name.get_ref(),
                        share.round(),
                        if min == 1 { "" } else { "s" }
                    ),
                    step.span(),
                    format!("{weight}% of {min} pods"),
                )
                .label(
                    crate::lint::min_replicas_span(svc),
                    format!("{min} replicas at least"),
                )
                .help(format!(
                    "run at least {enough} replicas so every step is within {TOLERANCE} points, choose steps {min} pods can reach, or set `traffic = \"nginx\"` to weigh traffic on the Ingress"
                )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_whole_pods() {
        assert_eq!(closest(2, 10).map(f64::round), Some(33.0));
        assert!(!reachable(2, 10));
        assert!(reachable(4, 20) && reachable(4, 50));
        assert!(reachable(10, 10) && reachable(10, 25) && reachable(10, 75));
        // One pod has no canary share at all but 50 % during the surge.
        assert_eq!(shares(1), vec![50.0]);
    }
}
