//! `alertmanager/alertmanager.yaml`: the routing as Alertmanager's own configuration file,
//! with only fields Alertmanager 0.25 (Debian's `prometheus-alertmanager`) accepts. Secrets
//! are read from files where the Prometheus operator mounts an Alertmanager's `secrets`:
//! `/etc/alertmanager/secrets/<secret>/<key>`.

use serde::Serialize;

use super::tree::{Inhibition, Matcher, Route, Routing};
use crate::model::alerting::{Alerting, NONE_RECEIVER, Receiver, SecretKey};

/// Where a Secret's key is read from: the operator's mount of `spec.secrets`.
pub const SECRETS_DIR: &str = "/etc/alertmanager/secrets";

#[derive(Debug, Serialize)]
pub struct Config {
    route: RootRoute,
    receivers: Vec<ReceiverConfig>,
    inhibit_rules: Vec<InhibitRule>,
}

#[derive(Debug, Serialize)]
struct RootRoute {
    receiver: String,
    group_by: Vec<String>,
    repeat_interval: String,
    routes: Vec<ChildRoute>,
}

#[derive(Debug, Serialize)]
struct ChildRoute {
    matchers: Vec<String>,
    receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<ChildRoute>,
}

#[derive(Debug, Serialize)]
struct ReceiverConfig {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pagerduty_configs: Vec<PagerDutyConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<WebhookConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_configs: Vec<SlackConfig>,
}

#[derive(Debug, Serialize)]
struct PagerDutyConfig {
    routing_key_file: String,
}

#[derive(Debug, Serialize)]
struct WebhookConfig {
    url: String,
}

#[derive(Debug, Serialize)]
struct SlackConfig {
    api_url_file: String,
    channel: String,
    /// Slack's default is not to tell when an alert resolves; the others' is to.
    send_resolved: bool,
}

#[derive(Debug, Serialize)]
struct InhibitRule {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<&'static str>,
}

fn secret_file(secret: &SecretKey) -> String {
    format!("{SECRETS_DIR}/{}/{}", secret.name, secret.key)
}

fn texts(matchers: &[Matcher]) -> Vec<String> {
    matchers.iter().map(Matcher::text).collect()
}

fn child(route: &Route) -> ChildRoute {
    ChildRoute {
        matchers: texts(&route.matchers),
        receiver: route.receiver.clone(),
        routes: route.routes.iter().map(child).collect(),
    }
}

fn receiver(r: &Receiver) -> ReceiverConfig {
    ReceiverConfig {
        name: r.name.get_ref().clone(),
        pagerduty_configs: r
            .pagerduty
            .iter()
            .map(|key| PagerDutyConfig {
                routing_key_file: secret_file(key),
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
                api_url_file: secret_file(&s.api_url),
                channel: s.channel.clone(),
                send_resolved: true,
            })
            .collect(),
    }
}

fn inhibit_rule(i: &Inhibition) -> InhibitRule {
    InhibitRule {
        source_matchers: texts(&i.source),
        target_matchers: texts(&i.target),
        equal: i.equal.clone(),
    }
}

/// The configuration file: the platform is the whole of this Alertmanager, so the tree
/// is the root's, and `none` is a receiver with nothing to send to.
pub fn config(routing: &Routing, alerting: &Alerting) -> Config {
    let mut receivers = vec![ReceiverConfig {
        name: NONE_RECEIVER.to_string(),
        pagerduty_configs: Vec::new(),
        webhook_configs: Vec::new(),
        slack_configs: Vec::new(),
    }];
    receivers.extend(alerting.receivers.values().map(receiver));
    Config {
        route: RootRoute {
            receiver: routing.receiver.clone(),
            group_by: routing.group_by.clone(),
            repeat_interval: routing.repeat_interval.clone(),
            routes: routing.routes.iter().map(child).collect(),
        },
        receivers,
        inhibit_rules: routing.inhibitions.iter().map(inhibit_rule).collect(),
    }
}
