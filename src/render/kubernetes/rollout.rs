//! A canary or blue-green service's Argo Rollouts objects: the Rollout in place of the
//! Deployment, the Service Argo points at the new version, the AnalysisTemplate that gates
//! the release on the SLOs, and the PodMonitor that scrapes both versions' pods.
//!
//! The Rollout carries the full pod template rather than a `workloadRef` to a Deployment:
//! with `workloadRef` the HPA, the Deployment scaled to zero and the Rollout each hold a
//! replica count, which is where Argo Rollouts' HPA bugs live.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::workload::{pod_template, replica_count, rolling_bounds};
use super::{METRICS_PATH, PORT_NAME, meta, selector};
use crate::graph::Compiled;
use crate::model::{BlueGreen, Canary, Delivery, Service, Strategy, Traffic};
use crate::render::analysis::{
    self, Gate, HASH_ARG, HASH_POD_LABEL, failure_condition, gated, gates, schedule,
    success_condition,
};

pub const ARGO_API: &str = "argoproj.io/v1alpha1";

/// `argoproj.io/v1alpha1` Rollout.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: RolloutSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
    pub strategy: RolloutStrategy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenStrategy>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStrategy {
    pub canary_service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_stable_scale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_routing: Option<TrafficRouting>,
    pub steps: Vec<CanaryStep>,
}

#[derive(Debug, Serialize)]
pub struct TrafficRouting {
    pub nginx: NginxRouting,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NginxRouting {
    pub stable_ingress: String,
}

/// One step: exactly one of its fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_weight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause: Option<Pause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<RolloutAnalysis>,
}

#[derive(Debug, Serialize)]
pub struct Pause {
    pub duration: String,
}

