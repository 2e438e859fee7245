//! The document as written: serde structs whose values keep their source spans.
//!
//! The schema has already accepted the document when these are deserialised, so a failure
//! here means schema and structs disagree (a test guards against that).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

pub type Sp<T> = Spanned<T>;
pub type SpMap<V> = BTreeMap<Sp<String>, V>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocument {
    pub platform: RawPlatform,
    #[serde(default)]
    pub observability: RawObservability,
    #[serde(default)]
    pub environments: SpMap<Sp<RawEnvironment>>,
    #[serde(default)]
    pub scaling: SpMap<Sp<RawTier>>,
    #[serde(default)]
    pub rate_limits: SpMap<Sp<RawRateLimit>>,
    #[serde(default)]
    pub pools: SpMap<Sp<RawPool>>,
    #[serde(default)]
    pub datastores: SpMap<Sp<RawDatastore>>,
    #[serde(default)]
    pub services: SpMap<Sp<RawService>>,
    #[serde(default)]
    pub delivery: SpMap<Sp<RawDeliveryProfile>>,
    pub alerting: Option<Sp<RawAlerting>>,
    pub secrets: Option<Sp<RawSecrets>>,
    #[serde(default)]
    pub lint: RawLint,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlatform {
    pub name: Sp<String>,
    pub namespace: Option<Sp<String>>,
    pub registry: Option<Sp<String>>,
    pub kubernetes: Option<Sp<String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub autoscaling: Option<Sp<bool>>,
    pub quota: Option<Sp<RawResources>>,
    #[serde(default)]
    pub image_pull_secrets: Vec<Sp<String>>,
    pub image_pull_policy: Option<Sp<String>>,
    pub security: Option<Sp<RawSecurity>>,
    pub ingress_class: Option<Sp<String>>,
    pub progressive_delivery: Option<Sp<bool>>,
}

/// `security = { run_as_user, run_as_group, fs_group }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    pub run_as_user: Option<Sp<i64>>,
    pub run_as_group: Option<Sp<i64>>,
    pub fs_group: Option<Sp<i64>>,
}

/// `[alerting]`: who is told of the alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    pub group_by: Option<Vec<Sp<String>>>,
    pub repeat_interval: Option<Sp<String>>,
    pub inhibit_dependents: Option<Sp<bool>>,
    #[serde(default)]
    pub receivers: SpMap<Sp<RawReceiver>>,
    pub routes: Option<Sp<RawSeverityRoutes>>,
    #[serde(default)]
    pub teams: SpMap<Sp<RawSeverityRoutes>>,
}

/// `[alerting.receivers.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    pub pagerduty: Option<Sp<RawPagerDuty>>,
    pub webhook: Option<Sp<RawWebhook>>,
    pub slack: Option<Sp<RawSlack>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPagerDuty {
    pub routing_key_secret: Sp<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: Sp<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlack {
    pub channel: Sp<String>,
    pub api_url_secret: Sp<String>,
}

/// `[alerting.routes]` and `[alerting.teams.<team>]`: a receiver per severity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeverityRoutes {
    pub page: Option<Sp<String>>,
    pub ticket: Option<Sp<String>>,
    pub info: Option<Sp<String>>,
}

