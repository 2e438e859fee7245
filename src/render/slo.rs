//! SLO arithmetic: the windows SLIs are recorded over, the factors and thresholds of the
//! burn-rate conditions ([`crate::model::burn`]), and every SLO of a platform with its
//! numbers as exact rationals. Alert rules and dashboards both read them from here.

use std::ops::{Div, Mul, Sub};

use super::promql::{Expr, Matcher, Ratio, binary, call, paren, range, sum};
pub use crate::model::burn::{BurnCondition, PAGE, TICKET};
use crate::model::{Observability, Platform, Service};
use crate::units::Duration;

pub const MINUTE: u64 = 60_000;
pub const HOUR: u64 = 60 * MINUTE;
pub const DAY: u64 = 24 * HOUR;

/// The windows every SLI is recorded over, besides the SLO period.
pub const SLI_WINDOWS: [u64; 7] = [
    5 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    6 * HOUR,
    DAY,
    3 * DAY,
];

/// The factor of a condition as an exact rational.
pub fn burn_factor(period: Duration, condition: &BurnCondition) -> Ratio {
    let (num, den) = condition.factor_fraction(period);
    Ratio::new(num, den)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sli {
    Availability,
    Latency { threshold: Duration },
}

/// One SLO of one service, with its numbers as exact rationals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slo {
    /// `<service>-<slo>`, the `sloth_id`.
    pub id: String,
    /// The environment's namespace: every query selects it and every recorded series
    /// carries it, so two environments in one Prometheus never see each other's traffic.
    pub namespace: String,
    pub service: String,
    /// `availability` or `latency`.
    pub slo: &'static str,
    /// The objective in percent (99.9).
    pub objective_percent: Ratio,
    /// The error budget as a fraction (0.001).
    pub budget: Ratio,
    pub period: Duration,
    pub sli: Sli,
    /// The service's team, which its alerts carry.
    pub team: Option<String>,
}

/// Every SLO of the platform, by service then kind.
pub fn slos(platform: &Platform) -> Vec<Slo> {
    let mut out = Vec::new();
    for svc in platform.services.values() {
        service_slos(svc, &platform.namespace, &mut out);
    }
    out
}

/// The SLOs of one service, availability first.
pub fn service_slos(svc: &Service, namespace: &str, out: &mut Vec<Slo>) {
    {
        let Some(slo) = &svc.slo else { return };
        let name = svc.name.get_ref();
        let period = *slo.window.get_ref();
        let team = svc.team.as_ref().map(|t| t.get_ref().clone());
        if let Some(a) = &slo.availability {
            let objective = Ratio::from_f64(*a.get_ref());
            out.push(Slo {
                id: format!("{name}-availability"),
                namespace: namespace.to_string(),
                service: name.clone(),
                slo: "availability",
                objective_percent: objective,
                budget: Ratio::int(100).sub(objective).div(Ratio::int(100)),
                period,
                sli: Sli::Availability,
                team: team.clone(),
            });
        }
        if let Some(l) = &slo.latency {
            let objective = Ratio::from_f64(l.percentile);
            out.push(Slo {
                id: format!("{name}-latency"),
                namespace: namespace.to_string(),
                service: name.clone(),
                slo: "latency",
                objective_percent: objective,
                budget: Ratio::int(100).sub(objective).div(Ratio::int(100)),
                period,
                sli: Sli::Latency {
                    threshold: *l.threshold.get_ref(),
                },
                team,
            });
        }
    }
}

impl BurnCondition {
    /// The error ratio above which the condition holds for `slo`: factor × budget.
    pub fn threshold(&self, slo: &Slo) -> Ratio {
        burn_factor(slo.period, self).mul(slo.budget)
    }
}

/// Every window an SLO's SLI is recorded over: [`SLI_WINDOWS`] and its period, once each.
pub fn sli_windows(slo: &Slo) -> Vec<Duration> {
    let mut windows: Vec<Duration> = SLI_WINDOWS
        .iter()
        .map(|&millis| Duration { millis })
        .chain(std::iter::once(slo.period))
        .collect();
    windows.sort();
    windows.dedup();
    windows
}

/// The `le` bucket bound of a latency threshold. Clients print whole seconds as `1` and
/// Prometheus 3 normalises them to `1.0`; both spellings are matched.
pub fn le_matcher(threshold: Duration) -> Matcher {
    let secs = threshold.seconds_string();
    if secs.contains('.') {
        Matcher::eq("le", &secs)
    } else {
        Matcher::re("le", &format!("{secs}|{secs}\\.0"))
    }
}

fn rate_sum(metric: &str, matchers: Vec<Matcher>, window: Duration) -> Expr {
    sum(call("rate", range(metric, matchers, window)))
}

