//! The Kubernetes API server's validation of every object berrys renders, re-implemented
//! for the fields berrys writes. Each check names the kubernetes/kubernetes file and
//! function that states the rule, so a failure here is an object `kubectl apply` would
//! have refused. Pod templates of Argo Rollouts are checked as pods too: the Rollout
//! controller creates ReplicaSets from them, which the API server validates.
//!
//! Objects are read back from the rendered YAML, as a cluster would receive them; the
//! ConfigMaps of `configMapGenerator` entries are reconstructed from the kustomizations
//! (name, namespace, labels, annotations, keys), since kustomize only runs sampled.

use std::collections::BTreeMap;

use serde_json::Value;

use super::apiserver_net;
use super::k8s_syntax::*;
use crate::Violation;

/// Problems found in one object, each under the rule it breaks.
pub struct Found<'a> {
    pub out: &'a mut Vec<Violation>,
    pub at: String,
}

impl Found<'_> {
    pub fn fail(&mut self, rule: &str, detail: impl std::fmt::Display) {
        self.out.push(Violation::new(
            &format!("apiserver: {rule}"),
            format!("{}: {detail}", self.at),
        ));
    }

    pub fn require(&mut self, ok: bool, rule: &str, detail: impl std::fmt::Display) {
        if !ok {
            self.fail(rule, detail);
        }
    }
}

/// A rendered object: the file it is in and its content.
pub struct Object {
    pub file: String,
    pub doc: Value,
}

impl Object {
    fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or("")
    }
    fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or("")
    }
}

/// Every object of one rendered environment, and the files that did not parse.
pub fn objects(files: &[berrys::output::OutputFile], out: &mut Vec<Violation>) -> Vec<Object> {
    let mut objects = Vec::new();
    for file in files.iter().filter(|f| f.path.ends_with(".yaml")) {
        let docs: Vec<Value> = match serde_saphyr::from_multiple(&file.contents) {
            Ok(docs) => docs,
            Err(e) => {
                out.push(Violation::new("yaml: parse", format!("{}: {e}", file.path)));
                continue;
            }
        };
        for doc in docs {
            match doc["kind"].as_str() {
                Some("Kustomization") => objects.extend(generated_config_maps(&file.path, &doc)),
                Some(_) if doc.get("apiVersion").is_some() => objects.push(Object {
                    file: file.path.clone(),
                    doc,
                }),
                _ => {}
            }
        }
    }
    objects
}

/// The ConfigMaps a kustomization's `configMapGenerator` makes (kustomize's
/// `api/internal/generators/configmap.go`): keys are the `key=` of each `files` entry.
fn generated_config_maps(path: &str, kustomization: &Value) -> Vec<Object> {
    let Some(generators) = kustomization["configMapGenerator"].as_array() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for g in generators {
        let data: serde_json::Map<String, Value> = g["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|f| {
                let key = f.split_once('=').map_or(f, |(k, _)| k);
                (key.to_string(), Value::String(String::new()))
            })
            .collect();
        let mut metadata = serde_json::json!({
            "name": g["name"],
            "labels": g["options"]["labels"],
            "annotations": g["options"]["annotations"],
        });
        if let Some(ns) = kustomization["namespace"].as_str() {
            metadata["namespace"] = Value::String(ns.to_string());
        }
        out.push(Object {
            file: format!("{path} (configMapGenerator)"),
            doc: serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data,
            }),
        });
    }
    out
}

/// Every check on every object of one environment.
pub fn check(objects: &[Object], out: &mut Vec<Violation>) {
    duplicates(objects, out);
    for o in objects {
        let mut found = Found {
            out,
            at: format!("{} {} {}", o.file, o.kind(), o.name()),
        };
        object_meta(o, &mut found);
        let spec = &o.doc["spec"];
        match o.kind() {
            "Deployment" => {
                deployment_spec(spec, &mut found);
                pod_template(&spec["template"], &mut found);
            }
            "Rollout" => pod_template(&spec["template"], &mut found),
            "ConfigMap" => config_map(&o.doc, &mut found),
            "Service" => apiserver_net::service(spec, &mut found),
            "Ingress" => apiserver_net::ingress(spec, &mut found),
            "NetworkPolicy" => apiserver_net::network_policy(spec, &mut found),
            "HorizontalPodAutoscaler" => apiserver_net::hpa(spec, objects, &mut found),
            "PodDisruptionBudget" => apiserver_net::pdb(spec, &mut found),
            "ResourceQuota" => apiserver_net::resource_quota(spec, &mut found),
            _ => {}
        }
    }
}

