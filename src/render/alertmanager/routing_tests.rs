//! `alertmanager/routing-tests.yaml`: for every service and severity, the labels of an
//! alert of that service and severity and the receiver the alert must reach, as
//! `[alerting]` says. Run through `amtool config routes test --verify.receivers=…`, they
//! prove the rendered tree routes as the platform was written.
//!
//! The file is a head and one piece per service, each written as its cases come (on
//! every core); a test holds it equal to the document serialised whole.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Service;
use crate::model::alerting::{Alerting, Severity};
use crate::render::RenderError;
use crate::render::prometheus::Rule;
use crate::yaml;

#[derive(Debug, Serialize)]
struct RoutingTests {
    tests: Vec<Case>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    service: String,
    severity: &'static str,
    receiver: String,
    /// The alert's labels with `alertname`: those of the service's first alert of the
    /// severity, or, where it has none (no berrys alert is `info`), the labels every alert
    /// of the service carries.
    labels: BTreeMap<String, String>,
}

/// The cases of one service, from its first alert of each severity
/// ([`crate::render::prometheus::RuleRenderer::first_alert_by_severity`]).
pub fn service_cases(alerting: &Alerting, service: &Service, alerts: &[Rule]) -> Vec<Case> {
    let team = service.team.as_ref().map(|t| t.get_ref().as_str());
    Severity::ALL
        .into_iter()
        .map(|severity| Case {
            service: service.name.get_ref().clone(),
            severity: severity.label(),
            receiver: alerting.destination(team, severity).receiver.to_string(),
            labels: labels(service, alerts, severity),
        })
        .collect()
}

/// The cases of the platform's own alerts (the capacity group, `scope: platform`): the first
/// of each alert name, routed as an alert of no team.
pub fn platform_cases(alerting: &Alerting, alerts: &[Rule]) -> Vec<Case> {
    let mut seen = std::collections::BTreeSet::new();
    alerts
        .iter()
        .filter(|a| a.alert.as_ref().is_some_and(|n| seen.insert(n.clone())))
        .filter_map(|a| {
            let label = a.labels.get("severity")?;
            let severity = Severity::ALL
                .into_iter()
                .find(|s| s.label_values().contains(&label.as_str()))?;
            let mut labels = a.labels.clone();
            labels.insert("alertname".to_string(), a.alert.clone()?);
            Some(Case {
                service: "platform".to_string(),
                severity: severity.label(),
                receiver: alerting.destination(None, severity).receiver.to_string(),
                labels,
            })
        })
        .collect()
}

/// One service's cases as items of the file's list, at column 0.
pub fn piece(cases: &[Case]) -> Result<String, RenderError> {
    Ok(yaml::recurring(&cases)?)
}

/// The file's start, up to its list's items, and their column.
pub fn head() -> Result<yaml::Head, RenderError> {
    Ok(yaml::list_head(
        &RoutingTests { tests: Vec::new() },
        "tests",
    )?)
}

/// The file serialised whole: what the tests compare the pieces with.
#[cfg(test)]
fn whole(cases: Vec<Case>) -> Result<String, RenderError> {
    Ok(yaml::document(yaml::Document::new(&RoutingTests {
        tests: cases,
    })?))
}

fn labels(service: &Service, alerts: &[Rule], severity: Severity) -> BTreeMap<String, String> {
    let of_severity = alerts.iter().find(|a| {
        a.labels
            .get("severity")
            .is_some_and(|s| severity.label_values().contains(&s.as_str()))
    });
    if let Some(alert) = of_severity {
        let mut labels = alert.labels.clone();
        if let Some(name) = &alert.alert {
            labels.insert("alertname".to_string(), name.clone());
        }
        return labels;
    }
    // Every alert of a service carries the same service, namespace and team labels.
    let mut labels: BTreeMap<String, String> = alerts
        .first()
        .map(|a| a.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "service" | "namespace" | "team"))
        .collect();
    labels.insert("service".to_string(), service.name.get_ref().clone());
    labels.insert("severity".to_string(), severity.label().to_string());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::OutputFile;
    use crate::render::prometheus::RuleRenderer;
    use crate::render::test_platforms;

    /// Platforms of the tests with a routing of their own: every one, with `[alerting]`
    /// added where it has none.
    #[test]
    fn pieces_equal_the_whole_serialisation() {
        let alerting_fixture = test_platforms::all()
            .into_iter()
            .find_map(|c| c.platform.alerting.clone())
            .expect("a valid fixture has [alerting]");
        let mut compared = 0;
        for mut compiled in test_platforms::all() {
            if compiled.platform.alerting.is_none() {
                compiled.platform.alerting = Some(alerting_fixture.clone());
            }
            let alerting = compiled.platform.alerting.as_ref().unwrap();
            let rules = RuleRenderer::new(&compiled).unwrap();
            let mut all = Vec::new();
            let mut pieces = Vec::new();
            for service in compiled.platform.services.values() {
                let alerts = rules.first_alert_by_severity(service).unwrap();
                let cases = service_cases(alerting, service, &alerts);
                pieces.push(piece(&cases).unwrap());
                all.extend(cases);
            }
            let head = head().unwrap();
            let file = OutputFile::new("t", head.text)
                .followed_by(std::sync::Arc::new(pieces), head.column)
                .joined();
            assert_eq!(file.contents, whole(all).unwrap());
            compared += 1;
        }
        assert!(compared > 3);
    }
}
