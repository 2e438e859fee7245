//! Prometheus rules: SLO recording rules and multi-window multi-burn-rate alerts (the Google
//! SRE Workbook scheme, with Sloth's rule names and labels), operational alerts per service,
//! generated `promtool test rules` cases, and the prometheus-adapter rules for custom HPA
//! metrics.
//!
//! What each group holds is said in [`slo_rules`] and [`operational`]; [`reuse`] makes
//! the groups of a kind from one pattern, which changes how fast, never what.

pub mod adapter;
pub mod analysis_tests;
mod annotations;
pub mod capacity;
pub mod operational;
pub mod promtool;
mod reuse;
pub mod slo_rules;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::promql::{Expr, Matcher, call, range, sum};
use crate::graph::Compiled;
use crate::model::{Platform, Service};
use crate::render::error::RenderError;
use crate::render::slo::{Slo, slos};
use crate::units::Duration;
use crate::yaml::{self, Document};
use annotations::Annotations;
use operational::OperationalInputs;
use reuse::RulePatterns;

pub use adapter::adapter_config_map;
pub use promtool::{TEST_FILE_PATH, promtool_tests};
pub use slo_rules::{PAGE_ALERT, TICKET_ALERT, sli_error, slo_groups};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn record(name: &str, expr: Expr, labels: BTreeMap<String, String>) -> Rule {
    Rule {
        record: Some(name.to_string()),
        alert: None,
        expr: expr.text(),
        for_: None,
        labels,
        annotations: BTreeMap::new(),
    }
}

fn alert(
    name: &str,
    expr: Expr,
    for_: Option<&str>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Rule {
    Rule {
        record: None,
        alert: Some(name.to_string()),
        expr: expr.text(),
        for_: for_.map(str::to_string),
        labels,
        annotations,
    }
}

fn rate_sum(metric: &str, matchers: Vec<Matcher>, window: Duration) -> Expr {
    sum(call("rate", range(metric, matchers, window)))
}

/// The page alerts among `groups`' rules.
fn page_alerts(groups: &[RuleGroup]) -> impl Iterator<Item = &Rule> {
    groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.alert.as_deref() == Some(PAGE_ALERT))
}

/// Renders rule groups service by service; shared by every thread.
pub struct RuleRenderer<'a> {
    platform: &'a Platform,
    annotations: Annotations,
    /// Every SLO, in service order.
    slos: Vec<Slo>,
    patterns: RulePatterns<'a>,
}

/// One service's rules as the rule files hold them.
pub struct ServiceRules {
    /// Its groups as a YAML list: the SLO groups, then the operational group.
    pub fragment: String,
    /// Its SLOs' page alerts and its ServiceDown alert, which the promtool tests expect.
    pub page_alerts: Vec<Rule>,
}

