//! The HorizontalPodAutoscaler and PodDisruptionBudget of a service.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec,
    MetricTarget, PodsMetricSource, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{meta, selector};
use crate::graph::Compiled;
use crate::model::{Pdb, Policy, Service};
use crate::units::number_quantity;

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

pub(super) fn hpa(compiled: &Compiled, service: &Service) -> Option<HorizontalPodAutoscaler> {
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
            // A Rollout is scaled like a Deployment, through its scale subresource.
            scale_target_ref: match service.delivery {
                Some(_) => CrossVersionObjectReference {
                    api_version: Some(super::rollout::ARGO_API.to_string()),
                    kind: "Rollout".to_string(),
                    name: svc.clone(),
                },
                None => CrossVersionObjectReference {
                    api_version: Some("apps/v1".to_string()),
                    kind: "Deployment".to_string(),
                    name: svc.clone(),
                },
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
pub(super) fn pdb(compiled: &Compiled, service: &Service) -> Option<PodDisruptionBudget> {
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
