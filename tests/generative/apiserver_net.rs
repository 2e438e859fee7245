//! Services, Ingresses, NetworkPolicies, HPAs, PDBs and ResourceQuotas, as the API server
//! validates them (kubernetes/kubernetes, file and function named at each check).

use serde_json::Value;

use super::apiserver::{Found, Object, labels};
use super::apiserver_pod::port_num_or_name;
use super::k8s_syntax::*;

/// `pkg/apis/core/validation/validation.go ValidateService` / `validateServicePort`:
/// ports 1–65535, named (DNS-1123 label) and unique when there are several, a valid
/// `targetPort`, a label selector.
pub fn service(spec: &Value, found: &mut Found<'_>) {
    let ports = spec["ports"].as_array().cloned().unwrap_or_default();
    let headless = spec["clusterIP"].as_str() == Some("None");
    found.require(
        !ports.is_empty() || headless,
        "ValidateService ports required",
        "none",
    );
    let mut names = Vec::new();
    for p in &ports {
        let port = p["port"].as_i64().unwrap_or(0);
        found.require(is_port_num(port), "validateServicePort port", port);
        match p["name"].as_str() {
            Some(n) => {
                found.require(is_dns1123_label(n), "validateServicePort name", n);
                found.require(!names.contains(&n), "validateServicePort unique name", n);
                names.push(n);
            }
            None => found.require(ports.len() == 1, "validateServicePort name required", port),
        }
        if p.get("targetPort").is_some() {
            port_num_or_name(&p["targetPort"], "validateServicePort targetPort", found);
        }
    }
    labels(&spec["selector"], "spec.selector", found);
}

/// `pkg/apis/networking/validation/validation.go ValidateIngressSpec`.
pub fn ingress(spec: &Value, found: &mut Found<'_>) {
    if let Some(class) = spec["ingressClassName"].as_str() {
        found.require(
            is_dns1123_subdomain(class),
            "ValidateIngressSpec ingressClassName",
            class,
        );
    }
    for rule in spec["rules"].as_array().into_iter().flatten() {
        if let Some(host) = rule["host"].as_str() {
            ingress_host(host, true, found);
        }
        let paths = rule["http"]["paths"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        found.require(
            !paths.is_empty(),
            "validateHTTPIngressRuleValue paths",
            "none",
        );
        for p in &paths {
            http_ingress_path(p, found);
        }
    }
    for tls in spec["tls"].as_array().into_iter().flatten() {
        for host in tls["hosts"].as_array().into_iter().flatten() {
            ingress_host(host.as_str().unwrap_or(""), false, found);
        }
        if let Some(secret) = tls["secretName"].as_str() {
            found.require(
                is_dns1123_subdomain(secret),
                "validateIngressTLS secretName",
                secret,
            );
        }
    }
}

/// `validateIngressRules`: a host is no IP address, and a DNS-1123 subdomain or a
/// wildcard one; `validateIngressTLS` checks TLS hosts the same way, IP or not.
fn ingress_host(host: &str, rule: bool, found: &mut Found<'_>) {
    let what = if rule {
        "validateIngressRules host"
    } else {
        "validateIngressTLS hosts"
    };
    if rule {
        found.require(
            parse_ip(host).is_none(),
            "validateIngressRules host is not an IP",
            host,
        );
    }
    let ok = if host.contains('*') {
        is_wildcard_dns1123_subdomain(host)
    } else {
        is_dns1123_subdomain(host)
    };
    found.require(ok, what, format!("{host:?}"));
}

/// `validateHTTPIngressPath`: an absolute path; for `Exact` and `Prefix`, none of
/// `invalidPathSequences` (`//`, `/./`, `/../`, `%2f`, `%2F`) and no `invalidPathSuffixes`
/// (`/..`, `/.`); `validateIngressBackend`: a DNS-1035 Service name and a valid port.
fn http_ingress_path(p: &Value, found: &mut Found<'_>) {
    let path = p["path"].as_str().unwrap_or("");
    let kind = p["pathType"].as_str().unwrap_or("");
    let known = ["Exact", "Prefix", "ImplementationSpecific"].contains(&kind);
    found.require(known, "validateHTTPIngressPath pathType", kind);
    if !path.is_empty() {
        found.require(
            path.starts_with('/'),
            "validateHTTPIngressPath absolute",
            path,
        );
    }
    if kind == "Exact" || kind == "Prefix" {
        for seq in ["//", "/./", "/../", "%2f", "%2F"] {
            found.require(
                !path.contains(seq),
                "validateHTTPIngressPath invalid sequence",
                format!("{path:?} contains {seq:?}"),
            );
        }
        for suffix in ["/..", "/."] {
            found.require(
                !path.ends_with(suffix),
                "validateHTTPIngressPath invalid suffix",
                format!("{path:?} ends with {suffix:?}"),
            );
        }
    }
    let svc = &p["backend"]["service"];
    let name = svc["name"].as_str().unwrap_or("");
    found.require(
        is_dns1035_label(name),
        "validateIngressBackend service name",
        name,
    );
    let port = &svc["port"];
    match (port.get("number"), port.get("name")) {
        (Some(n), None) => port_num_or_name(n, "validateIngressBackend port", found),
        (None, Some(n)) => port_num_or_name(n, "validateIngressBackend port", found),
        _ => found.fail(
            "validateIngressBackend port: exactly one of number, name",
            port,
        ),
    }
}

/// `pkg/apis/networking/validation/validation.go ValidateNetworkPolicySpec`.
pub fn network_policy(spec: &Value, found: &mut Found<'_>) {
    labels(&spec["podSelector"]["matchLabels"], "podSelector", found);
    for t in spec["policyTypes"].as_array().into_iter().flatten() {
        let ok = matches!(t.as_str(), Some("Ingress" | "Egress"));
        found.require(ok, "ValidateNetworkPolicySpec policyTypes", t);
    }
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        for rule in spec[direction].as_array().into_iter().flatten() {
            for port in rule["ports"].as_array().into_iter().flatten() {
                network_policy_port(port, found);
            }
            for peer in rule[peers].as_array().into_iter().flatten() {
                network_policy_peer(peer, found);
            }
        }
    }
}

