//! The network flows a platform allows, read from the NetworkPolicies render writes: what a
//! reviewer sees is what the cluster will enforce, not a second reading of the model.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::graph::Compiled;
use crate::render::kubernetes::network_policy;

const NAME_LABEL: &str = "app.kubernetes.io/name";
const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";

/// Every flow as one line: `api-gateway → billing:8080`, `billing → 10.0.3.0/24:5432
/// (datastore billing-db)`, `namespace ingress-nginx → api-gateway:8080`.
pub fn flows(c: &Compiled) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for service in c.platform.services.values() {
        let name = service.name.get_ref();
        let Some(spec) = network_policy(c, service).spec else {
            continue;
        };
        for rule in spec.ingress.iter().flatten() {
            let ports = ports(rule.ports.as_deref());
            for peer in rule.from.iter().flatten() {
                out.insert(format!("{} → {name}:{ports}", peer_name(c, peer, None)));
            }
        }
        for rule in spec.egress.iter().flatten() {
            let ports = ports(rule.ports.as_deref());
            for peer in rule.to.iter().flatten() {
                let port = rule.ports.as_deref().and_then(first_port);
                out.insert(format!("{name} → {}:{ports}", peer_name(c, peer, port)));
            }
        }
    }
    out
}

fn first_port(ports: &[NetworkPolicyPort]) -> Option<i32> {
    match ports.first()?.port.as_ref()? {
        IntOrString::Int(p) => Some(*p),
        IntOrString::String(_) => None,
    }
}

/// `8080`, `53/UDP+53/TCP`: TCP is left unsaid when it is the only protocol.
fn ports(ports: Option<&[NetworkPolicyPort]>) -> String {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return "*".to_string();
    };
    let all_tcp = ports
        .iter()
        .all(|p| p.protocol.as_deref().is_none_or(|p| p == "TCP"));
    let text: Vec<String> = ports
        .iter()
        .map(|p| {
            let port = match &p.port {
                Some(IntOrString::Int(n)) => n.to_string(),
                Some(IntOrString::String(s)) => s.clone(),
                None => "*".to_string(),
            };
            if all_tcp {
                port
            } else {
                format!("{port}/{}", p.protocol.as_deref().unwrap_or("TCP"))
            }
        })
        .collect();
    text.join("+")
}

/// A peer as a reviewer knows it: a service's pods by name, a namespace, an address range
/// with what the platform calls it (a datastore of that range and port).
fn peer_name(c: &Compiled, peer: &NetworkPolicyPeer, port: Option<i32>) -> String {
    if let Some(block) = &peer.ip_block {
        let except = block
            .except
            .as_ref()
            .filter(|e| !e.is_empty())
            .map(|e| format!(" except {}", e.join(", ")))
            .unwrap_or_default();
        let known = c
            .platform
            .datastores
            .values()
            .find(|d| d.cidr == block.cidr && port == Some(i32::from(d.port)))
            .map(|d| format!(" (datastore {})", d.name.get_ref()))
            .unwrap_or_default();
        return format!("{}{except}{known}", block.cidr);
    }
    let label = |sel: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
                 key: &str| {
        sel.as_ref()
            .and_then(|s| s.match_labels.as_ref())
            .and_then(|m| m.get(key).cloned())
    };
    let pods = label(&peer.pod_selector, NAME_LABEL);
    match (label(&peer.namespace_selector, NAMESPACE_LABEL), pods) {
        (Some(ns), None) => match &peer.pod_selector {
            Some(sel) => {
                let labels: Vec<String> = sel
                    .match_labels
                    .iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("{ns}/{}", labels.join(","))
            }
            None => format!("namespace {ns}"),
        },
        (Some(ns), Some(pods)) => format!("{ns}/{pods}"),
        (None, Some(pods)) => pods,
        (None, None) => "any pod".to_string(),
    }
}
