//! Containers, as `pkg/apis/core/validation/validation.go validateContainers` checks them
//! (kubernetes/kubernetes): name, image, ports, environment, resources and probes.

use serde_json::Value;

use super::apiserver::Found;
use super::k8s_syntax::*;

pub fn container(c: &Value, found: &mut Found<'_>) {
    let name = c["name"].as_str().unwrap_or("");
    found.require(
        is_dns1123_label(name),
        "validateContainers name (DNS-1123 label)",
        format!("container {name:?}"),
    );
    // validateContainerCommon: an image is required, without surrounding whitespace.
    let image = c["image"].as_str().unwrap_or("");
    found.require(
        !image.is_empty() && image.trim() == image,
        "validateContainers image",
        format!("image {image:?}"),
    );
    if let Some(p) = c["imagePullPolicy"].as_str() {
        let ok = ["Always", "IfNotPresent", "Never"].contains(&p);
        found.require(ok, "validatePullPolicy", p);
    }
    container_ports(c, found);
    env(c, found);
    resources(&c["resources"], found);
    for (probe, single_success) in [
        ("livenessProbe", true),
        ("readinessProbe", false),
        ("startupProbe", true),
    ] {
        if c.get(probe).is_some() {
            self::probe(&c[probe], probe, single_success, found);
        }
    }
}

/// `validateContainerPorts`: `containerPort` `IsValidPortNum`, names `IsValidPortName`
/// and unique.
fn container_ports(c: &Value, found: &mut Found<'_>) {
    let mut names = Vec::new();
    for p in c["ports"].as_array().into_iter().flatten() {
        let port = p["containerPort"].as_i64().unwrap_or(0);
        found.require(
            is_port_num(port),
            "validateContainerPorts containerPort",
            port,
        );
        if let Some(n) = p["name"].as_str() {
            found.require(is_port_name(n), "validateContainerPorts name", n);
            found.require(!names.contains(&n), "validateContainerPorts unique name", n);
            names.push(n);
        }
    }
}

/// `ValidateEnv` (`validateEnvVarName`, `validateEnvVarValueFrom`,
/// `validateSecretKeySelector`, `validateConfigMapKeySelector`) and `ValidateEnvFrom`.
fn env(c: &Value, found: &mut Found<'_>) {
    for e in c["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or("");
        found.require(
            is_env_var_name(name),
            "validateEnvVarName",
            format!("{name:?}"),
        );
        for selector in ["secretKeyRef", "configMapKeyRef"] {
            let r = &e["valueFrom"][selector];
            if r.is_null() {
                continue;
            }
            let (n, k) = (
                r["name"].as_str().unwrap_or(""),
                r["key"].as_str().unwrap_or(""),
            );
            found.require(
                is_dns1123_subdomain(n),
                &format!("ValidateEnv {selector}.name"),
                format!("{name}: {n:?}"),
            );
            found.require(
                is_config_map_key(k),
                &format!("ValidateEnv {selector}.key (IsConfigMapKey)"),
                format!("{name}: {k:?}"),
            );
        }
    }
    for e in c["envFrom"].as_array().into_iter().flatten() {
        for r in ["configMapRef", "secretRef"] {
            if let Some(n) = e[r]["name"].as_str() {
                found.require(is_dns1123_subdomain(n), "ValidateEnvFrom name", n);
            }
        }
    }
}

/// `ValidateResourceRequirements`: quantities that parse (`ValidateResourceQuantityValue`,
/// non-negative) and each request at most its limit.
pub fn resources(r: &Value, found: &mut Found<'_>) {
    let quantity = |v: &Value, what: &str, found: &mut Found<'_>| -> Option<u128> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        match parse_quantity(&text) {
            Some((false, q)) => Some(q),
            Some((true, _)) => {
                found.fail(
                    "ValidateResourceQuantityValue non-negative",
                    format!("{what} {text}"),
                );
                None
            }
            None => {
                found.fail("resource.ParseQuantity", format!("{what} {text:?}"));
                None
            }
        }
    };
    for resource in ["cpu", "memory"] {
        let limit = quantity(&r["limits"][resource], &format!("limits.{resource}"), found);
        let request = quantity(
            &r["requests"][resource],
            &format!("requests.{resource}"),
            found,
        );
        if let (Some(req), Some(lim)) = (request, limit) {
            found.require(
                req <= lim,
                "ValidateResourceRequirements request <= limit",
                format!(
                    "{resource}: request {} > limit {}",
                    r["requests"][resource], r["limits"][resource]
                ),
            );
        }
    }
}

/// `validateProbe`: exactly one handler, non-negative timings; `validateLivenessProbe`
/// and `validateStartupProbe`: `successThreshold` 1; `validateHTTPGetAction`: a path, a
/// valid port, scheme HTTP or HTTPS.
fn probe(p: &Value, which: &str, single_success: bool, found: &mut Found<'_>) {
    let handlers = ["httpGet", "tcpSocket", "exec", "grpc"]
        .iter()
        .filter(|h| p.get(**h).is_some())
        .count();
    found.require(
        handlers == 1,
        "validateProbe one handler",
        format!("{which}: {handlers}"),
    );
    for key in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        if let Some(v) = p.get(key) {
            let ok = v
                .as_i64()
                .is_some_and(|n| (0..=i64::from(i32::MAX)).contains(&n));
            found.require(
                ok,
                "validateProbe non-negative int32",
                format!("{which}.{key}: {v}"),
            );
        }
    }
    if single_success && let Some(s) = p["successThreshold"].as_i64() {
        found.require(s == 1, "validateLivenessProbe successThreshold 1", which);
    }
    let http = &p["httpGet"];
    if http.is_object() {
        let path = http["path"].as_str().unwrap_or("");
        found.require(
            !path.is_empty(),
            "validateHTTPGetAction path required",
            which,
        );
        port_num_or_name(&http["port"], "validateHTTPGetAction port", found);
        if let Some(s) = http["scheme"].as_str() {
            found.require(
                s == "HTTP" || s == "HTTPS",
                "validateHTTPGetAction scheme",
                s,
            );
        }
    }
}

/// `ValidatePortNumOrName`: 1–65535, or an IANA service name.
pub fn port_num_or_name(v: &Value, rule: &str, found: &mut Found<'_>) {
    match v {
        Value::Number(n) => {
            let ok = n.as_i64().is_some_and(is_port_num);
            found.require(ok, rule, format!("port {n}"));
        }
        Value::String(s) => found.require(is_port_name(s), rule, format!("port name {s:?}")),
        other => found.fail(rule, format!("port {other}")),
    }
}
