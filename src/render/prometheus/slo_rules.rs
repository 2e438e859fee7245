//! The rule groups of one SLO: its SLI recorded over every window, its metadata (Sloth's
//! names and labels), and its page and ticket burn-rate alerts.

use std::collections::BTreeMap;
use std::ops::Sub;

use super::annotations::Annotations;
use super::{RuleGroup, alert, record};
use crate::model::Observability;
use crate::render::error::RenderError;
use crate::render::promql::{
    Expr, Matcher, Ratio, aggregate, binary, binary_on, call, number, paren, selector,
};
use crate::render::slo::{
    BurnCondition, DAY, MINUTE, PAGE, Slo, TICKET, burn_factor, sli_rates, sli_windows,
};
use crate::units::Duration;

fn slo_labels(slo: &Slo) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("namespace".to_string(), slo.namespace.clone()),
        ("sloth_id".to_string(), slo.id.clone()),
        ("sloth_service".to_string(), slo.service.clone()),
        ("sloth_slo".to_string(), slo.slo.to_string()),
    ])
}

/// The recorded series of one SLO, and only its environment's: the namespace is one of
/// its labels.
fn slo_matchers(slo: &Slo) -> Vec<Matcher> {
    slo_labels(slo)
        .iter()
        .map(|(k, v)| Matcher::eq(k, v))
        .collect()
}

/// The error ratio of an SLI over a window: a ratio of counts, so spiky traffic is weighed
/// by its volume (over the SLO period too, not an average of short ratios).
pub fn sli_error(o: &Observability, slo: &Slo, window: Duration) -> Expr {
    let rates = sli_rates(o, slo, window, &[]);
    binary(rates.errors, "/", rates.total)
}

fn sli_record_name(window: Duration) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

fn recorded(window: Duration, slo: &Slo) -> Expr {
    selector(&sli_record_name(window), slo_matchers(slo))
}

/// `max without (sloth_window) (ratio > threshold)` over both windows of a condition.
fn burn_condition(slo: &Slo, condition: &BurnCondition) -> Expr {
    let threshold = condition.threshold(slo);
    let over = |w: Duration| {
        aggregate(
            "max",
            true,
            &["sloth_window"],
            binary(recorded(w, slo), ">", number(threshold)),
        )
    };
    paren(binary(over(condition.short), "and", over(condition.long)))
}

fn burn_alert_expr(slo: &Slo, conditions: &[BurnCondition; 2]) -> Expr {
    binary(
        burn_condition(slo, &conditions[0]),
        "or",
        burn_condition(slo, &conditions[1]),
    )
}

/// The annotation values of an SLO's alerts.
fn slo_context(slo: &Slo) -> BTreeMap<&'static str, String> {
    let share = |c: &BurnCondition| c.budget_percent.to_string();
    BTreeMap::from([
        ("service", slo.service.clone()),
        ("slo", slo.slo.to_string()),
        ("objective", slo.objective_percent.to_string()),
        ("window", slo.period.to_string()),
        ("page_fraction_1h", share(&PAGE[0])),
        ("page_fraction_6h", share(&PAGE[1])),
        (
            "page_factor_1h",
            burn_factor(slo.period, &PAGE[0]).to_string(),
        ),
        (
            "page_factor_6h",
            burn_factor(slo.period, &PAGE[1]).to_string(),
        ),
        (
            "ticket_factor_1d",
            burn_factor(slo.period, &TICKET[0]).to_string(),
        ),
        (
            "ticket_factor_3d",
            burn_factor(slo.period, &TICKET[1]).to_string(),
        ),
    ])
}

pub const PAGE_ALERT: &str = "ErrorBudgetBurnFast";
pub const TICKET_ALERT: &str = "ErrorBudgetBurnSlow";

/// The three groups of one SLO: SLI recordings, SLO metadata, burn-rate alerts.
pub fn slo_groups(
    o: &Observability,
    slo: &Slo,
    annotations: &Annotations,
) -> Result<Vec<RuleGroup>, RenderError> {
    let labels = slo_labels(slo);
    let sli = sli_windows(slo)
        .into_iter()
        .map(|w| {
            let mut l = labels.clone();
            l.insert("sloth_window".to_string(), w.to_string());
            record(&sli_record_name(w), sli_error(o, slo, w), l)
        })
        .collect();

    let on = "on (namespace, sloth_id, sloth_service, sloth_slo) group_left";
    let budget = selector("slo:error_budget:ratio", slo_matchers(slo));
    let mut info = labels.clone();
    info.insert(
        "sloth_objective".to_string(),
        slo.objective_percent.to_string(),
    );
    let meta = vec![
        record(
            "slo:objective:ratio",
            call("vector", number(Ratio::int(1).sub(slo.budget))),
            labels.clone(),
        ),
        record(
            "slo:error_budget:ratio",
            call("vector", number(slo.budget)),
            labels.clone(),
        ),
        record(
            "slo:time_period:days",
            call(
                "vector",
                number(Ratio::new(i128::from(slo.period.millis), i128::from(DAY))),
            ),
            labels.clone(),
        ),
        record(
            "slo:current_burn_rate:ratio",
            binary_on(
                recorded(Duration { millis: 5 * MINUTE }, slo),
                "/",
                on,
                budget.clone(),
            ),
            labels.clone(),
        ),
        record(
            "slo:period_burn_rate:ratio",
            binary_on(recorded(slo.period, slo), "/", on, budget),
            labels.clone(),
        ),
        record(
            "slo:period_error_budget_remaining:ratio",
            binary(
                number(Ratio::int(1)),
                "-",
                selector("slo:period_burn_rate:ratio", slo_matchers(slo)),
            ),
            labels.clone(),
        ),
        record(
            "sloth_slo_info",
            call("vector", number(Ratio::int(1))),
            info,
        ),
    ];

    let ctx = slo_context(slo);
    let mut alerts = Vec::new();
    for (name, severity, conditions) in [
        (PAGE_ALERT, "page", &PAGE),
        (TICKET_ALERT, "ticket", &TICKET),
    ] {
        // The SLO's own labels are static too (equal to those the expression yields), so
        // the availability and latency alerts of one service are distinct rules.
        let mut alert_labels = labels.clone();
        alert_labels.insert("severity".to_string(), severity.to_string());
        alert_labels.insert("sloth_severity".to_string(), severity.to_string());
        alert_labels.insert("service".to_string(), slo.service.clone());
        if let Some(team) = &slo.team {
            alert_labels.insert("team".to_string(), team.clone());
        }
        alerts.push(alert(
            name,
            burn_alert_expr(slo, conditions),
            None,
            alert_labels,
            annotations.render(name, &slo.service, &ctx)?,
        ));
    }
    Ok(vec![
        RuleGroup {
            name: format!("berrys-slo-{}-sli", slo.id),
            rules: sli,
        },
        RuleGroup {
            name: format!("berrys-slo-{}-meta", slo.id),
            rules: meta,
        },
        RuleGroup {
            name: format!("berrys-slo-{}-alerts", slo.id),
            rules: alerts,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::slo::le_matcher;

    #[test]
    fn whole_second_bucket_bounds_match_both_spellings() {
        let m = le_matcher(Duration { millis: 1000 });
        assert_eq!(m.op, crate::render::promql::MatchOp::Re);
        assert_eq!(m.value, "1|1\\.0");
        let m = le_matcher(Duration { millis: 250 });
        assert_eq!(m.value, "0.25");
    }
}