/// `[secrets]`: the External Secrets store the services' secrets come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    pub store: Sp<RawSecretStore>,
    pub refresh_interval: Option<Sp<String>>,
    pub key_prefix: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretStore {
    pub kind: Option<Sp<String>>,
    pub name: Sp<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    pub cpu: Option<Sp<String>>,
    pub memory: Option<Sp<String>>,
    pub cpu_limit: Option<Sp<String>>,
    pub memory_limit: Option<Sp<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObservability {
    pub requests_metric: Option<Sp<String>>,
    pub latency_metric: Option<Sp<String>>,
    pub service_label: Option<Sp<String>>,
    pub code_label: Option<Sp<String>>,
    pub pool_metric: Option<Sp<String>>,
    pub datastore_label: Option<Sp<String>>,
    pub latency_buckets: Option<Vec<Sp<String>>>,
    pub datasource: Option<Sp<String>>,
    pub retention: Option<Sp<String>>,
    pub scrape_interval: Option<Sp<String>>,
    pub runbook_url: Option<Sp<String>>,
    pub prometheus_namespace: Option<Sp<String>>,
    pub ingress_namespace: Option<Sp<String>>,
    pub operator: Option<Sp<bool>>,
    pub prometheus_url: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    pub autoscaling: Option<Sp<bool>>,
    pub replicas: Option<Sp<u32>>,
    pub namespace: Option<Sp<String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub image_pull_policy: Option<Sp<String>>,
    pub ingress_class: Option<Sp<String>>,
    pub progressive_delivery: Option<Sp<bool>>,
    /// `[observability] operator` for this environment's cluster.
    pub operator: Option<Sp<bool>>,
    /// A partial `[alerting]`, merged over the platform's into the document tree like the
    /// service overrides; kept typed here so that what it routes to counts as used.
    pub alerting: Option<Sp<RawAlerting>>,
    /// Only the names matter here: overrides are merged into the document tree before the
    /// environment's model is built, so their values keep their own spans.
    #[serde(default)]
    pub services: SpMap<IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub min_replicas: Sp<u32>,
    pub max_replicas: Sp<u32>,
    pub cpu_target: Option<Sp<u32>>,
    pub memory_target: Option<Sp<u32>>,
    pub scale_up: Option<Sp<RawPolicy>>,
    pub scale_down: Option<Sp<RawPolicy>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub stabilization: Option<Sp<String>>,
    pub max_pods: Option<Sp<u32>>,
    pub max_percent: Option<Sp<u32>>,
    pub period: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScalingOverride {
    pub tier: Sp<String>,
    pub min_replicas: Option<Sp<u32>>,
    pub max_replicas: Option<Sp<u32>>,
    pub cpu_target: Option<Sp<u32>>,
    pub memory_target: Option<Sp<u32>>,
    pub scale_up: Option<Sp<RawPolicy>>,
    pub scale_down: Option<Sp<RawPolicy>>,
}

/// `scaling = "edge"` or `scaling = { tier = "standard", max_replicas = 8 }`.
///
/// Deserialised by hand rather than `#[serde(untagged)]`: untagged buffers the value and
/// loses the spans inside the table form.
#[derive(Debug, Clone)]
pub enum RawScaling {
    Tier(String),
    Inline(Box<RawScalingOverride>),
}

impl<'de> Deserialize<'de> for RawScaling {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalingVisitor;
        impl<'de> Visitor<'de> for ScalingVisitor {
            type Value = RawScaling;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scaling tier name or a table with `tier`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawScaling, E> {
                Ok(RawScaling::Tier(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawScaling, A::Error> {
                RawScalingOverride::deserialize(MapAccessDeserializer::new(map))
                    .map(|o| RawScaling::Inline(Box::new(o)))
            }
        }
        deserializer.deserialize_any(ScalingVisitor)
    }
}

/// `[delivery.<profile>]`, and a service's `delivery = { profile = "canary", … }`: one
/// struct for both, since the schema (checked first) already keeps `strategy` to profiles
/// and `profile` to services.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeliveryProfile {
    pub strategy: Option<Sp<String>>,
    pub profile: Option<Sp<String>>,
    pub steps: Option<Sp<Vec<Sp<u32>>>>,
    pub pause: Option<Sp<String>>,
    pub analysis: Option<Sp<bool>>,
    pub max_burn_rate: Option<Sp<f64>>,
    pub min_requests: Option<Sp<u64>>,
    pub traffic: Option<Sp<String>>,
    pub auto_promote: Option<Sp<bool>>,
    pub scale_down_delay: Option<Sp<String>>,
    pub preview_replicas: Option<Sp<u32>>,
}

/// `delivery = "canary"` or `delivery = { profile = "canary", … }`, read by hand like
/// [`RawScaling`].
#[derive(Debug, Clone)]
pub enum RawDelivery {
    Profile(String),
    Inline(Box<RawDeliveryProfile>),
}

impl<'de> Deserialize<'de> for RawDelivery {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DeliveryVisitor;
        impl<'de> Visitor<'de> for DeliveryVisitor {
            type Value = RawDelivery;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a delivery profile name or a table with `profile`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDelivery, E> {
                Ok(RawDelivery::Profile(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDelivery, A::Error> {
                RawDeliveryProfile::deserialize(MapAccessDeserializer::new(map))
                    .map(|o| RawDelivery::Inline(Box::new(o)))
            }
        }
        deserializer.deserialize_any(DeliveryVisitor)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub requests: Sp<u64>,
    pub window: Sp<String>,
    pub burst: Option<Sp<u64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub min: Option<Sp<u32>>,
    pub max: Sp<u32>,
    pub timeout: Option<Sp<String>>,
    pub recycle: Option<Sp<String>>,
    pub pre_ping: Option<Sp<bool>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatastore {
    pub engine: Sp<String>,
    pub max_connections: Sp<u64>,
    pub reserved_connections: Option<Sp<u64>>,
    pub port: Sp<u16>,
    pub cidr: Sp<String>,
    pub host: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub image: Sp<String>,
    pub port: Sp<u16>,
    pub layer: Option<Sp<String>>,
    pub critical: Option<Sp<bool>>,
    pub team: Option<Sp<String>>,
    pub scaling: Option<Sp<RawScaling>>,
    pub delivery: Option<Sp<RawDelivery>>,
    pub replicas: Option<Sp<u32>>,
    pub rate_limit: Option<Sp<String>>,
    pub resources: Option<Sp<RawResources>>,
    #[serde(default)]
    pub depends_on: Vec<Sp<String>>,
    #[serde(default)]
    pub soft_depends_on: Vec<Sp<String>>,
    #[serde(default)]
    pub datastores: SpMap<Sp<String>>,
    #[serde(default)]
    pub egress: Vec<Sp<RawEgress>>,
    pub ingress: Option<Sp<RawIngress>>,
    #[serde(default)]
    pub metrics: Vec<Sp<RawMetric>>,
    #[serde(default)]
    pub env: SpMap<Sp<String>>,
    #[serde(default)]
    pub secrets: SpMap<Sp<String>>,
    #[serde(default)]
    pub probes: RawProbes,
    pub pdb: Option<Sp<RawPdb>>,
    pub slo: Option<Sp<RawSlo>>,
    #[serde(default)]
    pub image_pull_secrets: Vec<Sp<String>>,
    pub image_pull_policy: Option<Sp<String>>,
    pub security: Option<Sp<RawSecurity>>,
    #[serde(default)]
    pub pod_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<Sp<RawToleration>>,
    pub priority_class: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToleration {
    pub key: Option<Sp<String>>,
    pub operator: Option<Sp<String>>,
    pub value: Option<Sp<String>>,
    pub effect: Option<Sp<String>>,
    pub seconds: Option<Sp<i64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPdb {
    pub min_available: Option<Sp<u32>>,
    pub max_unavailable: Option<Sp<u32>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEgress {
    pub name: Sp<String>,
    pub cidr: Sp<String>,
    pub port: Sp<u16>,
    #[serde(default)]
    pub except: Vec<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngress {
    pub host: Sp<String>,
    pub path: Option<Sp<String>>,
    pub tls_secret: Option<Sp<String>>,
    pub class: Option<Sp<String>>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    pub name: Sp<String>,
    pub target: Sp<f64>,
    /// `gauge` (the default) or `rate`.
    pub kind: Option<Sp<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProbes {
    pub liveness: Option<Sp<String>>,
    pub readiness: Option<Sp<String>>,
    pub startup: Option<Sp<String>>,
    pub period: Option<Sp<String>>,
    pub timeout: Option<Sp<String>>,
    pub failure_threshold: Option<Sp<u32>>,
    pub initial_delay: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub availability: Option<Sp<f64>>,
    pub latency: Option<Sp<RawLatency>>,
    pub window: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    pub threshold: Sp<String>,
    pub percentile: Sp<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLint {
    pub fail_on: Option<Sp<String>>,
    #[serde(default)]
    pub rules: SpMap<Sp<String>>,
    #[serde(default)]
    pub exempt: Vec<Sp<RawExempt>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExempt {
    pub rule: Sp<String>,
    pub env: Option<Sp<String>>,
    pub service: Option<Sp<String>>,
    pub reason: Sp<String>,
    pub expires: Option<Sp<String>>,
}

/// The tree as the schema reads it, which is how editors (taplo) read it too: a TOML date is
/// its text, and a float with no fraction written in plain digits (`8080.0`) is the integer
/// it equals, taken from the source `text` the spans point into. Deserialised without this,
/// a document the schema accepts could still fail here.
pub fn as_the_schema_reads<'a>(
    mut doc: crate::parse::Document<'a>,
    text: &'a str,
) -> crate::parse::Document<'a> {
    for (_, value) in doc.get_mut().iter_mut() {
        normalise(value, text);
    }
    doc
}

fn normalise<'a>(value: &mut Spanned<toml::de::DeValue<'a>>, text: &'a str) {
    use toml::de::DeValue;
    let span = value.span();
    match value.get_mut() {
        DeValue::Datetime(d) => {
            let text = d.to_string();
            *value = Spanned::new(span, DeValue::String(text.into()));
        }
        DeValue::Float(_) => {
            // As written in the source, underscores included.
            let Some((whole, fraction)) = text.get(span.clone()).and_then(|w| w.split_once('.'))
            else {
                return;
            };
            let plain = !whole.is_empty()
                && whole
                    .trim_start_matches(['-', '+'])
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'_')
                && !fraction.is_empty()
                && fraction.bytes().all(|b| b == b'0' || b == b'_');
            // The integer's own text, in the source where the float was written.
            if plain
                && let Some(source) = text.get(span.start..span.start + whole.len())
                && let Ok(integer) = DeValue::parse(source)
                && matches!(integer.get_ref(), DeValue::Integer(_))
            {
                *value = Spanned::new(span, integer.into_inner());
            }
        }
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                normalise(item, text);
            }
        }
        DeValue::Table(table) => {
            for (_, v) in table.iter_mut() {
                normalise(v, text);
            }
        }
        _ => {}
    }
}
