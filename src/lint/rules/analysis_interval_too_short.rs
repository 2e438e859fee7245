use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::{ANALYSIS_WINDOW as WINDOW, Strategy};

pub const RULE: Rule = Rule {
    code: "BR021",
    name: "analysis-interval-too-short",
    level: Level::Warning,
    summary: "A release step shorter than two scrapes or the analysis window, or a blue-green scale-down delay shorter than the analysis",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
For every canary or blue-green service with `analysis = true`: its `pause` (how long each
step is analysed) must be at least twice `[observability] scrape_interval`, and at least the
rate window of the analysis query (5 minutes, the page alert's short window). For a
blue-green release, `scale_down_delay` (when set) must be at least `pause`, the length of
the post-promotion analysis.

## Why it matters
A rate needs two samples of the new version's pods: a step shorter than two scrapes ends
before Prometheus has seen the new version twice, and its measurements are empty (the
release pauses as inconclusive) or stem from a single scrape. A step shorter than the rate
window is judged on less traffic than the window assumes; the analysis takes a single
measurement at most, and the first minute of a new version, when caches are cold and
errors are most likely, weighs as much as the rest.

Argo Rollouts scales the old blue-green version down when `scaleDownDelaySeconds` runs out
and cancels a post-promotion analysis still running then; a run cancelled before its last
measurement without a failure ends *Successful*. With a delay shorter than the analysis, the
automatic rollback after the switch is cut short and reported as passed.

## Example
```toml
[observability]
scrape_interval = "30s"

[delivery.canary]
strategy = "canary"
pause = "45s"           # fewer than two scrapes, and shorter than the 5m window
```

## How to fix
Lengthen `pause` to at least `5m` (and twice the scrape interval), or scrape more often.
Give a blue-green profile a `scale_down_delay` of at least its `pause`, or leave it out
(Argo then keeps the old version until the analysis has passed).
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let scrape = c.platform.observability.scrape_interval;
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(delivery) = &svc.delivery else {
            continue;
        };
        if !*delivery.analysis.get_ref() {
            continue;
        }
        let pause = *delivery.pause.get_ref();
        if let Strategy::BlueGreen(bg) = &delivery.strategy
            && let Some(delay) = &bg.scale_down_delay
            && delay.get_ref().millis < pause.millis
        {
            out.push(
                RULE.finding(
                    Some(svc.name.get_ref()),
                    format!(
                        "`{}` scales its old version down {} after the switch, before the post-promotion analysis of {pause} ends",
                        svc.name.get_ref(),
                        delay.get_ref()
                    ),
                    delay.span(),
                    "scale-down delay",
                )
                .label(delivery.pause.span(), "analysis length")
                .help(format!(
                    "Argo Rollouts cancels the analysis then and reports it passed: set `scale_down_delay = \"{pause}\"` or more, or remove it"
                )),
            );
        }
        let two_scrapes = scrape.millis * 2;
        let short_of = if pause.millis < two_scrapes {
            format!("two scrapes ({scrape} each)")
        } else if pause.millis < WINDOW.millis {
            format!("the analysis window of {WINDOW}")
        } else {
            continue;
        };
        let needed = crate::units::Duration {
            millis: two_scrapes.max(WINDOW.millis),
        };
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!(
                    "`{}` analyses each release step for {pause}, shorter than {short_of}",
                    svc.name.get_ref()
                ),
                delivery.pause.span(),
                "pause",
            )
            .help(format!(
                "set `pause = \"{needed}\"` or longer in `[delivery.{}]`",
                delivery.profile.get_ref()
            )),
        );
    }
    out
}
