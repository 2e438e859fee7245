//! `alertmanager/routing-tests.yaml`: for every service and severity, the labels of an
//! alert of that service and severity and the receiver the alert must reach, as
//! `[alerting]` says. Run through `amtool config routes test --verify.receivers=…`, they
//! prove the rendered tree routes as the platform was written.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Service;
use crate::model::alerting::{Alerting, Severity};
use crate::render::prometheus::Rule;

#[derive(Debug, Serialize)]
pub struct RoutingTests {
    tests: Vec<Case>,
}

#[derive(Debug, Serialize)]
struct Case {
    service: String,
    severity: &'static str,
    receiver: String,
    /// The alert's labels with `alertname`: those of the first of the service's alerts
    /// of the severity, or, where it has none (no berrys alert is `info`), the labels
    /// every alert of the service carries.
    labels: BTreeMap<String, String>,
}

impl RoutingTests {
    pub fn new() -> RoutingTests {
        RoutingTests { tests: Vec::new() }
    }

    /// The cases of one service, from its alerts ([`crate::render::prometheus::RuleRenderer::service_alerts`]).
    pub fn add(&mut self, alerting: &Alerting, service: &Service, alerts: &[Rule]) {
        let team = service.team.as_ref().map(|t| t.get_ref().as_str());
        for severity in Severity::ALL {
            self.tests.push(Case {
                service: service.name.get_ref().clone(),
                severity: severity.label(),
                receiver: alerting.destination(team, severity).receiver.to_string(),
                labels: labels(service, alerts, severity),
            });
        }
    }
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
