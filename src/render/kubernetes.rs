//! Kubernetes objects of a platform, built as typed k8s-openapi values.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec,
    MetricTarget, PodsMetricSource, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, Namespace, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceQuota, ResourceQuotaSpec, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecurityContext, Service as KubeService, ServiceAccount, ServicePort,
    ServiceSpec, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress as KubeIngress, IngressBackend,
    IngressRule, IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy,
    NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::graph::Compiled;
use crate::model::{Pdb, Platform, Policy, Replicas, Service, datastore_env_prefix};
use crate::render::error::RenderError;
use crate::units::number_quantity;
use crate::yaml::{self, Document};

pub const MANAGED_BY: &str = "berrys";
const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
const PORT_NAME: &str = "http";

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

/// Applies the platform registry to an image that names none (Docker's rule: the first path
/// component is a registry when it contains `.` or `:` or is `localhost`).
pub fn image_reference(registry: Option<&str>, image: &str) -> String {
    let has_registry = image.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    });
    match registry {
        Some(r) if !has_registry => format!("{}/{image}", r.trim_end_matches('/')),
        _ => image.to_string(),
    }
}

/// The service ConfigMap's data: plain `env`, rate-limit and pool settings.
pub fn config_data(platform: &Platform, service: &Service) -> BTreeMap<String, String> {
    let mut data = service.env.clone();
    if let Some(tier) = &service.rate_limit
        && let Some(rl) = platform.rate_limits.get(tier.get_ref())
    {
        data.insert("RATE_LIMIT_TIER".into(), rl.name.clone());
        data.insert("RATE_LIMIT_REQUESTS".into(), rl.requests.to_string());
        data.insert(
            "RATE_LIMIT_WINDOW_SECONDS".into(),
            rl.window.seconds_string(),
        );
        data.insert(
            "RATE_LIMIT_BURST".into(),
            rl.burst.unwrap_or(rl.requests).to_string(),
        );
    }
    for (ds, pool) in &service.datastores {
        let Some(pool) = platform.pools.get(pool.get_ref()) else {
            continue;
        };
        let prefix = datastore_env_prefix(ds.get_ref());
        data.insert(format!("{prefix}_POOL_MIN"), pool.min.to_string());
        data.insert(format!("{prefix}_POOL_MAX"), pool.max.get_ref().to_string());
        data.insert(
            format!("{prefix}_POOL_TIMEOUT_SECONDS"),
            pool.timeout.seconds_string(),
        );
        data.insert(
            format!("{prefix}_POOL_RECYCLE_SECONDS"),
            pool.recycle.seconds_string(),
        );
        data.insert(format!("{prefix}_POOL_PRE_PING"), pool.pre_ping.to_string());
    }
    data
}

