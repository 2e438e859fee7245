//! Phase 3: the typed model of one environment.
//!
//! The raw document (as written, with spans) is resolved into a [`Platform`]: tier references
//! replaced by their values with per-service overrides applied, defaults filled in, the
//! environment's settings and service overrides merged. Every reference that does not resolve
//! is reported (BR002) with a suggestion, and every problem of the file in one run.

pub mod alerting;
pub mod burn;
pub mod capacity;
mod delivery;
mod environment;
pub mod names;
pub mod raw;
mod resolve;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use crate::units::{Duration, Quantity};
pub use delivery::{
    ANALYSIS_WINDOW, BlueGreen, Canary, Delivery, PeakPods, Strategy, Traffic, peak_pods,
    rolling_surge,
};
pub use environment::{apply_environment, environment_names, has_overrides};
pub use raw::{RawDocument, Sp};
pub use resolve::resolve;

/// Environment variables from secrets: variable → (Secret name, key).
pub type SecretRefs = BTreeMap<String, (String, String)>;

/// Environment name used for the file as written (no `--env`).
pub const BASE_ENV: &str = "base";

#[derive(Debug, Clone)]
pub struct Platform {
    pub env: String,
    pub name: String,
    pub namespace: String,
    pub registry: Option<String>,
    pub kubernetes: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub autoscaling: bool,
    pub quota: Option<Sp<Resources>>,
    pub observability: Observability,
    pub rate_limits: BTreeMap<String, RateLimit>,
    pub pools: BTreeMap<String, Pool>,
    pub datastores: BTreeMap<String, Datastore>,
    pub services: BTreeMap<String, Service>,
    /// `[secrets]`: where the services' secrets come from, when an External Secrets store
    /// provides them.
    pub secret_store: Option<SecretStore>,
    /// `[alerting]`: who is told of the alerts.
    pub alerting: Option<alerting::Alerting>,
    /// The document as written (with this environment's service overrides merged), for
    /// checks that need what the model resolves away. Shared between environments that
    /// override neither a service nor the alerting.
    pub raw: Arc<RawDocument>,
    /// The document as written, without any environment's overrides: what the whole file
    /// defines and uses, whichever environment this is.
    pub base_raw: Arc<RawDocument>,
}

#[derive(Debug, Clone)]
pub struct Observability {
    pub requests_metric: String,
    pub latency_metric: String,
    pub service_label: String,
    pub code_label: String,
    pub pool_metric: String,
    pub datastore_label: String,
    pub latency_buckets: Option<Vec<Sp<Duration>>>,
    pub datasource: String,
    pub retention: Sp<Duration>,
    pub scrape_interval: Duration,
    pub runbook_url: Option<String>,
    pub prometheus_namespace: String,
    pub ingress_namespace: String,
    /// The cluster runs the Prometheus operator (ServiceMonitor, PrometheusRule).
    pub operator: bool,
    /// Where Argo Rollouts' analysis queries Prometheus.
    pub prometheus_url: String,
}

/// `[secrets]`, resolved.
#[derive(Debug, Clone)]
pub struct SecretStore {
    /// `ClusterSecretStore` or `SecretStore`.
    pub kind: String,
    pub name: String,
    pub refresh_interval: Duration,
    pub key_prefix: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub cpu: Option<Sp<Quantity>>,
    pub memory: Option<Sp<Quantity>>,
    pub cpu_limit: Option<Sp<Quantity>>,
    pub memory_limit: Option<Sp<Quantity>>,
}

#[derive(Debug, Clone)]
pub struct RateLimit {
    pub name: String,
    pub requests: u64,
    pub window: Duration,
    pub burst: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub min: u32,
    pub max: Sp<u32>,
    pub timeout: Duration,
    pub recycle: Duration,
    pub pre_ping: bool,
}

#[derive(Debug, Clone)]
pub struct Datastore {
    pub name: Sp<String>,
    pub engine: String,
    pub max_connections: Sp<u64>,
    pub reserved_connections: u64,
    pub port: u16,
    pub cidr: String,
    /// Where services reach it, written into their ConfigMaps.
    pub host: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: Sp<String>,
    pub image: Sp<String>,
    pub port: Sp<u16>,
    pub layer: String,
    pub critical: Sp<bool>,
    /// A team of `[alerting.teams]`, whose receivers its alerts reach.
    pub team: Option<Sp<String>>,
    pub replicas: Replicas,
    pub rate_limit: Option<Sp<String>>,
    pub resources: Sp<Resources>,
    pub depends_on: Vec<Sp<String>>,
    pub soft_depends_on: Vec<Sp<String>>,
    /// Datastore name → pool profile name, with the spans of both.
    pub datastores: Vec<(Sp<String>, Sp<String>)>,
    pub egress: Vec<Egress>,
    pub ingress: Option<Ingress>,
    pub metrics: Vec<Metric>,
    pub env: BTreeMap<String, String>,
    /// Variable → (secret name, key).
    pub secrets: SecretRefs,
    pub probes: Probes,
    /// An explicit PodDisruptionBudget (`pdb = { … }`).
    pub pdb: Option<Pdb>,
    pub slo: Option<Slo>,
    /// How and where its pods run.
    pub pod: PodSettings,
    /// A canary or blue-green release; `None`: a rolling update.
    pub delivery: Option<Delivery>,
}