/// `ValidateNetworkPolicyPort`: protocol TCP, UDP or SCTP; a port number 1–65535 or a
/// port name; `endPort` only after a numeric port, not below it.
fn network_policy_port(port: &Value, found: &mut Found<'_>) {
    if let Some(p) = port["protocol"].as_str() {
        let ok = ["TCP", "UDP", "SCTP"].contains(&p);
        found.require(ok, "ValidateNetworkPolicyPort protocol", p);
    }
    if port.get("port").is_some() {
        port_num_or_name(&port["port"], "ValidateNetworkPolicyPort port", found);
    }
    if let Some(end) = port["endPort"].as_i64() {
        let start = port["port"].as_i64();
        let ok = start.is_some_and(|s| s <= end) && is_port_num(end);
        found.require(ok, "ValidateNetworkPolicyPort endPort", port);
    }
}

/// `ValidateNetworkPolicyPeer`: `ipBlock` alone, or pod and namespace selectors.
fn network_policy_peer(peer: &Value, found: &mut Found<'_>) {
    let ip_block = peer.get("ipBlock").is_some();
    let selectors = peer.get("podSelector").is_some() || peer.get("namespaceSelector").is_some();
    found.require(
        ip_block != selectors,
        "ValidateNetworkPolicyPeer exactly one of ipBlock or selectors",
        peer,
    );
    labels(&peer["podSelector"]["matchLabels"], "podSelector", found);
    labels(
        &peer["namespaceSelector"]["matchLabels"],
        "namespaceSelector",
        found,
    );
    if ip_block {
        self::ip_block(&peer["ipBlock"], found);
    }
}

/// `ValidateIPBlock`: `cidr` parses (`IsValidCIDR`); each `except` parses and is a
/// strict subset of `cidr` ("must be a strict subset of `cidr`").
fn ip_block(block: &Value, found: &mut Found<'_>) {
    let cidr = block["cidr"].as_str().unwrap_or("");
    let Some(outer) = parse_cidr(cidr) else {
        found.fail("ValidateIPBlock cidr", format!("{cidr:?} is not a CIDR"));
        return;
    };
    for except in block["except"].as_array().into_iter().flatten() {
        let text = except.as_str().unwrap_or("");
        let Some(inner) = parse_cidr(text) else {
            found.fail("ValidateIPBlock except", format!("{text:?} is not a CIDR"));
            continue;
        };
        found.require(
            outer.contains_address_of(&inner) && outer.prefix < inner.prefix,
            "ValidateIPBlock except is a strict subset of cidr",
            format!("except {text} of cidr {cidr}"),
        );
    }
}

/// `pkg/apis/autoscaling/validation/validation.go validateHorizontalPodAutoscalerSpec`:
/// 1 <= minReplicas <= maxReplicas, a scale target, metrics (`validateMetricSpec`,
/// `validateMetricTarget`) and behaviour (`validateBehavior`, `validateScalingRules`).
/// Besides: the target is a workload rendered beside it.
pub fn hpa(spec: &Value, objects: &[Object], found: &mut Found<'_>) {
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    found.require(
        min >= 1,
        "validateHorizontalPodAutoscalerSpec minReplicas >= 1",
        min,
    );
    found.require(
        max >= 1,
        "validateHorizontalPodAutoscalerSpec maxReplicas >= 1",
        max,
    );
    found.require(
        min <= max,
        "validateHorizontalPodAutoscalerSpec minReplicas <= maxReplicas",
        format!("{min} > {max}"),
    );
    let target = &spec["scaleTargetRef"];
    let (kind, name) = (target["kind"].as_str(), target["name"].as_str());
    found.require(
        objects
            .iter()
            .any(|o| o.doc["kind"].as_str() == kind && o.doc["metadata"]["name"].as_str() == name),
        "HPA scaleTargetRef names a rendered workload",
        target,
    );
    for m in spec["metrics"].as_array().into_iter().flatten() {
        let source = m["type"].as_str().map(|t| match t {
            "Resource" => "resource",
            "Pods" => "pods",
            "Object" => "object",
            "External" => "external",
            other => other,
        });
        let Some(source) = source else {
            found.fail("validateMetricSpec type", m);
            continue;
        };
        let s = &m[source];
        let name = s["name"]
            .as_str()
            .or(s["metric"]["name"].as_str())
            .unwrap_or("");
        let ok = !name.is_empty() && !name.contains('/') && !name.contains('%');
        found.require(ok, "validateMetricSpec metric name (path segment)", name);
        metric_target(&s["target"], source, found);
    }
    for direction in ["scaleUp", "scaleDown"] {
        let rules = &spec["behavior"][direction];
        if rules.is_object() {
            scaling_rules(rules, direction, found);
        }
    }
}