#[derive(Debug, Serialize)]
pub struct RolloutAnalysis {
    pub templates: Vec<TemplateRef>,
    pub args: Vec<AnalysisArg>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    pub template_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisArg {
    pub name: &'static str,
    pub value_from: ArgValueFrom,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgValueFrom {
    pub pod_template_hash_value: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStrategy {
    pub active_service: String,
    pub preview_service: String,
    pub auto_promotion_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_promotion_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_replica_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis: Option<RolloutAnalysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_promotion_analysis: Option<RolloutAnalysis>,
}

/// `argoproj.io/v1alpha1` AnalysisTemplate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplate {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: AnalysisTemplateSpec,
}

#[derive(Debug, Serialize)]
pub struct AnalysisTemplateSpec {
    pub args: Vec<TemplateArg>,
    pub metrics: Vec<AnalysisMetric>,
}

#[derive(Debug, Serialize)]
pub struct TemplateArg {
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisMetric {
    pub name: String,
    pub interval: String,
    pub initial_delay: String,
    pub count: u64,
    pub failure_limit: u32,
    pub inconclusive_limit: u32,
    pub success_condition: String,
    pub failure_condition: String,
    pub provider: MetricProvider,
}

#[derive(Debug, Serialize)]
pub struct MetricProvider {
    pub prometheus: PrometheusProvider,
}

#[derive(Debug, Serialize)]
pub struct PrometheusProvider {
    pub address: String,
    pub query: String,
}

/// `monitoring.coreos.com/v1` PodMonitor.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitor {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: PodMonitorSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    pub selector: LabelSelector,
    pub pod_target_labels: Vec<&'static str>,
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

#[derive(Debug, Serialize)]
pub struct PodMetricsEndpoint {
    pub port: &'static str,
    pub path: &'static str,
    pub interval: String,
    pub relabelings: Vec<Relabeling>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relabeling {
    pub action: &'static str,
    pub target_label: String,
    pub replacement: String,
}

/// The name of the AnalysisTemplate of `service`.
pub fn template_name(service: &str) -> String {
    crate::model::names::analysis_template(service)
}

/// The Service Argo Rollouts points at the new version only.
pub fn version_service_name(service: &str, delivery: &Delivery) -> String {
    crate::model::names::version_service(service, &delivery.strategy)
}

/// The analysis every step or promotion runs, when the profile asks for it and the service
/// has an SLO to measure (BR019 reports the other case).
fn analysis(service: &Service) -> Option<RolloutAnalysis> {
    gated(service).then(|| analysis_of(service))
}

fn analysis_of(service: &Service) -> RolloutAnalysis {
    RolloutAnalysis {
        templates: vec![TemplateRef {
            template_name: template_name(service.name.get_ref()),
        }],
        args: vec![AnalysisArg {
            name: HASH_ARG,
            value_from: ArgValueFrom {
                pod_template_hash_value: "Latest",
            },
        }],
    }
}

fn canary_strategy(service: &Service, delivery: &Delivery, canary: &Canary) -> CanaryStrategy {
    let svc = service.name.get_ref();
    let is_gated = gated(service);
    let mut steps = Vec::with_capacity(canary.steps.len() * 2);
    for weight in &canary.steps {
        steps.push(CanaryStep {
            set_weight: Some(*weight.get_ref()),
            pause: None,
            analysis: None,
        });
        // The analysis run lasts the pause; without one the step simply waits it out.
        steps.push(CanaryStep {
            set_weight: None,
            pause: (!is_gated).then(|| Pause {
                duration: delivery.pause.get_ref().go_string(),
            }),
            analysis: is_gated.then(|| analysis_of(service)),
        });
    }
    let nginx = canary.traffic == Traffic::Nginx;
    let (max_surge, max_unavailable) = rolling_bounds(service);
    CanaryStrategy {
        canary_service: version_service_name(svc, delivery),
        // Given to Argo only when it weighs traffic itself: it would pin the callers'
        // Service to the stable version, and weighting by replicas needs it on both.
        stable_service: nginx.then(|| svc.clone()),
        max_surge: (!nginx).then_some(max_surge),
        max_unavailable: (!nginx).then_some(max_unavailable),
        dynamic_stable_scale: nginx.then_some(true),
        traffic_routing: nginx.then(|| TrafficRouting {
            nginx: NginxRouting {
                stable_ingress: svc.clone(),
            },
        }),
        steps,
    }
}

fn blue_green_strategy(
    service: &Service,
    delivery: &Delivery,
    blue_green: &BlueGreen,
) -> BlueGreenStrategy {
    let svc = service.name.get_ref();
    let gate = analysis(service);
    BlueGreenStrategy {
        active_service: svc.clone(),
        preview_service: version_service_name(svc, delivery),
        auto_promotion_enabled: blue_green.auto_promote,
        // Without analysis the pause is the time the preview runs before an automatic switch.
        auto_promotion_seconds: (blue_green.auto_promote && gate.is_none())
            .then(|| delivery.pause.get_ref().ceil_secs()),
        scale_down_delay_seconds: blue_green
            .scale_down_delay
            .as_ref()
            .map(|d| d.get_ref().ceil_secs()),
        preview_replica_count: blue_green.preview_replicas.as_ref().map(|p| *p.get_ref()),
        post_promotion_analysis: analysis(service),
        pre_promotion_analysis: gate,
    }
}

pub(super) fn rollout(
    compiled: &Compiled,
    service: &Service,
    delivery: &Delivery,
    checksum: String,
) -> Rollout {
    let svc = service.name.get_ref();
    let strategy = match &delivery.strategy {
        Strategy::Canary(c) => RolloutStrategy {
            canary: Some(canary_strategy(service, delivery, c)),
            blue_green: None,
        },
        Strategy::BlueGreen(b) => RolloutStrategy {
            canary: None,
            blue_green: Some(blue_green_strategy(service, delivery, b)),
        },
    };
    Rollout {
        api_version: ARGO_API,
        kind: "Rollout",
        metadata: meta(compiled, service, svc.clone()),
        spec: RolloutSpec {
            replicas: replica_count(service),
            selector: selector(svc),
            template: pod_template(compiled, service, checksum),
            strategy,
        },
    }
}

fn analysis_metric(compiled: &Compiled, delivery: &Delivery, gate: &Gate) -> AnalysisMetric {
    let o = &compiled.platform.observability;
    let when = schedule(o, delivery);
    let hash = format!("{{{{args.{HASH_ARG}}}}}");
    AnalysisMetric {
        name: gate.slo.slo.to_string(),
        interval: when.interval.go_string(),
        initial_delay: when.interval.go_string(),
        count: when.count,
        // One measurement above the page rate aborts; one without enough traffic pauses
        // the release for a person to decide.
        failure_limit: 0,
        inconclusive_limit: 0,
        success_condition: success_condition(gate),
        failure_condition: failure_condition(gate),
        provider: MetricProvider {
            prometheus: PrometheusProvider {
                address: o.prometheus_url.clone(),
                query: analysis::query(o, gate, &hash).text(),
            },
        },
    }
}

/// The AnalysisTemplate `<service>-slo`, when the release is gated on SLOs.
pub(super) fn analysis_template(
    compiled: &Compiled,
    service: &Service,
    delivery: &Delivery,
) -> Option<AnalysisTemplate> {
    let gates = gates(service, &compiled.platform.namespace);
    if gates.is_empty() {
        return None;
    }
    Some(AnalysisTemplate {
        api_version: ARGO_API,
        kind: "AnalysisTemplate",
        metadata: meta(compiled, service, template_name(service.name.get_ref())),
        spec: AnalysisTemplateSpec {
            args: vec![TemplateArg { name: HASH_ARG }],
            metrics: gates
                .iter()
                .map(|g| analysis_metric(compiled, delivery, g))
                .collect(),
        },
    })
}

/// Every pod of both versions, scraped once whatever Argo does to the Services' selectors,
/// with the labels a ServiceMonitor would give its series and the version's hash.
pub(super) fn pod_monitor(compiled: &Compiled, service: &Service) -> PodMonitor {
    let svc = service.name.get_ref();
    let set = |label: &str| Relabeling {
        action: "replace",
        target_label: label.to_string(),
        replacement: svc.clone(),
    };
    PodMonitor {
        api_version: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: meta(compiled, service, svc.clone()),
        spec: PodMonitorSpec {
            selector: selector(svc),
            pod_target_labels: vec![HASH_POD_LABEL],
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: PORT_NAME,
                path: METRICS_PATH,
                interval: compiled.platform.observability.scrape_interval.to_string(),
                relabelings: vec![set("job"), set("service")],
            }],
        },
    }
}