impl<'a> RuleRenderer<'a> {
    pub fn new(compiled: &'a Compiled) -> Result<RuleRenderer<'a>, RenderError> {
        let platform = &compiled.platform;
        let annotations = Annotations::new(platform.observability.runbook_url.clone())?;
        let slos = slos(platform);
        let services: Vec<OperationalInputs<'a>> = platform
            .services
            .values()
            .map(|s| OperationalInputs::of(platform, s))
            .collect();
        let patterns = RulePatterns::new(&platform.observability, &annotations, &slos, &services);
        Ok(RuleRenderer {
            platform,
            annotations,
            slos,
            patterns,
        })
    }

    fn service_slos(&self, service: &Service) -> &[Slo] {
        let name = service.name.get_ref();
        let start = self.slos.partition_point(|s| s.service < *name);
        let len = self.slos[start..]
            .iter()
            .take_while(|s| &s.service == name)
            .count();
        &self.slos[start..start + len]
    }

    /// A service's SLO groups, then its operational group.
    pub fn service_groups(&self, service: &Service) -> Result<Vec<RuleGroup>, RenderError> {
        let mut groups = Vec::new();
        for slo in self.service_slos(service) {
            groups.extend(slo_groups(
                &self.platform.observability,
                slo,
                &self.annotations,
            )?);
        }
        let inputs = OperationalInputs::of(self.platform, service);
        groups.push(operational::group(&inputs, &self.annotations)?);
        Ok(groups)
    }

    /// The first of a service's alerts of each severity it has, in rule order (its
    /// operational group's, then its SLOs'): what alert routing tests route, read from the
    /// same rules the rule files hold. The SLO groups are made only when the operational
    /// group lacks a severity.
    pub fn first_alert_by_severity(&self, service: &Service) -> Result<Vec<Rule>, RenderError> {
        let inputs = OperationalInputs::of(self.platform, service);
        let mut alerts = operational::group(&inputs, &self.annotations)?.rules;
        let has = |alerts: &[Rule], severity: &str| {
            alerts
                .iter()
                .any(|r| r.labels.get("severity").map(String::as_str) == Some(severity))
        };
        if !(has(&alerts, "page") && has(&alerts, "ticket")) {
            for slo in self.service_slos(service) {
                for group in slo_groups(&self.platform.observability, slo, &self.annotations)? {
                    alerts.extend(group.rules.into_iter().filter(|r| r.alert.is_some()));
                }
            }
        }
        let mut first: Vec<Rule> = Vec::new();
        for alert in alerts {
            let severity = alert.labels.get("severity");
            if !first.iter().any(|f| f.labels.get("severity") == severity) {
                first.push(alert);
            }
        }
        Ok(first)
    }

    /// The platform's capacity alerts ([`capacity`]), which follow every service's groups.
    pub fn capacity_group(&self) -> Result<Option<RuleGroup>, RenderError> {
        capacity::group(self.platform, &self.annotations)
    }

    /// A service's rules as the rule files hold them: what [`fragment`] gives for
    /// [`Self::service_groups`], each group made from its kind's pattern when one applies.
    pub fn service_rules(&self, service: &'a Service) -> Result<ServiceRules, RenderError> {
        let o = &self.platform.observability;
        let mut fragment = String::new();
        let mut pages = Vec::new();
        for slo in self.service_slos(service) {
            if let Some((text, page)) = self.patterns.slo(slo, &self.annotations)? {
                fragment.push_str(&text);
                pages.push(page);
                continue;
            }
            let groups = slo_groups(o, slo, &self.annotations)?;
            fragment.push_str(&yaml::recurring(&groups)?);
            pages.extend(page_alerts(&groups).cloned());
        }
        let inputs = OperationalInputs::of(self.platform, service);
        pages.push(operational::service_down(&inputs, &self.annotations)?);
        match self.patterns.operational(&inputs, &self.annotations)? {
            Some(text) => fragment.push_str(&text),
            None => {
                let operational = operational::group(&inputs, &self.annotations)?;
                fragment.push_str(&yaml::recurring(&[operational])?);
            }
        }
        Ok(ServiceRules {
            fragment,
            page_alerts: pages,
        })
    }
}

/// Every rule group of the platform: per service, its SLO groups then its operational one;
/// then the platform's capacity group.
pub fn rule_groups(compiled: &Compiled) -> Result<Vec<RuleGroup>, RenderError> {
    let renderer = RuleRenderer::new(compiled)?;
    let mut groups = Vec::new();
    for service in compiled.platform.services.values() {
        groups.extend(renderer.service_groups(service)?);
    }
    groups.extend(renderer.capacity_group()?);
    Ok(groups)
}

#[derive(Serialize)]
struct RuleFile<'a> {
    groups: &'a [RuleGroup],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusRule<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: RuleFile<'a>,
}

pub fn rule_file(groups: &[RuleGroup]) -> Result<Document, RenderError> {
    Ok(Document::new(&RuleFile { groups })?)
}

pub fn prometheus_rule(
    groups: &[RuleGroup],
    metadata: ObjectMeta,
) -> Result<Document, RenderError> {
    Ok(Document::new(&PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata,
        spec: RuleFile { groups },
    })?)
}

/// One service's rule groups as a YAML sequence, ready to be concatenated into both rule
/// files; `None` when it has none.
pub fn fragment(groups: &[RuleGroup]) -> Result<Option<String>, RenderError> {
    if groups.is_empty() {
        return Ok(None);
    }
    Ok(Some(yaml::recurring(&groups)?))
}

pub const RULE_FILE_PATH: &str = "prometheus/rules.yaml";
pub const PROMETHEUS_RULE_PATH: &str = "prometheus/prometheusrule.yaml";

/// A file of every service's rule groups: `prometheus/rules.yaml` or the PrometheusRule.
pub struct RuleFileForm {
    pub path: &'static str,
    /// Its start when services have rule groups; their fragments follow in service order.
    pub head: yaml::Head,
    /// The whole file when no service has rule groups.
    pub empty: String,
}

/// The rule files: the plain one for promtool and Prometheus, and, where the cluster runs
/// the Prometheus operator, the PrometheusRule with the same groups.
pub fn rule_files(metadata: ObjectMeta, operator: bool) -> Result<Vec<RuleFileForm>, RenderError> {
    let plain = RuleFile { groups: &[] };
    let mut files = vec![RuleFileForm {
        path: RULE_FILE_PATH,
        head: yaml::list_head(&plain, "groups")?,
        empty: yaml::documents(&[Document::new(&plain)?]),
    }];
    if operator {
        let rule = PrometheusRule {
            api_version: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata,
            spec: RuleFile { groups: &[] },
        };
        files.push(RuleFileForm {
            path: PROMETHEUS_RULE_PATH,
            head: yaml::list_head(&rule, "groups")?,
            empty: yaml::documents(&[Document::new(&rule)?]),
        });
    }
    Ok(files)
}