/// Content hash of the ConfigMap data: rolls the pods exactly when their config changes.
fn config_checksum(data: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in data {
        // Length-prefixed so that no two different maps hash the same bytes.
        hasher.update((k.len() as u64).to_le_bytes());
        hasher.update(k.as_bytes());
        hasher.update((v.len() as u64).to_le_bytes());
        hasher.update(v.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn quantity(q: &Option<toml::Spanned<crate::units::Quantity>>) -> Option<Quantity> {
    q.as_ref().map(|q| Quantity(q.get_ref().text.clone()))
}

fn resource_map(
    cpu: Option<Quantity>,
    memory: Option<Quantity>,
) -> Option<BTreeMap<String, Quantity>> {
    let mut m = BTreeMap::new();
    if let Some(c) = cpu {
        m.insert("cpu".to_string(), c);
    }
    if let Some(mem) = memory {
        m.insert("memory".to_string(), mem);
    }
    (!m.is_empty()).then_some(m)
}

fn http_probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String(PORT_NAME.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn deployment(compiled: &Compiled, service: &Service, checksum: String) -> Deployment {
    let platform = &compiled.platform;
    let svc = service.name.get_ref().as_str();
    let critical = *service.critical.get_ref();
    let res = service.resources.get_ref();
    let secrets: Vec<EnvVar> = service
        .secrets
        .iter()
        .map(|(var, (secret, key))| EnvVar {
            name: var.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.clone(),
                    key: key.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let container = Container {
        name: svc.to_string(),
        image: Some(image_reference(
            platform.registry.as_deref(),
            service.image.get_ref(),
        )),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.to_string()),
            container_port: i32::from(*service.port.get_ref()),
            protocol: Some("TCP".to_string()),
            ..Default::default()
        }]),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: format!("{svc}-config"),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        env: (!secrets.is_empty()).then_some(secrets),
        resources: Some(ResourceRequirements {
            requests: resource_map(quantity(&res.cpu), quantity(&res.memory)),
            limits: resource_map(quantity(&res.cpu_limit), quantity(&res.memory_limit)),
            ..Default::default()
        }),
        liveness_probe: Some(http_probe(&service.probes.liveness)),
        readiness_probe: Some(http_probe(&service.probes.readiness)),
        startup_probe: service.probes.startup.as_deref().map(|p| Probe {
            failure_threshold: Some(30),
            period_seconds: Some(10),
            ..http_probe(p)
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_string()]),
                ..Default::default()
            }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // A read-only root filesystem still needs somewhere to write temporary files.
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".to_string(),
            mount_path: "/tmp".to_string(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let spread = (service.replicas.max() >= 2).then(|| {
        ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
            .iter()
            .map(|key| TopologySpreadConstraint {
                label_selector: Some(selector(svc)),
                max_skew: 1,
                topology_key: key.to_string(),
                when_unsatisfiable: "ScheduleAnyway".to_string(),
                ..Default::default()
            })
            .collect()
    });
    let mut pod_meta = meta(compiled, service, svc.to_string());
    pod_meta.name = None;
    pod_meta.namespace = None;
    let mut pod_annotations = platform.annotations.clone();
    pod_annotations.insert("checksum/config".to_string(), checksum);
    pod_meta.annotations = Some(pod_annotations);
    Deployment {
        metadata: meta(compiled, service, svc.to_string()),
        spec: Some(DeploymentSpec {
            // Omitted when an HPA owns the count, so applying the manifest never resets it.
            replicas: match &service.replicas {
                Replicas::Fixed { count, .. } => Some(*count as i32),
                Replicas::Auto(_) => None,
            },
            selector: selector(svc),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::String("25%".to_string())),
                    max_unavailable: Some(if critical {
                        IntOrString::Int(0)
                    } else {
                        IntOrString::String("25%".to_string())
                    }),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(pod_meta),
                spec: Some(PodSpec {
                    service_account_name: Some(svc.to_string()),
                    automount_service_account_token: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".to_string(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    topology_spread_constraints: spread,
                    volumes: Some(vec![Volume {
                        name: "tmp".to_string(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn scaling_rules(policy: &Policy) -> HPAScalingRules {
    let period = i32::try_from(policy.period.ceil_secs()).unwrap_or(i32::MAX);
    let mut policies = Vec::new();
    if let Some(pods) = policy.max_pods {
        policies.push(HPAScalingPolicy {
            type_: "Pods".to_string(),
            value: pods as i32,
            period_seconds: period,
        });
    }
    if let Some(percent) = policy.max_percent {
        policies.push(HPAScalingPolicy {
            type_: "Percent".to_string(),
            value: percent as i32,
            period_seconds: period,
        });
    }
    HPAScalingRules {
        stabilization_window_seconds: policy
            .stabilization
            .as_ref()
            .map(|s| i32::try_from(s.get_ref().ceil_secs()).unwrap_or(i32::MAX)),
        select_policy: (!policies.is_empty()).then(|| "Max".to_string()),
        policies: (!policies.is_empty()).then_some(policies),
        ..Default::default()
    }
}

fn hpa(compiled: &Compiled, service: &Service) -> Option<HorizontalPodAutoscaler> {
    let auto = service.replicas.autoscale()?;
    let svc = service.name.get_ref();
    let resource = |name: &str, target: u32| MetricSpec {
        type_: "Resource".to_string(),
        resource: Some(ResourceMetricSource {
            name: name.to_string(),
            target: MetricTarget {
                type_: "Utilization".to_string(),
                average_utilization: Some(target as i32),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let mut metrics = Vec::new();
    if let Some(cpu) = &auto.cpu_target {
        metrics.push(resource("cpu", *cpu.get_ref()));
    }
    if let Some(mem) = &auto.memory_target {
        metrics.push(resource("memory", *mem.get_ref()));
    }
    for m in &service.metrics {
        metrics.push(MetricSpec {
            type_: "Pods".to_string(),
            pods: Some(PodsMetricSource {
                metric: MetricIdentifier {
                    name: m.name.clone(),
                    ..Default::default()
                },
                target: MetricTarget {
                    type_: "AverageValue".to_string(),
                    average_value: Some(Quantity(number_quantity(m.target))),
                    ..Default::default()
                },
            }),
            ..Default::default()
        });
    }
    let behavior = (auto.scale_up.is_some() || auto.scale_down.is_some()).then(|| {
        HorizontalPodAutoscalerBehavior {
            scale_up: auto.scale_up.as_ref().map(scaling_rules),
            scale_down: auto.scale_down.as_ref().map(scaling_rules),
        }
    });
    Some(HorizontalPodAutoscaler {
        metadata: meta(compiled, service, svc.clone()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_string()),
                kind: "Deployment".to_string(),
                name: svc.clone(),
            },
            min_replicas: Some(*auto.min.get_ref() as i32),
            max_replicas: *auto.max.get_ref() as i32,
            metrics: (!metrics.is_empty()).then_some(metrics),
            behavior,
        }),
        ..Default::default()
    })
}

/// A PDB for critical services and any service that always runs two or more replicas.
/// `maxUnavailable: 1` lets a drain evict one pod at every replica count, so the budget can
/// never block a node drain; `AlwaysAllow` keeps unhealthy pods from blocking it either.
///
/// An explicit `pdb` is rendered as written; lint rule BR005 rejects one that would block
/// drains.
fn pdb(compiled: &Compiled, service: &Service) -> Option<PodDisruptionBudget> {
    let svc = service.name.get_ref();
    let count = |n: &crate::model::Sp<u32>| {
        Some(IntOrString::Int(
            i32::try_from(*n.get_ref()).unwrap_or(i32::MAX),
        ))
    };
    let (min_available, max_unavailable) = match &service.pdb {
        Some(Pdb::MinAvailable(n)) => (count(n), None),
        Some(Pdb::MaxUnavailable(n)) => (None, count(n)),
        None if !*service.critical.get_ref() && service.replicas.min() < 2 => return None,
        None => (None, Some(IntOrString::Int(1))),
    };
    Some(PodDisruptionBudget {
        metadata: meta(compiled, service, svc.clone()),
        spec: Some(PodDisruptionBudgetSpec {
            min_available,
            max_unavailable,
            selector: Some(selector(svc)),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_string()),
        }),
        ..Default::default()
    })
}

fn tcp_port(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    }
}

fn pods_of(service: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(service)),
        ..Default::default()
    }
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                namespace.to_string(),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn cidr_peer(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Ingress from dependents, the ingress controller (when exposed) and Prometheus; egress to
/// dependencies, datastores, declared destinations and DNS. Everything else stays denied by
/// the platform's default-deny policy.
fn network_policy(compiled: &Compiled, service: &Service) -> NetworkPolicy {
    let platform = &compiled.platform;
    let svc = service.name.get_ref();
    let port = *service.port.get_ref();
    let mut ingress = Vec::new();
    let dependents = compiled.graph.dependents(svc);
    if !dependents.is_empty() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(dependents.iter().map(|d| pods_of(d)).collect()),
            ports: Some(vec![tcp_port(port)]),
        });
    }
    if service.ingress.is_some() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(
                &platform.observability.ingress_namespace,
            )]),
            ports: Some(vec![tcp_port(port)]),
        });
    }
    ingress.push(NetworkPolicyIngressRule {
        from: Some(vec![namespace_peer(
            &platform.observability.prometheus_namespace,
        )]),
        ports: Some(vec![tcp_port(port)]),
    });

    let mut egress = Vec::new();
    let mut deps: Vec<&str> = service
        .depends_on
        .iter()
        .chain(&service.soft_depends_on)
        .map(|d| d.get_ref().as_str())
        .collect();
    deps.sort_unstable();
    deps.dedup();
    for dep in deps {
        let Some(target) = platform.services.get(dep) else {
            continue;
        };
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![pods_of(dep)]),
            ports: Some(vec![tcp_port(*target.port.get_ref())]),
        });
    }
    for (ds, _) in &service.datastores {
        if let Some(ds) = platform.datastores.get(ds.get_ref()) {
            egress.push(NetworkPolicyEgressRule {
                to: Some(vec![cidr_peer(&ds.cidr)]),
                ports: Some(vec![tcp_port(ds.port)]),
            });
        }
    }
    for e in &service.egress {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![cidr_peer(&e.cidr)]),
            ports: Some(vec![tcp_port(e.port)]),
        });
    }
    egress.push(NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: namespace_peer("kube-system").namespace_selector,
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "k8s-app".to_string(),
                    "kube-dns".to_string(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![
            NetworkPolicyPort {
                port: Some(IntOrString::Int(53)),
                protocol: Some("UDP".to_string()),
                ..Default::default()
            },
            tcp_port(53),
        ]),
    });
    NetworkPolicy {
        metadata: meta(compiled, service, svc.clone()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(svc)),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    }
}

