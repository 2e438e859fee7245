//! Kubernetes objects of a platform, built as typed k8s-openapi values.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, ResourceQuota, ResourceQuotaSpec, Service as KubeService, ServiceAccount,
    ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::{Ingress as KubeIngress, NetworkPolicy, NetworkPolicySpec};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::graph::Compiled;
use crate::model::{Platform, Service};
use crate::render::error::RenderError;
use crate::yaml::{self, Document};

mod crd;
mod network;
pub mod rollout;
mod scaling;
mod workload;

pub use crd::{ExternalSecret, ServiceMonitor, ServiceMonitorEndpoint, ServiceMonitorSpec};
use network::ingress;
pub use network::network_policy;
use scaling::{hpa, pdb};
use workload::{config_checksum, deployment, quantity};
pub use workload::{config_data, image_reference};

pub const MANAGED_BY: &str = "berrys";
const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
const PORT_NAME: &str = "http";
/// Where every service exposes its metrics.
const METRICS_PATH: &str = "/metrics";

/// Labels every object of `component` carries: the platform's labels, then the standard
/// `app.kubernetes.io` ones. `part-of` defaults to the platform name but a platform label may
/// set it; `name`, `component` and `managed-by` are always berrys'.
fn labels(platform: &Platform, name: &str, component: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/part-of".to_string(),
        platform.name.clone(),
    );
    labels.extend(platform.labels.clone());
    labels.insert("app.kubernetes.io/name".to_string(), name.to_string());
    labels.insert(
        "app.kubernetes.io/component".to_string(),
        component.to_string(),
    );
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        MANAGED_BY.to_string(),
    );
    labels
}

/// The labels that select a service's pods. Kept minimal because selectors are immutable.
pub fn selector_labels(service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app.kubernetes.io/name".to_string(), service.to_string())])
}

fn selector(service: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels(service)),
        ..Default::default()
    }
}

fn annotations(platform: &Platform, wave: i64) -> Option<BTreeMap<String, String>> {
    let mut a = platform.annotations.clone();
    a.insert(SYNC_WAVE.to_string(), wave.to_string());
    Some(a)
}

fn meta(compiled: &Compiled, service: &Service, name: String) -> ObjectMeta {
    let platform = &compiled.platform;
    let svc = service.name.get_ref();
    ObjectMeta {
        name: Some(name),
        namespace: Some(platform.namespace.clone()),
        labels: Some(labels(platform, svc, &service.layer)),
        annotations: annotations(platform, i64::from(compiled.graph.wave(svc))),
        ..Default::default()
    }
}

/// One object of a service's file, as its typed value (serialised as the value itself).
/// Sized by its largest kind on purpose: the objects of one service are made, serialised
/// and dropped together, a dozen at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Object {
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    KubeService(KubeService),
    Deployment(Deployment),
    Hpa(HorizontalPodAutoscaler),
    Pdb(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    Ingress(KubeIngress),
    ServiceMonitor(ServiceMonitor),
    ExternalSecret(ExternalSecret),
    Rollout(rollout::Rollout),
    AnalysisTemplate(rollout::AnalysisTemplate),
    PodMonitor(rollout::PodMonitor),
}