/// Two objects of one kind with one name in one namespace: the second `apply` overwrites
/// the first (`kubectl kustomize` refuses the pair outright).
fn duplicates(objects: &[Object], out: &mut Vec<Violation>) {
    let mut seen: BTreeMap<(String, String, String), &str> = BTreeMap::new();
    for o in objects {
        let group = o.doc["apiVersion"].as_str().unwrap_or("");
        let group = group.rsplit_once('/').map_or("", |(g, _)| g);
        let ns = o.doc["metadata"]["namespace"].as_str().unwrap_or("");
        let key = (
            format!("{group}/{}", o.kind()),
            ns.to_string(),
            o.name().to_string(),
        );
        if let Some(first) = seen.insert(key.clone(), &o.file) {
            out.push(Violation::new(
                "duplicate object (kind, namespace, name)",
                format!("{} {}/{} in {first} and {}", key.0, key.1, key.2, o.file),
            ));
        }
    }
}

/// `staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go ValidateObjectMeta`:
/// the name by the kind's rule, the namespace a DNS label, labels and annotations.
fn object_meta(o: &Object, found: &mut Found<'_>) {
    let meta = &o.doc["metadata"];
    let name = o.name();
    let (ok, rule) = match o.kind() {
        // pkg/apis/core/validation/validation.go ValidateServiceName = NameIsDNS1035Label
        "Service" => (
            is_dns1035_label(name),
            "ValidateServiceName (DNS-1035 label)",
        ),
        // pkg/apis/core/validation/validation.go ValidateNamespaceName = NameIsDNSLabel
        "Namespace" => (
            is_dns1123_label(name),
            "ValidateNamespaceName (DNS-1123 label)",
        ),
        // Every other kind berrys writes, custom resources included
        // (apiextensions-apiserver pkg/registry/customresource/validator.go).
        _ => (
            is_dns1123_subdomain(name),
            "ValidateObjectMeta name (DNS-1123 subdomain)",
        ),
    };
    found.require(ok, rule, format!("name {name:?}"));
    if let Some(ns) = meta["namespace"].as_str() {
        found.require(
            is_dns1123_label(ns),
            "ValidateObjectMeta namespace (DNS-1123 label)",
            format!("namespace {ns:?}"),
        );
    }
    labels(&meta["labels"], "metadata.labels", found);
    annotations(&meta["annotations"], found);
}

/// `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go
/// ValidateLabels`: qualified-name keys, values `IsValidLabelValue`. Also what
/// `ValidateLabelSelector` requires of `matchLabels` and pod specs of `nodeSelector`.
pub fn labels(map: &Value, field: &str, found: &mut Found<'_>) {
    let Some(map) = map.as_object() else {
        return;
    };
    for (k, v) in map {
        found.require(
            is_qualified_name(k),
            "ValidateLabels key (qualified name)",
            format!("{field} key {k:?}"),
        );
        match v.as_str() {
            Some(v) => found.require(
                is_valid_label_value(v),
                "ValidateLabels value (IsValidLabelValue)",
                format!("{field}[{k}] = {v:?}"),
            ),
            None => found.fail(
                "ValidateLabels value is a string",
                format!("{field}[{k}] = {v}"),
            ),
        }
    }
}

/// `staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go ValidateAnnotations`:
/// qualified-name keys (lowercased), at most 256 KiB of keys and values in all
/// (`TotalAnnotationSizeLimitB`).
fn annotations(map: &Value, found: &mut Found<'_>) {
    let Some(map) = map.as_object() else {
        return;
    };
    let mut total = 0;
    for (k, v) in map {
        found.require(
            is_qualified_name(&k.to_lowercase()),
            "ValidateAnnotations key (qualified name)",
            format!("annotation key {k:?}"),
        );
        total += k.len() + v.as_str().map_or(0, str::len);
        if !v.is_string() {
            found.fail(
                "ValidateAnnotations value is a string",
                format!("{k} = {v}"),
            );
        }
    }
    found.require(
        total <= 256 * 1024,
        "ValidateAnnotations total size <= 256 KiB",
        format!("{total} bytes"),
    );
}

/// `pkg/apis/core/validation/validation.go ValidateConfigMap`: keys `IsConfigMapKey`, at
/// most 1 MiB of data (`corev1.MaxSecretSize`).
fn config_map(doc: &Value, found: &mut Found<'_>) {
    let mut total = 0;
    for section in ["data", "binaryData"] {
        for (k, v) in doc[section].as_object().into_iter().flatten() {
            found.require(
                is_config_map_key(k),
                "ValidateConfigMap key",
                format!("key {k:?}"),
            );
            total += v.as_str().map_or(0, str::len);
        }
    }
    found.require(
        total <= 1024 * 1024,
        "ValidateConfigMap size <= 1 MiB",
        format!("{total} bytes"),
    );
}