impl Service {
    /// The most pods it runs at once, during a release at maximum replicas.
    pub fn peak_pods(&self) -> PeakPods {
        peak_pods(&self.replicas, self.delivery.as_ref())
    }
}

/// What a service's pods need of the cluster: the platform's settings with the service's
/// own over them.
#[derive(Debug, Clone, Default)]
pub struct PodSettings {
    /// The platform's pull secrets, then the service's own (each once).
    pub image_pull_secrets: Vec<String>,
    pub image_pull_policy: Option<String>,
    pub security: Security,
    pub annotations: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub priority_class: Option<String>,
}

/// The numeric user and groups of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    pub run_as_user: i64,
    pub run_as_group: i64,
    pub fs_group: i64,
}

/// The user and groups of a pod unless the platform or the service says otherwise: a
/// high, unprivileged ID that no image's `/etc/passwd` is likely to give a meaning.
pub const DEFAULT_ID: i64 = 10001;

impl Default for Security {
    fn default() -> Self {
        Security {
            run_as_user: DEFAULT_ID,
            run_as_group: DEFAULT_ID,
            fs_group: DEFAULT_ID,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toleration {
    pub key: Option<String>,
    /// `Equal` or `Exists`.
    pub operator: String,
    pub value: Option<String>,
    pub effect: Option<String>,
    pub seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub enum Pdb {
    MinAvailable(Sp<u32>),
    MaxUnavailable(Sp<u32>),
}

/// How many replicas a service runs in this environment.
#[derive(Debug, Clone)]
pub enum Replicas {
    /// A fixed count (`replicas = N`, no tier, or autoscaling turned off).
    Fixed { count: u32, span: Range<usize> },
    /// An HPA between `min` and `max`.
    Auto(Box<Autoscale>),
}

#[derive(Debug, Clone)]
pub struct Autoscale {
    pub tier: Sp<String>,
    pub min: Sp<u32>,
    pub max: Sp<u32>,
    pub cpu_target: Option<Sp<u32>>,
    pub memory_target: Option<Sp<u32>>,
    pub scale_up: Option<Policy>,
    pub scale_down: Option<Policy>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub stabilization: Option<Sp<Duration>>,
    pub max_pods: Option<u32>,
    pub max_percent: Option<u32>,
    pub period: Duration,
}

impl Replicas {
    /// The fewest replicas the service can run with.
    pub fn min(&self) -> u32 {
        match self {
            Replicas::Fixed { count, .. } => *count,
            Replicas::Auto(a) => *a.min.get_ref(),
        }
    }

    /// The most replicas the service can run with.
    pub fn max(&self) -> u32 {
        match self {
            Replicas::Fixed { count, .. } => *count,
            Replicas::Auto(a) => *a.max.get_ref(),
        }
    }

    pub fn autoscale(&self) -> Option<&Autoscale> {
        match self {
            Replicas::Auto(a) => Some(a),
            Replicas::Fixed { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Egress {
    pub name: String,
    pub cidr: String,
    pub port: u16,
    /// Ranges inside `cidr` that stay denied.
    pub except: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Ingress {
    pub host: Sp<String>,
    pub path: String,
    pub tls_secret: Option<String>,
    /// The service's `class`, else the environment's or platform's `ingress_class`.
    pub class: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub target: f64,
    pub kind: MetricKind,
}

/// What a custom metric's series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// The value itself (a queue length).
    Gauge,
    /// A counter, scaled on by its per-second rate.
    Rate,
}

#[derive(Debug, Clone)]
pub struct Probes {
    pub liveness: String,
    pub readiness: String,
    pub startup: Option<String>,
    /// Timings of the liveness and readiness probes, in whole seconds.
    pub period_seconds: u32,
    pub timeout_seconds: u32,
    pub failure_threshold: u32,
    pub initial_delay_seconds: u32,
}

#[derive(Debug, Clone)]
pub struct Slo {
    pub span: Range<usize>,
    pub availability: Option<Sp<f64>>,
    pub latency: Option<LatencySlo>,
    pub window: Sp<Duration>,
}

#[derive(Debug, Clone)]
pub struct LatencySlo {
    pub threshold: Sp<Duration>,
    pub percentile: f64,
}

/// Keys berrys writes into every service ConfigMap; `env` may not reuse them.
pub(crate) const RATE_LIMIT_KEYS: [&str; 4] = [
    "RATE_LIMIT_TIER",
    "RATE_LIMIT_REQUESTS",
    "RATE_LIMIT_WINDOW_SECONDS",
    "RATE_LIMIT_BURST",
];

/// The ConfigMap key of a dependency's address (`model-orchestration` →
/// `MODEL_ORCHESTRATION_URL`).
pub fn dependency_url_key(dependency: &str) -> String {
    format!("{}_URL", datastore_env_prefix(dependency))
}

/// The ConfigMap key prefix of a datastore's pool settings (`agent-db` → `AGENT_DB`).
pub fn datastore_env_prefix(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}