/// Every object of one service, in the fixed kind order of its file.
pub fn service_objects(compiled: &Compiled, service: &Service) -> Vec<Object> {
    let platform = &compiled.platform;
    let svc = service.name.get_ref();
    let data = config_data(platform, service);
    let checksum = config_checksum(&data);
    let mut docs = Vec::with_capacity(12);
    docs.extend([
        Object::ServiceAccount(ServiceAccount {
            metadata: meta(compiled, service, svc.clone()),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        Object::ConfigMap(ConfigMap {
            metadata: meta(compiled, service, crate::model::names::config_map(svc)),
            data: Some(data),
            ..Default::default()
        }),
    ]);
    // Before the Deployment, so the Secrets its pods read are asked for first.
    docs.extend(
        crd::external_secrets(compiled, service)
            .into_iter()
            .map(Object::ExternalSecret),
    );
    let service_spec = || ServiceSpec {
        type_: Some("ClusterIP".to_string()),
        selector: Some(selector_labels(svc)),
        ports: Some(vec![ServicePort {
            name: Some(PORT_NAME.to_string()),
            port: i32::from(*service.port.get_ref()),
            target_port: Some(IntOrString::String(PORT_NAME.to_string())),
            protocol: Some("TCP".to_string()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    docs.push(Object::KubeService(KubeService {
        metadata: meta(compiled, service, svc.clone()),
        spec: Some(service_spec()),
        ..Default::default()
    }));
    match &service.delivery {
        None => docs.push(Object::Deployment(deployment(compiled, service, checksum))),
        Some(delivery) => {
            // Selects every pod as written; Argo Rollouts narrows it to the new version.
            docs.push(Object::KubeService(KubeService {
                metadata: meta(
                    compiled,
                    service,
                    rollout::version_service_name(svc, delivery),
                ),
                spec: Some(service_spec()),
                ..Default::default()
            }));
            if let Some(t) = rollout::analysis_template(compiled, service, delivery) {
                docs.push(Object::AnalysisTemplate(t));
            }
            docs.push(Object::Rollout(rollout::rollout(
                compiled, service, delivery, checksum,
            )));
        }
    }
    if let Some(h) = hpa(compiled, service) {
        docs.push(Object::Hpa(h));
    }
    if let Some(p) = pdb(compiled, service) {
        docs.push(Object::Pdb(p));
    }
    docs.push(Object::NetworkPolicy(network_policy(compiled, service)));
    if let Some(i) = ingress(compiled, service) {
        docs.push(Object::Ingress(i));
    }
    if !platform.observability.operator {
        return docs;
    }
    if service.delivery.is_some() {
        docs.push(Object::PodMonitor(rollout::pod_monitor(compiled, service)));
        return docs;
    }
    docs.push(Object::ServiceMonitor(ServiceMonitor {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: meta(compiled, service, svc.clone()),
        spec: ServiceMonitorSpec {
            selector: selector(svc),
            endpoints: vec![ServiceMonitorEndpoint {
                port: PORT_NAME.to_string(),
                path: METRICS_PATH.to_string(),
                interval: platform.observability.scrape_interval.to_string(),
            }],
        },
    }));
    docs
}

/// A service's file: its objects, laid out through the shapes every service shares.
pub fn service_file(compiled: &Compiled, service: &Service) -> Result<String, RenderError> {
    let docs = service_objects(compiled, service)
        .iter()
        .map(Document::recurring)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(yaml::documents(&docs))
}

/// Metadata of a platform-wide object. Wave -1: before every service, so the namespace and
/// its policies exist first.
pub fn platform_meta(platform: &Platform, name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels(platform, &platform.name, "platform")),
        annotations: annotations(platform, -1),
        ..Default::default()
    }
}

/// The platform-wide objects: Namespace, ResourceQuota, default-deny NetworkPolicy.
pub fn platform_objects(compiled: &Compiled) -> Result<Vec<Document>, RenderError> {
    let platform = &compiled.platform;
    let object_meta = |name: &str, namespaced: bool| {
        platform_meta(
            platform,
            name,
            namespaced.then_some(platform.namespace.as_str()),
        )
    };
    let mut ns_meta = object_meta(&platform.namespace, false);
    let version = format!("v{}", platform.kubernetes);
    if let Some(l) = ns_meta.labels.as_mut() {
        for mode in ["enforce", "audit", "warn"] {
            l.insert(
                format!("pod-security.kubernetes.io/{mode}"),
                "restricted".to_string(),
            );
            l.insert(
                format!("pod-security.kubernetes.io/{mode}-version"),
                version.clone(),
            );
        }
    }
    let mut docs = vec![Document::new(&Namespace {
        metadata: ns_meta,
        ..Default::default()
    })?];
    if let Some(quota) = &platform.quota {
        let q = quota.get_ref();
        let mut hard = BTreeMap::new();
        for (key, value) in [
            ("requests.cpu", &q.cpu),
            ("requests.memory", &q.memory),
            ("limits.cpu", &q.cpu_limit),
            ("limits.memory", &q.memory_limit),
        ] {
            if let Some(v) = quantity(value) {
                hard.insert(key.to_string(), v);
            }
        }
        docs.push(Document::new(&ResourceQuota {
            metadata: object_meta(&platform.name, true),
            spec: Some(ResourceQuotaSpec {
                hard: Some(hard),
                ..Default::default()
            }),
            ..Default::default()
        })?);
    }
    docs.push(Document::new(&NetworkPolicy {
        metadata: object_meta(crate::model::names::DEFAULT_DENY, true),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ..Default::default()
        }),
    })?);
    Ok(docs)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
}

pub fn kustomization(resources: Vec<String>) -> Result<Document, RenderError> {
    Ok(Document::new(&Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources,
    })?)
}
