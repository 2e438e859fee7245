//! `alertmanager/alertmanagerconfig.yaml`: the routing as the Prometheus operator's
//! `AlertmanagerConfig` (`monitoring.coreos.com/v1alpha1`), checked against its CRD in
//! tests (tests/crds.rs). The operator nests the route under the Alertmanager's root with a
//! `namespace` matcher, and adds the same matcher to every inhibition: every alert berrys
//! writes carries its platform's `namespace`, so none is lost on the way. Secrets are
//! references to keys of Secrets in the platform's namespace, where the operator reads them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::tree::{Inhibition, Matcher, Route, Routing};
use crate::model::alerting::{Alerting, NONE_RECEIVER, Receiver, SecretKey};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerConfig {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: Spec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    route: SpecRoute,
    receivers: Vec<SpecReceiver>,
    inhibit_rules: Vec<InhibitRule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SpecRoute {
    #[serde(skip_serializing_if = "Option::is_none")]
    group_by: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat_interval: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    matchers: Vec<SpecMatcher>,
    receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<SpecRoute>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SpecMatcher {
    name: String,
    value: String,
    match_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SpecReceiver {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pagerduty_configs: Vec<PagerDutyConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<WebhookConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_configs: Vec<SlackConfig>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PagerDutyConfig {
    routing_key: SecretKeySelector,
}

#[derive(Debug, Serialize)]
struct WebhookConfig {
    url: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SlackConfig {
    #[serde(rename = "apiURL")]
    api_url: SecretKeySelector,
    channel: String,
    send_resolved: bool,
}

#[derive(Debug, Serialize)]
struct SecretKeySelector {
    name: String,
    key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InhibitRule {
    source_match: Vec<SpecMatcher>,
    target_match: Vec<SpecMatcher>,
    equal: Vec<&'static str>,
}

fn selector(secret: &SecretKey) -> SecretKeySelector {
    SecretKeySelector {
        name: secret.name.clone(),
        key: secret.key.clone(),
    }
}

fn matchers(matchers: &[Matcher]) -> Vec<SpecMatcher> {
    matchers
        .iter()
        .map(|m| SpecMatcher {
            name: m.name.clone(),
            value: m.value.clone(),
            match_type: m.match_type.operator(),
        })
        .collect()
}

fn child(route: &Route) -> SpecRoute {
    SpecRoute {
        group_by: None,
        repeat_interval: None,
        matchers: matchers(&route.matchers),
        receiver: route.receiver.clone(),
        routes: route.routes.iter().map(child).collect(),
    }
}

fn receiver(r: &Receiver) -> SpecReceiver {
    SpecReceiver {
        name: r.name.get_ref().clone(),
        pagerduty_configs: r
            .pagerduty
            .iter()
            .map(|key| PagerDutyConfig {
                routing_key: selector(key),
            })
            .collect(),
        webhook_configs: r
            .webhook
            .iter()
            .map(|url| WebhookConfig { url: url.clone() })
            .collect(),
        slack_configs: r
            .slack
            .iter()
            .map(|s| SlackConfig {
                api_url: selector(&s.api_url),
                channel: s.channel.clone(),
                send_resolved: true,
            })
            .collect(),
    }
}

fn inhibit_rule(i: &Inhibition) -> InhibitRule {
    InhibitRule {
        source_match: matchers(&i.source),
        target_match: matchers(&i.target),
        equal: i.equal.clone(),
    }
}

pub fn alertmanager_config(
    routing: &Routing,
    alerting: &Alerting,
    metadata: ObjectMeta,
) -> AlertmanagerConfig {
    let mut receivers = vec![SpecReceiver {
        name: NONE_RECEIVER.to_string(),
        pagerduty_configs: Vec::new(),
        webhook_configs: Vec::new(),
        slack_configs: Vec::new(),
    }];
    receivers.extend(alerting.receivers.values().map(receiver));
    AlertmanagerConfig {
        api_version: "monitoring.coreos.com/v1alpha1",
        kind: "AlertmanagerConfig",
        metadata,
        spec: Spec {
            route: SpecRoute {
                group_by: Some(routing.group_by.clone()),
                repeat_interval: Some(routing.repeat_interval.clone()),
                matchers: Vec::new(),
                receiver: routing.receiver.clone(),
                routes: routing.routes.iter().map(child).collect(),
            },
            receivers,
            inhibit_rules: routing.inhibitions.iter().map(inhibit_rule).collect(),
        },
    }
}
