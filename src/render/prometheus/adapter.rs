//! prometheus-adapter rules: every custom HPA metric exposed per pod under exactly the
//! name the HPAs ask for.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::model::{MetricKind, Platform};
use crate::render::error::RenderError;
use crate::render::promql::{Matcher, selector};
use crate::yaml::{self, Document};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdapterConfig {
    rules: Vec<AdapterRule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterRule {
    pub series_query: String,
    pub resources: AdapterResources,
    pub name: AdapterName,
    pub metrics_query: String,
}

#[derive(Debug, Serialize)]
pub struct AdapterResources {
    pub overrides: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Serialize)]
pub struct AdapterName {
    pub matches: String,
    #[serde(rename = "as")]
    pub as_: String,
}

/// prometheus-adapter rules exposing each custom HPA metric, per pod, under exactly the
/// name the HPAs ask for.
///
/// A `rate` metric is a counter: the adapter exposes its per-second rate over two minutes
/// (four scrapes at the usual 30 s interval) under the counter's own name, so the HPA's
/// `target` is per second. A name that any service declares as a rate is exposed as one.
pub fn adapter_rules(platform: &Platform) -> Vec<AdapterRule> {
    let mut names: BTreeMap<&str, MetricKind> = BTreeMap::new();
    for m in platform.services.values().flat_map(|s| &s.metrics) {
        let kind = names.entry(m.name.as_str()).or_insert(m.kind);
        if m.kind == MetricKind::Rate {
            *kind = MetricKind::Rate;
        }
    }
    let resource = |r: &str| BTreeMap::from([("resource".to_string(), r.to_string())]);
    names
        .iter()
        .map(|(name, kind)| AdapterRule {
            series_query: selector(
                name,
                vec![Matcher::re("namespace", ".+"), Matcher::re("pod", ".+")],
            )
            .to_string(),
            resources: AdapterResources {
                overrides: BTreeMap::from([
                    ("namespace".to_string(), resource("namespace")),
                    ("pod".to_string(), resource("pod")),
                ]),
            },
            name: AdapterName {
                matches: format!("^{name}$"),
                as_: name.to_string(),
            },
            metrics_query: match kind {
                MetricKind::Gauge => "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
                MetricKind::Rate => {
                    "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"
                }
            }
            .to_string(),
        })
        .collect()
}

/// The ConfigMap holding the adapter's configuration.
pub fn adapter_config_map(
    platform: &Platform,
    metadata: ObjectMeta,
) -> Result<Document, RenderError> {
    let rules = adapter_rules(platform);
    let config = yaml::to_string(&AdapterConfig { rules })?;
    Ok(Document::new(&ConfigMap {
        metadata,
        data: Some(BTreeMap::from([("config.yaml".to_string(), config)])),
        ..Default::default()
    })?)
}
