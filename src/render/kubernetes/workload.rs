//! The Deployment of a service: its pod template, container, probes and ConfigMap data.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, LocalObjectReference, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, Toleration as KubeToleration, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use super::{METRICS_PATH, PORT_NAME, meta, selector};
use crate::graph::Compiled;
use crate::model::{Platform, Probes, Replicas, Service, datastore_env_prefix, dependency_url_key};

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

/// The service ConfigMap's data: plain `env`, rate-limit and pool settings, datastore
/// hosts and the dependencies' URLs.
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
        if let Some(datastore) = platform.datastores.get(ds.get_ref())
            && let Some(host) = &datastore.host
        {
            data.insert(format!("{prefix}_HOST"), host.clone());
            data.insert(format!("{prefix}_PORT"), datastore.port.to_string());
        }
    }
    // Every dependency's in-cluster address: the graph says who is called, so no service
    // has to be told by hand.
    for dep in service.depends_on.iter().chain(&service.soft_depends_on) {
        if let Some(target) = platform.services.get(dep.get_ref()) {
            data.insert(
                dependency_url_key(dep.get_ref()),
                format!(
                    "http://{}.{}.svc.cluster.local:{}",
                    dep.get_ref(),
                    platform.namespace,
                    target.port.get_ref()
                ),
            );
        }
    }
    data
}

/// Content hash of the ConfigMap data: rolls the pods exactly when their config changes.
pub(super) fn config_checksum(data: &BTreeMap<String, String>) -> String {
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

pub(super) fn quantity(q: &Option<toml::Spanned<crate::units::Quantity>>) -> Option<Quantity> {
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

/// An HTTP probe on the service port; timings only where they differ from Kubernetes'
/// defaults (10 s period, 1 s timeout, 3 failures, no delay), so the manifest says what a
/// reviewer needs to know and no more.
fn http_probe(path: &str, probes: &Probes) -> Probe {
    let differs = |value: u32, default: u32| (value != default).then_some(value as i32);
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String(PORT_NAME.to_string()),
            ..Default::default()
        }),
        period_seconds: differs(probes.period_seconds, 10),
        timeout_seconds: differs(probes.timeout_seconds, 1),
        failure_threshold: differs(probes.failure_threshold, 3),
        initial_delay_seconds: differs(probes.initial_delay_seconds, 0),
        ..Default::default()
    }
}

/// The container's environment from secrets: each variable names its Secret and key.
fn secret_env(service: &Service) -> Option<Vec<EnvVar>> {
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
    (!secrets.is_empty()).then_some(secrets)
}

fn container(platform: &Platform, service: &Service) -> Container {
    let svc = service.name.get_ref().as_str();
    let res = service.resources.get_ref();
    let probes = &service.probes;
    Container {
        name: svc.to_string(),
        image: Some(image_reference(
            platform.registry.as_deref(),
            service.image.get_ref(),
        )),
        image_pull_policy: service.pod.image_pull_policy.clone(),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.to_string()),
            container_port: i32::from(*service.port.get_ref()),
            protocol: Some("TCP".to_string()),
            ..Default::default()
        }]),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: crate::model::names::config_map(svc),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        env: secret_env(service),
        resources: Some(ResourceRequirements {
            requests: resource_map(quantity(&res.cpu), quantity(&res.memory)),
            limits: resource_map(quantity(&res.cpu_limit), quantity(&res.memory_limit)),
            ..Default::default()
        }),
        liveness_probe: Some(http_probe(&probes.liveness, probes)),
        readiness_probe: Some(http_probe(&probes.readiness, probes)),
        // Up to five minutes to start, whatever the liveness timings are.
        startup_probe: probes.startup.as_deref().map(|p| Probe {
            failure_threshold: Some(30),
            period_seconds: Some(10),
            initial_delay_seconds: None,
            ..http_probe(p, probes)
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
    }
}

/// The pod's annotations: the platform's, the service's own for its pods, the config
/// checksum, and the `prometheus.io` scrape annotations where no operator scrapes.
fn pod_annotations(
    platform: &Platform,
    service: &Service,
    checksum: String,
) -> BTreeMap<String, String> {
    let mut annotations = platform.annotations.clone();
    annotations.extend(service.pod.annotations.clone());
    if !platform.observability.operator {
        annotations.insert("prometheus.io/scrape".to_string(), "true".to_string());
        annotations.insert(
            "prometheus.io/port".to_string(),
            service.port.get_ref().to_string(),
        );
        annotations.insert("prometheus.io/path".to_string(), METRICS_PATH.to_string());
    }
    annotations.insert("checksum/config".to_string(), checksum);
    annotations
}

fn pod_spec(service: &Service, container: Container) -> PodSpec {
    let svc = service.name.get_ref().as_str();
    let pod = &service.pod;
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
    let tolerations: Vec<KubeToleration> = pod
        .tolerations
        .iter()
        .map(|t| KubeToleration {
            key: t.key.clone(),
            operator: Some(t.operator.clone()),
            value: t.value.clone(),
            effect: t.effect.clone(),
            toleration_seconds: t.seconds,
        })
        .collect();
    PodSpec {
        service_account_name: Some(svc.to_string()),
        automount_service_account_token: Some(false),
        image_pull_secrets: (!pod.image_pull_secrets.is_empty()).then(|| {
            pod.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        priority_class_name: pod.priority_class.clone(),
        node_selector: (!pod.node_selector.is_empty()).then(|| pod.node_selector.clone()),
        tolerations: (!tolerations.is_empty()).then_some(tolerations),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(pod.security.run_as_user),
            run_as_group: Some(pod.security.run_as_group),
            fs_group: Some(pod.security.fs_group),
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
    }
}

/// The pod template of a service, the same in its Deployment and its Rollout.
pub(super) fn pod_template(
    compiled: &Compiled,
    service: &Service,
    checksum: String,
) -> PodTemplateSpec {
    let platform = &compiled.platform;
    let mut pod_meta = meta(compiled, service, service.name.get_ref().clone());
    pod_meta.name = None;
    pod_meta.namespace = None;
    pod_meta.annotations = Some(pod_annotations(platform, service, checksum));
    PodTemplateSpec {
        metadata: Some(pod_meta),
        spec: Some(pod_spec(service, container(platform, service))),
    }
}

/// `maxSurge` and `maxUnavailable` of a rolling update (and of a canary weighted by
/// replicas): a critical service never drops below its count.
pub(super) fn rolling_bounds(service: &Service) -> (IntOrString, IntOrString) {
    let unavailable = if *service.critical.get_ref() {
        IntOrString::Int(0)
    } else {
        IntOrString::String("25%".to_string())
    };
    (IntOrString::String("25%".to_string()), unavailable)
}

/// Omitted when an HPA owns the count, so applying the manifest never resets it.
pub(super) fn replica_count(service: &Service) -> Option<i32> {
    match &service.replicas {
        Replicas::Fixed { count, .. } => Some(*count as i32),
        Replicas::Auto(_) => None,
    }
}

pub(super) fn deployment(compiled: &Compiled, service: &Service, checksum: String) -> Deployment {
    let svc = service.name.get_ref().as_str();
    let (max_surge, max_unavailable) = rolling_bounds(service);
    Deployment {
        metadata: meta(compiled, service, svc.to_string()),
        spec: Some(DeploymentSpec {
            replicas: replica_count(service),
            selector: selector(svc),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(max_surge),
                    max_unavailable: Some(max_unavailable),
                }),
            }),
            template: pod_template(compiled, service, checksum),
            ..Default::default()
        }),
        ..Default::default()
    }
}