/// The two rates of an SLI's error ratio over a window, of the series that `extra` also
/// selects: bad requests (5xx, or slower than the threshold) and all requests, with the
/// counter whose increase counts the requests.
pub struct SliRates {
    pub errors: Expr,
    pub total: Expr,
    pub requests: (String, Vec<Matcher>),
}

pub fn sli_rates(o: &Observability, slo: &Slo, window: Duration, extra: &[Matcher]) -> SliRates {
    let mut svc = vec![
        Matcher::eq("namespace", &slo.namespace),
        Matcher::eq(&o.service_label, &slo.service),
    ];
    svc.extend_from_slice(extra);
    let with = |m: Matcher| {
        let mut all = svc.clone();
        all.insert(2, m);
        all
    };
    match slo.sli {
        Sli::Availability => SliRates {
            errors: rate_sum(
                &o.requests_metric,
                with(Matcher::re(&o.code_label, "5..")),
                window,
            ),
            total: rate_sum(&o.requests_metric, svc.clone(), window),
            requests: (o.requests_metric.clone(), svc),
        },
        Sli::Latency { threshold } => {
            let count = format!("{}_count", o.latency_metric);
            let bucket = format!("{}_bucket", o.latency_metric);
            SliRates {
                errors: paren(binary(
                    rate_sum(&count, svc.clone(), window),
                    "-",
                    rate_sum(&bucket, with(le_matcher(threshold)), window),
                )),
                total: rate_sum(&count, svc.clone(), window),
                requests: (count, svc),
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn days(n: u64) -> Duration {
        Duration { millis: n * DAY }
    }

    fn factors(period: Duration) -> Vec<String> {
        PAGE.iter()
            .chain(TICKET.iter())
            .map(|c| burn_factor(period, c).to_string())
            .collect()
    }

    #[test]
    fn burn_factors_scale_with_the_slo_window() {
        assert_eq!(factors(days(30)), ["14.4", "6", "3", "1"]);
        assert_eq!(
            factors(days(28)),
            ["13.44", "5.6", "2.8", "0.933333333333333"]
        );
        assert_eq!(
            factors(days(7)),
            ["3.36", "1.4", "0.7", "0.233333333333333"]
        );
        assert_eq!(factors(days(90)), ["43.2", "18", "9", "3"]);
        // A window that is not a whole number of days.
        assert_eq!(
            factors(Duration { millis: 36 * HOUR }),
            ["0.72", "0.3", "0.15", "0.05"]
        );
    }

    /// An availability SLO of a service `svc`.
    pub(crate) fn slo(objective: f64, period: Duration) -> Slo {
        let objective = Ratio::from_f64(objective);
        Slo {
            id: "svc-availability".to_string(),
            namespace: "ns".to_string(),
            service: "svc".to_string(),
            slo: "availability",
            objective_percent: objective,
            budget: Ratio::int(100).sub(objective).div(Ratio::int(100)),
            period,
            sli: Sli::Availability,
            team: None,
        }
    }

    fn thresholds(s: &Slo) -> Vec<String> {
        PAGE.iter()
            .chain(TICKET.iter())
            .map(|c| burn_factor(s.period, c).mul(s.budget).to_string())
            .collect()
    }

    #[test]
    fn budgets_and_thresholds_are_exact_decimals() {
        let s = slo(99.9, days(30));
        assert_eq!(s.budget.to_string(), "0.001");
        assert_eq!(thresholds(&s), ["0.0144", "0.006", "0.003", "0.001"]);

        let s = slo(99.95, days(28));
        assert_eq!(s.budget.to_string(), "0.0005");
        assert_eq!(
            thresholds(&s),
            ["0.00672", "0.0028", "0.0014", "0.000466666666666667"]
        );

        let s = slo(99.99, days(7));
        assert_eq!(s.budget.to_string(), "0.0001");
        assert_eq!(
            thresholds(&s),
            ["0.000336", "0.00014", "0.00007", "0.0000233333333333333"]
        );

        let s = slo(95.0, days(90));
        assert_eq!(s.budget.to_string(), "0.05");
        assert_eq!(thresholds(&s), ["2.16", "0.9", "0.45", "0.15"]);

        // 1 - 0.999 is 0.0009999999999999432 in binary floating point.
        let s = slo(99.9, days(30));
        assert_eq!(Ratio::int(1).sub(s.budget).to_string(), "0.999");
    }

    #[test]
    fn every_recorded_window_includes_the_period_once() {
        let s = slo(99.9, days(3));
        let windows: Vec<String> = sli_windows(&s).iter().map(|w| w.to_string()).collect();
        assert_eq!(windows, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
        let s = slo(99.9, days(28));
        // Printed as Prometheus prints durations (and Sloth names its rules): 28d is 4w.
        assert_eq!(sli_windows(&s).last().unwrap().to_string(), "4w");
        assert_eq!(sli_windows(&s).len(), 8);
    }
}
