//! Every custom resource berrys renders is valid under its CRD's `openAPIV3Schema`
//! (tests/crds, with their provenance), read strictly: a field the CRD does not declare is an
//! error, as the API server's strict field validation makes it, except below
//! `x-kubernetes-preserve-unknown-fields`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// The CRDs of the custom resources berrys renders, by `apiVersion` and `kind`.
const CRDS: &[(&str, &str, &str)] = &[
    (
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "monitoring.coreos.com_servicemonitors.yaml",
    ),
    (
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        "monitoring.coreos.com_prometheusrules.yaml",
    ),
    (
        "external-secrets.io/v1",
        "ExternalSecret",
        "external-secrets.io_externalsecrets.yaml",
    ),
    (
        "monitoring.coreos.com/v1",
        "PodMonitor",
        "monitoring.coreos.com_podmonitors.yaml",
    ),
    ("argoproj.io/v1alpha1", "Rollout", "rollout-crd.yaml"),
    (
        "argoproj.io/v1alpha1",
        "AnalysisTemplate",
        "analysis-template-crd.yaml",
    ),
    (
        "monitoring.coreos.com/v1alpha1",
        "AlertmanagerConfig",
        "monitoring.coreos.com_alertmanagerconfigs.yaml",
    ),
];

/// The AlertmanagerConfig CRD leaves child routes open (`routes` items preserve unknown
/// fields, for their recursion): each child route is held to the schema of the top route.
fn route_validator() -> jsonschema::Validator {
    let schema = strict_schema("monitoring.coreos.com_alertmanagerconfigs.yaml", "v1alpha1");
    let route = &schema["properties"]["spec"]["properties"]["route"];
    assert!(route.is_object(), "the CRD has no spec.route schema");
    jsonschema::draft4::new(route).expect("a usable route schema")
}

/// Problems of every child route below `route`, at any depth, against the route schema.
fn child_route_problems(
    routes: &jsonschema::Validator,
    route: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let Some(children) = route["routes"].as_array() else {
        return;
    };
    for (i, child) in children.iter().enumerate() {
        let at = format!("{path}/routes/{i}");
        for error in routes.iter_errors(child) {
            problems.push(format!("{error} at {at}{}", error.instance_path()));
        }
        child_route_problems(routes, child, &at, problems);
    }
}

/// A CRD's schema for `version`, made strict.
fn strict_schema(file: &str, version: &str) -> Value {
    let text = std::fs::read_to_string(common::root().join("tests/crds").join(file)).unwrap();
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    let versions = crd["spec"]["versions"].as_array().expect("spec.versions");
    let found = versions
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{file} has no version {version}"));
    let mut schema = found["schema"]["openAPIV3Schema"].clone();
    make_strict(&mut schema);
    schema
}

/// Closes every object the CRD describes field by field, and lets `int-or-string` be
/// either (the OpenAPI `type` there would only allow one).
fn make_strict(node: &mut Value) {
    let Some(object) = node.as_object_mut() else {
        if let Some(items) = node.as_array_mut() {
            items.iter_mut().for_each(make_strict);
        }
        return;
    };
    let preserved = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if object.contains_key("properties")
        && !object.contains_key("additionalProperties")
        && !preserved
    {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    if object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        object.remove("type");
    }
    // Go's inline flags (`^(?i)(abort|warn)?$`) are no ECMA-262 pattern, which JSON Schema
    // patterns are: such a pattern is left out (berrys sets no field that has one).
    if object
        .get("pattern")
        .and_then(Value::as_str)
        .is_some_and(|p| p.contains("(?i)"))
    {
        object.remove("pattern");
    }
    object.values_mut().for_each(make_strict);
}

fn validators() -> BTreeMap<(String, String), jsonschema::Validator> {
    CRDS.iter()
        .map(|(api_version, kind, file)| {
            let version = api_version.rsplit('/').next().unwrap();
            let schema = strict_schema(file, version);
            let validator = jsonschema::draft4::new(&schema)
                .unwrap_or_else(|e| panic!("{file}: not a usable schema: {e}"));
            ((api_version.to_string(), kind.to_string()), validator)
        })
        .collect()
}

