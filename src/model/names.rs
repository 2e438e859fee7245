//! The names berrys derives for the objects and files it writes, declared once: the
//! renderers take them from here, and the model checks them (length, collisions) where the
//! services that give rise to them are declared, so a platform whose derived names the API
//! server or kustomize would refuse never lints clean.

use std::collections::BTreeMap;

use super::{Service, Strategy};
use crate::diagnostic::{self, Diagnostic};

/// The file of the platform-wide objects; every service has `kubernetes/<service>.yaml`.
pub const PLATFORM_FILE: &str = "kubernetes/platform.yaml";
/// The platform's NetworkPolicy that denies what no service's own policy allows.
pub const DEFAULT_DENY: &str = "default-deny";
/// The platform's dashboards, beside one per service.
pub const PLATFORM_DASHBOARDS: [&str; 3] = ["capacity", "platform-overview", "slo-overview"];
/// The longest a Service's name may be: a DNS-1035 label (Kubernetes'
/// `apimachinery/pkg/util/validation` `IsDNS1035Label`, used by `ValidateServiceName`).
pub const MAX_LABEL: usize = 63;

/// The file of a service's objects.
pub fn service_file(service: &str) -> String {
    format!("kubernetes/{service}.yaml")
}

/// A service's ConfigMap.
pub fn config_map(service: &str) -> String {
    format!("{service}-config")
}

/// The Service Argo Rollouts points at the new version only.
pub fn version_service(service: &str, strategy: &Strategy) -> String {
    match strategy {
        Strategy::Canary(_) => format!("{service}-canary"),
        Strategy::BlueGreen(_) => format!("{service}-preview"),
    }
}

/// The AnalysisTemplate of a service whose releases are gated on its SLOs.
pub fn analysis_template(service: &str) -> String {
    format!("{service}-slo")
}

/// The ConfigMap that carries dashboard `dashboard` (a service's name or one of
/// [`PLATFORM_DASHBOARDS`]) to Grafana's sidecar.
pub fn dashboard_config_map(platform: &str, dashboard: &str) -> String {
    format!("{platform}-dashboard-{dashboard}")
}

/// The platform-wide objects whose names a service's objects could take: kind and name.
fn platform_objects(platform: &str) -> Vec<(&'static str, String)> {
    let mut objects = vec![("NetworkPolicy", DEFAULT_DENY.to_string())];
    objects.extend(
        PLATFORM_DASHBOARDS
            .iter()
            .map(|d| ("ConfigMap", dashboard_config_map(platform, d))),
    );
    objects
}

/// The objects of one service whose names are not the service's own: kind, name and what
/// the object is (for the message).
fn service_objects(platform: &str, service: &Service) -> Vec<(&'static str, String, String)> {
    let name = service.name.get_ref();
    let mut objects = vec![
        ("ConfigMap", config_map(name), "its ConfigMap".to_string()),
        (
            "ConfigMap",
            dashboard_config_map(platform, name),
            "its dashboard's ConfigMap".to_string(),
        ),
    ];
    if let Some(delivery) = &service.delivery {
        let what = match delivery.strategy {
            Strategy::Canary(_) => "its canary Service",
            Strategy::BlueGreen(_) => "its preview Service",
        };
        objects.push((
            "Service",
            version_service(name, &delivery.strategy),
            what.to_string(),
        ));
    }
    objects
}

/// The kinds of a service's objects, named as the service, that a derived name could take.
const OWN_NAME_KINDS: [&str; 2] = ["Service", "NetworkPolicy"];

/// Every derived name that is too long for its kind, and every pair of objects (or files)
/// two declarations would both write: each reported at the service that brings it in.
pub fn check(platform: &str, services: &BTreeMap<String, Service>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // What each (kind, name) is, in the order it was first derived.
    let mut taken: BTreeMap<(&str, String), String> = BTreeMap::new();
    for (kind, name) in platform_objects(platform) {
        taken.insert((kind, name), "an object of the platform's own".to_string());
    }
    for service in services.values() {
        let name = service.name.get_ref();
        if service_file(name) == PLATFORM_FILE {
            diags.push(reserved(
                service,
                "the platform's own objects are written to `kubernetes/platform.yaml`",
            ));
        }
        for kind in OWN_NAME_KINDS {
            let key = (kind, name.clone());
            match taken.get(&key) {
                Some(other) => diags.push(collision(
                    service,
                    kind,
                    name,
                    &format!("the {kind} of service `{name}`"),
                    other,
                )),
                None => {
                    taken.insert(key, format!("the {kind} of service `{name}`"));
                }
            }
        }
    }
    for service in services.values() {
        let name = service.name.get_ref();
        for (kind, derived, what) in service_objects(platform, service) {
            if kind == "Service" && derived.len() > MAX_LABEL {
                diags.push(too_long(service, &derived, &what));
            }
            let key = (kind, derived.clone());
            match taken.get(&key) {
                Some(other) => diags.push(collision(
                    service,
                    kind,
                    &derived,
                    &format!("{what} (of `{name}`)"),
                    other,
                )),
                None => {
                    taken.insert(key, format!("{what} (of `{name}`)"));
                }
            }
        }
    }
    diags
}

fn reserved(service: &Service, why: &str) -> Diagnostic {
    let name = service.name.get_ref();
    Diagnostic::new(
        diagnostic::codes::INVALID_VALUE,
        format!("`{name}` is a name berrys reserves: {why}"),
        service.name.span(),
        "reserved name",
    )
    .with_help("rename the service")
}

fn too_long(service: &Service, derived: &str, what: &str) -> Diagnostic {
    Diagnostic::new(
        diagnostic::codes::INVALID_VALUE,
        format!(
            "{what} would be named `{derived}`, {} characters: a Service's name is at most {MAX_LABEL}",
            derived.len()
        ),
        service.name.span(),
        "name too long for its derived objects",
    )
    .with_help(format!(
        "shorten the service's name to at most {} characters",
        MAX_LABEL - (derived.len() - service.name.get_ref().len())
    ))
}

fn collision(service: &Service, kind: &str, name: &str, what: &str, other: &str) -> Diagnostic {
    Diagnostic::new(
        diagnostic::codes::INVALID_VALUE,
        format!("two objects would be the {kind} `{name}`: {what} and {other}"),
        service.name.span(),
        "derived name taken",
    )
    .with_help(
        "rename the service; berrys derives `<service>-canary`, `<service>-preview`, \
         `<service>-config` and `<platform>-dashboard-<service>` and reserves `default-deny`, \
         `platform`, `capacity`, `platform-overview` and `slo-overview` (docs/output.md)",
    )
}
