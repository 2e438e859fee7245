//! Who may talk to a service's pods and whom they may reach (NetworkPolicy), and its
//! Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress as KubeIngress, IngressBackend,
    IngressRule, IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy,
    NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{PORT_NAME, meta, selector};
use crate::graph::Compiled;
use crate::model::Service;

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

fn cidr_peer(cidr: &str, except: &[String]) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_string(),
            except: (!except.is_empty()).then(|| except.to_vec()),
        }),
        ..Default::default()
    }
}

/// Ingress from dependents, the ingress controller (when exposed) and Prometheus; egress to
/// dependencies, datastores, declared destinations and DNS. Everything else stays denied by
/// the platform's default-deny policy.
pub fn network_policy(compiled: &Compiled, service: &Service) -> NetworkPolicy {
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
                to: Some(vec![cidr_peer(&ds.cidr, &[])]),
                ports: Some(vec![tcp_port(ds.port)]),
            });
        }
    }
    for e in &service.egress {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![cidr_peer(&e.cidr, &e.except)]),
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

pub(super) fn ingress(compiled: &Compiled, service: &Service) -> Option<KubeIngress> {
    let ing = service.ingress.as_ref()?;
    let svc = service.name.get_ref();
    let host = ing.host.get_ref().clone();
    let mut metadata = meta(compiled, service, svc.clone());
    if let Some(annotations) = metadata.annotations.as_mut() {
        annotations.extend(ing.annotations.clone());
    }
    Some(KubeIngress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: ing.class.clone(),
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