/// Problems of every custom resource in the rendered YAML files of `files`, and how many
/// objects of each kind were checked.
fn check_files(
    validators: &BTreeMap<(String, String), jsonschema::Validator>,
    origin: &str,
    files: &[berrys::output::OutputFile],
    checked: &mut BTreeMap<String, usize>,
    problems: &mut Vec<String>,
) {
    for file in files.iter().filter(|f| f.path.ends_with(".yaml")) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(&file.contents)
            .unwrap_or_else(|e| panic!("{origin} {}: {e}", file.path));
        for doc in docs {
            let (Some(api_version), Some(kind)) =
                (doc["apiVersion"].as_str(), doc["kind"].as_str())
            else {
                continue;
            };
            let key = (api_version.to_string(), kind.to_string());
            let group = api_version.split('/').next().unwrap_or_default();
            let Some(validator) = validators.get(&key) else {
                assert!(
                    !group.contains('.')
                        || group.ends_with(".k8s.io")
                        || group == "kustomize.config.k8s.io",
                    "{origin} {}: {kind} ({api_version}) is a custom resource with no CRD in tests/crds",
                    file.path
                );
                continue;
            };
            *checked.entry(kind.to_string()).or_default() += 1;
            if kind == "AlertmanagerConfig" {
                let mut found = Vec::new();
                child_route_problems(
                    &route_validator(),
                    &doc["spec"]["route"],
                    "/spec/route",
                    &mut found,
                );
                problems.extend(
                    found
                        .into_iter()
                        .map(|p| format!("{origin} {} {kind}: {p}", file.path)),
                );
            }
            for error in validator.iter_errors(&doc) {
                problems.push(format!(
                    "{origin} {} {kind} {}: {error} at {}",
                    file.path,
                    doc["metadata"]["name"].as_str().unwrap_or("?"),
                    error.instance_path()
                ));
            }
        }
    }
}

fn platforms() -> Vec<std::path::PathBuf> {
    let root = common::root();
    let mut paths = vec![root.join("platform.toml")];
    let mut fixtures: Vec<_> = std::fs::read_dir(root.join("tests/fixtures/valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    paths.extend(fixtures);
    paths
}

fn render_all(path: &Path) -> Vec<(String, Vec<berrys::output::OutputFile>)> {
    let source = common::load(path);
    let all = berrys::compile(&source, berrys::Envs::All)
        .unwrap_or_else(|e| panic!("{} does not compile: {e:?}", path.display()));
    all.iter()
        .map(|c| {
            let origin = format!("{} --env {}", path.display(), c.platform.env);
            (origin, berrys::render::render(c).unwrap())
        })
        .collect()
}

#[test]
fn every_custom_resource_is_valid_under_its_crd() {
    let validators = validators();
    let mut checked = BTreeMap::new();
    let mut problems = Vec::new();
    for path in platforms() {
        for (origin, files) in render_all(&path) {
            check_files(&validators, &origin, &files, &mut checked, &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (_, kind, _) in CRDS {
        assert!(
            checked.get(*kind).copied().unwrap_or(0) > 0,
            "no {kind} was rendered, so none was checked: {checked:?}"
        );
    }
}

/// The strict reading is what makes the check worth having: a field the CRD does not know
/// fails, in the spec and in nested objects, while a preserve-unknown object stays open.
#[test]
fn the_strict_schema_rejects_fields_the_crd_does_not_declare() {
    let validators = validators();
    let key = |kind: &str| {
        let (api, kind, _) = CRDS.iter().find(|c| c.1 == kind).unwrap();
        (api.to_string(), kind.to_string())
    };
    let monitor = serde_json::json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": { "name": "x" },
        "spec": {
            "selector": { "matchLabels": { "app": "x" } },
            "endpoints": [{ "port": "http", "path": "/metrics", "interval": "30s" }]
        }
    });
    let sm = &validators[&key("ServiceMonitor")];
    assert!(sm.is_valid(&monitor));
    let mut unknown = monitor.clone();
    unknown["spec"]["endpoints"][0]["scrapeEvery"] = Value::from("30s");
    assert!(!sm.is_valid(&unknown), "an unknown endpoint field passed");
    let mut misspelt = monitor;
    misspelt["spec"]["selectors"] = Value::Object(Map::new());
    assert!(!sm.is_valid(&misspelt), "an unknown spec field passed");

    let secret = serde_json::json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": { "name": "db" },
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": { "kind": "ClusterSecretStore", "name": "vault" },
            "target": { "name": "db", "creationPolicy": "Owner" },
            "data": [{ "secretKey": "password", "remoteRef": { "key": "db", "property": "password" } }]
        }
    });
    let es = &validators[&key("ExternalSecret")];
    assert!(es.is_valid(&secret));
    let mut bad_policy = secret.clone();
    bad_policy["spec"]["target"]["creationPolicy"] = Value::from("Own");
    assert!(!es.is_valid(&bad_policy), "an unknown enum value passed");
    let mut unknown = secret;
    unknown["spec"]["data"][0]["remoteRef"]["path"] = Value::from("db");
    assert!(!es.is_valid(&unknown), "an unknown remoteRef field passed");
}