fn ingress(compiled: &Compiled, service: &Service) -> Option<KubeIngress> {
    let ing = service.ingress.as_ref()?;
    let svc = service.name.get_ref();
    let host = ing.host.get_ref().clone();
    Some(KubeIngress {
        metadata: meta(compiled, service, svc.clone()),
        spec: Some(IngressSpec {
            rules: Some(vec![IngressRule {
                host: Some(host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(ing.path.clone()),
                        path_type: "Prefix".to_string(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: svc.clone(),
                                port: Some(ServiceBackendPort {
                                    name: Some(PORT_NAME.to_string()),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            tls: ing.tls_secret.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `monitoring.coreos.com/v1` ServiceMonitor: a CRD, so not in k8s-openapi.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitor {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ServiceMonitorSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    pub selector: LabelSelector,
    pub endpoints: Vec<ServiceMonitorEndpoint>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorEndpoint {
    pub port: String,
    pub path: String,
    pub interval: String,
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
}

/// Every object of one service, in the fixed kind order of its file.
pub fn service_objects(compiled: &Compiled, service: &Service) -> Vec<Object> {
    let platform = &compiled.platform;
    let svc = service.name.get_ref();
    let data = config_data(platform, service);
    let checksum = config_checksum(&data);
    let mut docs = vec![
        Object::ServiceAccount(ServiceAccount {
            metadata: meta(compiled, service, svc.clone()),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        Object::ConfigMap(ConfigMap {
            metadata: meta(compiled, service, format!("{svc}-config")),
            data: Some(data),
            ..Default::default()
        }),
        Object::KubeService(KubeService {
            metadata: meta(compiled, service, svc.clone()),
            spec: Some(ServiceSpec {
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
            }),
            ..Default::default()
        }),
        Object::Deployment(deployment(compiled, service, checksum)),
    ];
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
    docs.push(Object::ServiceMonitor(ServiceMonitor {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: meta(compiled, service, svc.clone()),
        spec: ServiceMonitorSpec {
            selector: selector(svc),
            endpoints: vec![ServiceMonitorEndpoint {
                port: PORT_NAME.to_string(),
                path: "/metrics".to_string(),
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
        metadata: object_meta("default-deny", true),
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