/// `validateMetricTarget`: Utilization > 0, AverageValue and Value positive; Pods metrics
/// take AverageValue only (`validatePodsSource`).
fn metric_target(target: &Value, source: &str, found: &mut Found<'_>) {
    let rule = "validateMetricTarget";
    match target["type"].as_str().unwrap_or("") {
        "Utilization" => {
            let u = target["averageUtilization"].as_i64().unwrap_or(0);
            found.require(u > 0, rule, format!("averageUtilization {u}"));
        }
        t @ ("AverageValue" | "Value") => {
            let key = if t == "Value" {
                "value"
            } else {
                "averageValue"
            };
            let text = match &target[key] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match parse_quantity(&text) {
                Some((false, q)) => found.require(q > 0, rule, format!("{key} {text} not > 0")),
                Some((true, _)) => found.fail(rule, format!("{key} {text} not > 0")),
                None => found.fail("resource.ParseQuantity", format!("{key} {text:?}")),
            }
        }
        other => found.fail(rule, format!("type {other:?}")),
    }
    if source == "pods" {
        found.require(
            target["type"].as_str() == Some("AverageValue"),
            "validatePodsSource target AverageValue",
            target,
        );
    }
}

/// `validateScalingRules`: stabilization 0–3600 s (`MaxStabilizationWindowSeconds`), a
/// known selectPolicy, policies of type Pods or Percent with a value > 0 and a period of
/// 1–1800 s (`MaxPeriodSeconds`).
fn scaling_rules(rules: &Value, direction: &str, found: &mut Found<'_>) {
    if let Some(w) = rules["stabilizationWindowSeconds"].as_i64() {
        found.require(
            (0..=3600).contains(&w),
            "validateScalingRules stabilizationWindowSeconds 0..=3600",
            format!("{direction}: {w}"),
        );
    }
    if let Some(p) = rules["selectPolicy"].as_str() {
        let ok = ["Max", "Min", "Disabled"].contains(&p);
        found.require(ok, "validateScalingRules selectPolicy", p);
    }
    for policy in rules["policies"].as_array().into_iter().flatten() {
        let ok = matches!(policy["type"].as_str(), Some("Pods" | "Percent"));
        found.require(ok, "validateScalingPolicy type", policy);
        let value = policy["value"].as_i64().unwrap_or(0);
        found.require(value > 0, "validateScalingPolicy value > 0", policy);
        let period = policy["periodSeconds"].as_i64().unwrap_or(0);
        found.require(
            (1..=1800).contains(&period),
            "validateScalingPolicy periodSeconds 1..=1800",
            format!("{direction}: {period}"),
        );
    }
}

/// `pkg/apis/policy/validation/validation.go ValidatePodDisruptionBudgetSpec`: not both
/// minAvailable and maxUnavailable; each `ValidatePositiveIntOrPercent` (and a percent
/// at most 100); a valid selector.
pub fn pdb(spec: &Value, found: &mut Found<'_>) {
    let (min, max) = (spec.get("minAvailable"), spec.get("maxUnavailable"));
    found.require(
        !(min.is_some() && max.is_some()),
        "ValidatePodDisruptionBudgetSpec not both minAvailable and maxUnavailable",
        spec,
    );
    for v in [min, max].into_iter().flatten() {
        let ok = match v {
            Value::Number(n) => n.as_i64().is_some_and(|n| n >= 0),
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .is_some_and(|p| (0..=100).contains(&p)),
            _ => false,
        };
        found.require(ok, "ValidatePositiveIntOrPercent", v);
    }
    labels(&spec["selector"]["matchLabels"], "selector", found);
}

/// `pkg/apis/core/validation/validation.go ValidateResourceQuotaSpec`: quantities that
/// parse and are non-negative (`ValidateResourceQuantityValue`).
pub fn resource_quota(spec: &Value, found: &mut Found<'_>) {
    for (k, v) in spec["hard"].as_object().into_iter().flatten() {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match parse_quantity(&text) {
            Some((false, _)) => {}
            _ => found.fail(
                "ValidateResourceQuotaSpec quantity",
                format!("{k}: {text:?}"),
            ),
        }
    }
}