/// Without the operator, nothing outside core Kubernetes is rendered.
#[test]
fn without_the_operator_no_custom_resource_is_rendered() {
    let path = common::root().join("tests/fixtures/valid/no-operator.toml");
    for (origin, files) in render_all(&path) {
        assert!(
            !files
                .iter()
                .any(|f| f.path == "prometheus/prometheusrule.yaml"),
            "{origin}: a PrometheusRule without the operator"
        );
        for file in files.iter().filter(|f| f.path.starts_with("kubernetes/")) {
            assert!(
                !file.contents.contains("monitoring.coreos.com"),
                "{origin} {}: an operator object",
                file.path
            );
        }
        let web = files
            .iter()
            .find(|f| f.path == "kubernetes/web.yaml")
            .unwrap();
        for annotation in [
            "prometheus.io/scrape: \"true\"",
            "prometheus.io/port: \"8080\"",
            "prometheus.io/path: /metrics",
        ] {
            assert!(
                web.contents.contains(annotation),
                "{origin}: no `{annotation}`"
            );
        }
        let kustomization = files
            .iter()
            .find(|f| f.path == "kustomization.yaml")
            .unwrap();
        assert!(!kustomization.contents.contains("prometheusrule"));
        assert!(files.iter().any(|f| f.path == "prometheus/rules.yaml"));
    }
}

/// An environment without the operator (and without Argo Rollouts) renders core Kubernetes
/// only, while the platform's other environments keep their custom resources.
#[test]
fn an_environment_can_turn_the_operator_off() {
    let path = common::root().join("tests/fixtures/valid/progressive-delivery.toml");
    let rendered = render_all(&path);
    let custom = |files: &[berrys::output::OutputFile]| -> Vec<String> {
        files
            .iter()
            .filter(|f| f.path.starts_with("kubernetes/") || f.path.starts_with("prometheus/"))
            .filter(|f| {
                f.contents.contains("apiVersion: monitoring.coreos.com/")
                    || f.contents.contains("apiVersion: argoproj.io/")
            })
            .map(|f| f.path.clone())
            .collect()
    };
    for (origin, files) in &rendered {
        let local = origin.ends_with("--env local");
        assert_eq!(
            custom(files).is_empty(),
            local,
            "{origin}: {:?}",
            custom(files)
        );
        let storefront = files
            .iter()
            .find(|f| f.path == "kubernetes/storefront.yaml")
            .unwrap();
        let annotated = storefront
            .contents
            .contains("prometheus.io/scrape: \"true\"");
        assert_eq!(annotated, local, "{origin}: scrape annotations");
    }
    assert!(rendered.iter().any(|(o, _)| o.ends_with("--env local")));
}

/// The Argo Rollouts objects are read as strictly: a misspelt strategy or metric field fails.
#[test]
fn the_argo_rollouts_schemas_are_strict() {
    let validators = validators();
    let rollout = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": { "name": "x" },
        "spec": {
            "selector": { "matchLabels": { "app": "x" } },
            "template": { "spec": { "containers": [{ "name": "x", "image": "x:1" }] } },
            "strategy": { "canary": { "canaryService": "x-canary", "steps": [{ "setWeight": 10 }] } }
        }
    });
    let key = ("argoproj.io/v1alpha1".to_string(), "Rollout".to_string());
    assert!(validators[&key].is_valid(&rollout));
    let mut misspelt = rollout.clone();
    misspelt["spec"]["strategy"]["canary"]["steps"][0] = serde_json::json!({ "setWieght": 10 });
    assert!(
        !validators[&key].is_valid(&misspelt),
        "a misspelt step passed"
    );
    let mut container = rollout;
    container["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = Value::from("x");
    assert!(
        !validators[&key].is_valid(&container),
        "an unknown container field passed"
    );
}

/// Child routes are held to the route schema at every depth: an unknown field or a bad
/// match type two levels down fails, though the CRD itself would let it through.
#[test]
fn alertmanager_config_child_routes_are_checked_against_the_route_schema() {
    let routes = route_validator();
    let route = serde_json::json!({
        "receiver": "tickets",
        "routes": [{
            "matchers": [{ "name": "team", "value": "agents", "matchType": "=" }],
            "receiver": "tickets",
            "routes": [{
                "matchers": [{ "name": "severity", "value": "page|critical", "matchType": "=~" }],
                "receiver": "oncall"
            }]
        }]
    });
    let mut problems = Vec::new();
    child_route_problems(&routes, &route, "", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");

    let mut misspelt = route.clone();
    misspelt["routes"][0]["routes"][0]["reciever"] = Value::from("oncall");
    let mut problems = Vec::new();
    child_route_problems(&routes, &misspelt, "", &mut problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("/routes/0/routes/0"), "{problems:?}");

    let mut bad_type = route;
    bad_type["routes"][0]["matchers"][0]["matchType"] = Value::from("==");
    let mut problems = Vec::new();
    child_route_problems(&routes, &bad_type, "", &mut problems);
    assert!(
        !problems.is_empty(),
        "a match type the CRD does not allow passed"
    );

    // The CRD alone lets the misspelt child through: why the check above exists.
    let validators = validators();
    let config = serde_json::json!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": { "name": "x" },
        "spec": { "route": misspelt, "receivers": [{ "name": "tickets" }, { "name": "oncall" }] }
    });
    let key = (
        "monitoring.coreos.com/v1alpha1".to_string(),
        "AlertmanagerConfig".to_string(),
    );
    assert!(validators[&key].is_valid(&config));
}
