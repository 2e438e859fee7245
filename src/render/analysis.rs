//! The release gate of a canary or blue-green service, as PromQL: for each of its SLOs, the
//! burn rate of the new version's pods alone. The AnalysisTemplate asks it of Prometheus and
//! `prometheus/analysis.test.yaml` proves it on synthetic series; both read it from here.

use super::promql::{Expr, Matcher, Ratio, binary, binary_on, call, number, paren, range, sum};
use super::slo::{PAGE, Slo, burn_factor, service_slos, sli_rates};
use crate::model::{Delivery, Observability, Service};
use crate::units::Duration;

/// The label Argo Rollouts gives every pod of a version, as Prometheus writes it once the
/// PodMonitor copies it onto the series.
pub const HASH_LABEL: &str = "rollouts_pod_template_hash";
/// The pod label itself.
pub const HASH_POD_LABEL: &str = "rollouts-pod-template-hash";
/// The AnalysisTemplate's argument carrying the new version's hash.
pub const HASH_ARG: &str = "canary-hash";

/// The rate window of every analysis query (the page alert's short window).
pub const WINDOW: Duration = crate::model::ANALYSIS_WINDOW;

/// One measured SLO of a service.
#[derive(Debug, Clone)]
pub struct Gate {
    pub slo: Slo,
    /// The burn rate at which the measurement fails.
    pub max_burn_rate: Ratio,
    pub min_requests: u64,
}

/// Whether a service's releases are analysed: its delivery asks for it and it has an SLO
/// to measure (BR019 reports the other case).
pub fn gated(service: &Service) -> bool {
    service
        .delivery
        .as_ref()
        .is_some_and(|d| *d.analysis.get_ref())
        && service
            .slo
            .as_ref()
            .is_some_and(|s| s.availability.is_some() || s.latency.is_some())
}

/// The gates of a service whose delivery is analysed: one per SLO, each measuring the
/// service's pods in `namespace` alone.
pub fn gates(service: &Service, namespace: &str) -> Vec<Gate> {
    let Some(delivery) = service.delivery.as_ref().filter(|d| *d.analysis.get_ref()) else {
        return Vec::new();
    };
    let mut slos = Vec::new();
    service_slos(service, namespace, &mut slos);
    slos.into_iter()
        .map(|slo| Gate {
            max_burn_rate: delivery.max_burn_rate.as_ref().map_or_else(
                || burn_factor(slo.period, &PAGE[0]),
                |m| Ratio::from_f64(*m.get_ref()),
            ),
            min_requests: delivery.min_requests,
            slo,
        })
        .collect()
}

/// The new version's burn rate: its error ratio over [`WINDOW`] divided by the budget.
///
/// A version with no bad request has no error series at all, so the errors default to 0;
/// a version without traffic, or with fewer than `min_requests` requests in the window,
/// returns nothing (inconclusive), never a ratio of nothing.
pub fn query(o: &Observability, gate: &Gate, hash: &str) -> Expr {
    let version = [Matcher::eq(HASH_LABEL, hash)];
    let rates = sli_rates(o, &gate.slo, WINDOW, &version);
    let errors = paren(binary_on(
        rates.errors,
        "or",
        "on()",
        call("vector", number(Ratio::int(0))),
    ));
    let burn = binary(
        paren(binary(errors, "/", rates.total)),
        "/",
        number(gate.slo.budget),
    );
    let (counter, matchers) = rates.requests;
    let requests = binary(
        sum(call("increase", range(&counter, matchers, WINDOW))),
        ">=",
        number(Ratio::int(i128::from(gate.min_requests))),
    );
    binary_on(burn, "and", "on()", requests)
}

/// Argo Rollouts' conditions on a measurement: both false on an empty result (guarded
/// before the index, so never an index error), and on NaN.
pub fn success_condition(gate: &Gate) -> String {
    format!(
        "len(result) == 1 && !isNaN(result[0]) && result[0] <= {}",
        gate.max_burn_rate
    )
}

pub fn failure_condition(gate: &Gate) -> String {
    format!(
        "len(result) == 1 && !isNaN(result[0]) && result[0] > {}",
        gate.max_burn_rate
    )
}

/// When the measurements of one analysis run are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub count: u64,
}

/// Measurements every minute, or every two scrapes if that is longer (a rate needs two
/// samples), as many as fit in the pause; the first one interval in, so the new pods have
/// been scraped.
pub fn schedule(o: &Observability, delivery: &Delivery) -> Schedule {
    let interval = Duration {
        millis: (2 * o.scrape_interval.millis).max(60_000),
    };
    let interval = Duration::from_secs(interval.ceil_secs());
    Schedule {
        interval,
        count: (delivery.pause.get_ref().millis / interval.millis).max(1),
    }
}