/// `pkg/apis/apps/validation/validation.go ValidateDeploymentSpec`: a non-empty selector
/// that matches the template's labels, non-negative replicas, and a rolling update that
/// can make progress (`ValidateRollingUpdateDeployment`).
fn deployment_spec(spec: &Value, found: &mut Found<'_>) {
    if let Some(r) = spec["replicas"].as_i64() {
        found.require(r >= 0, "ValidateDeploymentSpec replicas >= 0", r);
    }
    selector_matches_template(spec, found, "ValidateDeploymentSpec");
    let ru = &spec["strategy"]["rollingUpdate"];
    let zero = |v: &Value| v.as_i64() == Some(0) || v.as_str() == Some("0%");
    if ru.is_object() {
        found.require(
            !(zero(&ru["maxSurge"]) && zero(&ru["maxUnavailable"])),
            "ValidateRollingUpdateDeployment maxUnavailable and maxSurge not both 0",
            ru,
        );
    }
}

/// The selector's `matchLabels` are non-empty, valid and all on the pod template
/// (ValidateDeploymentSpec: "`selector` does not match template `labels`").
pub fn selector_matches_template(spec: &Value, found: &mut Found<'_>, rule: &str) {
    let selector = &spec["selector"]["matchLabels"];
    labels(selector, "selector.matchLabels", found);
    let template = &spec["template"]["metadata"]["labels"];
    let Some(selector) = selector.as_object().filter(|s| !s.is_empty()) else {
        found.fail(&format!("{rule} selector is required"), "no matchLabels");
        return;
    };
    for (k, v) in selector {
        found.require(
            template.get(k) == Some(v),
            &format!("{rule} selector matches template labels"),
            format!("selector {k}={v} not on the template ({template})"),
        );
    }
}

/// `pkg/apis/core/validation/validation.go ValidatePodTemplateSpec` and `ValidatePodSpec`.
fn pod_template(template: &Value, found: &mut Found<'_>) {
    labels(&template["metadata"]["labels"], "template labels", found);
    annotations(&template["metadata"]["annotations"], found);
    let spec = &template["spec"];
    labels(&spec["nodeSelector"], "nodeSelector", found);
    for (field, value) in [
        ("serviceAccountName", &spec["serviceAccountName"]),
        ("priorityClassName", &spec["priorityClassName"]),
    ] {
        if let Some(v) = value.as_str() {
            found.require(
                is_dns1123_subdomain(v),
                &format!("ValidatePodSpec {field} (DNS-1123 subdomain)"),
                v,
            );
        }
    }
    for s in spec["imagePullSecrets"].as_array().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or("");
        found.require(
            !name.is_empty(),
            "validateImagePullSecrets name required",
            s,
        );
    }
    pod_security_context(&spec["securityContext"], found);
    for t in spec["tolerations"].as_array().into_iter().flatten() {
        toleration(t, found);
    }
    let mut names = Vec::new();
    for c in ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
    {
        let name = c["name"].as_str().unwrap_or("").to_string();
        found.require(
            !names.contains(&name),
            "validateContainers unique names",
            &name,
        );
        names.push(name);
        super::apiserver_pod::container(c, found);
    }
    found.require(
        !names.is_empty(),
        "ValidatePodSpec containers required",
        "none",
    );
}

/// `pkg/apis/core/validation/validation.go ValidatePodSecurityContext`: user and group
/// IDs in 0..=2147483647 (`IsValidUserID`, `IsValidGroupID`).
fn pod_security_context(sc: &Value, found: &mut Found<'_>) {
    for key in ["runAsUser", "runAsGroup", "fsGroup"] {
        if let Some(v) = sc.get(key) {
            let ok = v.as_i64().is_some_and(|n| (0..=2_147_483_647).contains(&n));
            found.require(ok, "ValidatePodSecurityContext IDs", format!("{key}: {v}"));
        }
    }
}

/// `pkg/apis/core/validation/validation.go validateTolerations`: a qualified-name key;
/// no key only with `Exists`; `Exists` without a value; `tolerationSeconds` only with
/// `NoExecute`; a known effect.
fn toleration(t: &Value, found: &mut Found<'_>) {
    let key = t["key"].as_str().unwrap_or("");
    let op = t["operator"].as_str().unwrap_or("Equal");
    let value = t["value"].as_str().unwrap_or("");
    let rule = "validateTolerations";
    if !key.is_empty() {
        found.require(is_qualified_name(key), rule, format!("key {key:?}"));
    } else {
        found.require(op == "Exists", rule, "an empty key needs operator Exists");
    }
    match op {
        "Exists" => found.require(value.is_empty(), rule, "value must be empty with Exists"),
        "Equal" => found.require(
            is_valid_label_value(value),
            rule,
            format!("value {value:?}"),
        ),
        other => found.fail(rule, format!("operator {other:?}")),
    }
    if t.get("tolerationSeconds").is_some() {
        found.require(
            t["effect"].as_str() == Some("NoExecute"),
            rule,
            "tolerationSeconds needs effect NoExecute",
        );
    }
    if let Some(e) = t["effect"].as_str() {
        let known = ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&e);
        found.require(known, rule, format!("effect {e:?}"));
    }
}
