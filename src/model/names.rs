//! The names berrys derives for the objects and files it writes, declared once: the
//! renderers take them from here, and the model checks them (length, collisions) where the
//! services that give rise to them are declared, so a platform whose derived names the API
//! server or kustomize would refuse never lints clean.

use std::collections::{BTreeMap, HashMap};

use foldhash::fast::FixedState;

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

/// What a service's ConfigMap adds to its name.
const CONFIG_SUFFIX: &str = "-config";
/// What a dashboard's ConfigMap puts between the platform's name and the dashboard's.
const DASHBOARD_INFIX: &str = "-dashboard-";

/// A service's ConfigMap.
pub fn config_map(service: &str) -> String {
    [service, CONFIG_SUFFIX].concat()
}

/// What the Service of a release's new version adds to the service's name.
fn version_suffix(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Canary(_) => "-canary",
        Strategy::BlueGreen(_) => "-preview",
    }
}

/// The Service Argo Rollouts points at the new version only.
pub fn version_service(service: &str, strategy: &Strategy) -> String {
    [service, version_suffix(strategy)].concat()
}

/// The AnalysisTemplate of a service whose releases are gated on its SLOs.
pub fn analysis_template(service: &str) -> String {
    format!("{service}-slo")
}

/// The ConfigMap that carries dashboard `dashboard` (a service's name or one of
/// [`PLATFORM_DASHBOARDS`]) to Grafana's sidecar.
pub fn dashboard_config_map(platform: &str, dashboard: &str) -> String {
    [platform, DASHBOARD_INFIX, dashboard].concat()
}

/// One object whose name could meet another's: its kind and whose it is, from which its
/// name is derived again when two meet.
#[derive(Debug, Clone, Copy)]
enum Object<'s> {
    /// The platform's `default-deny` NetworkPolicy.
    DefaultDeny,
    /// The ConfigMap of one of the platform's own dashboards.
    PlatformDashboard(&'static str),
    /// A service's Service or NetworkPolicy, named as the service.
    Own(&'s Service, &'static str),
    /// A service's ConfigMap.
    ConfigMap(&'s Service),
    /// A service's dashboard's ConfigMap.
    Dashboard(&'s Service),
    /// A canary's or blue-green's version Service.
    Version(&'s Service),
}

impl<'s> Object<'s> {
    fn kind(self) -> &'static str {
        match self {
            Object::DefaultDeny => "NetworkPolicy",
            Object::PlatformDashboard(_) | Object::ConfigMap(_) | Object::Dashboard(_) => {
                "ConfigMap"
            }
            Object::Own(_, kind) => kind,
            Object::Version(_) => "Service",
        }
    }

    /// The name's pieces, in order: hashed as they are, joined only when reported.
    fn pieces(self, platform: &'s str) -> [&'s str; 3] {
        match self {
            Object::DefaultDeny => [DEFAULT_DENY, "", ""],
            Object::PlatformDashboard(d) => [platform, DASHBOARD_INFIX, d],
            Object::Own(s, _) => [s.name.get_ref(), "", ""],
            Object::ConfigMap(s) => [s.name.get_ref(), CONFIG_SUFFIX, ""],
            Object::Dashboard(s) => [platform, DASHBOARD_INFIX, s.name.get_ref()],
            Object::Version(s) => [
                s.name.get_ref(),
                s.delivery
                    .as_ref()
                    .map_or("", |d| version_suffix(&d.strategy)),
                "",
            ],
        }
    }

    fn describe(self) -> String {
        match self {
            Object::DefaultDeny | Object::PlatformDashboard(_) => {
                "an object of the platform's own".to_string()
            }
            Object::Own(s, kind) => format!("the {kind} of service `{}`", s.name.get_ref()),
            Object::ConfigMap(s) => format!("its ConfigMap (of `{}`)", s.name.get_ref()),
            Object::Dashboard(s) => {
                format!("its dashboard's ConfigMap (of `{}`)", s.name.get_ref())
            }
            Object::Version(s) => match s.delivery.as_ref().map(|d| &d.strategy) {
                Some(Strategy::BlueGreen(_)) => {
                    format!("its preview Service (of `{}`)", s.name.get_ref())
                }
                _ => format!("its canary Service (of `{}`)", s.name.get_ref()),
            },
        }
    }
}

/// FNV-1a over the kind and the name's pieces: the same for the same joined name however it
/// is cut into pieces, so no name is built unless two meet.
fn name_hash(kind: &str, pieces: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |bytes: &[u8]| {
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    add(kind.as_bytes());
    add(&[0]);
    for piece in pieces {
        add(piece.as_bytes());
    }
    hash
}

/// The kinds of a service's objects, named as the service, that a derived name could take.
const OWN_NAME_KINDS: [&str; 2] = ["Service", "NetworkPolicy"];

/// Every derived name that is too long for its kind, and every pair of objects (or files)
/// two declarations would both write: each reported at the service that brings it in.
pub fn check<'s>(platform: &'s str, services: &'s BTreeMap<String, Service>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // The objects of each name hash, the first to take it.
    let mut taken: HashMap<u64, Object<'s>, FixedState> =
        HashMap::with_capacity_and_hasher(services.len() * 5 + 4, FixedState::default());
    let mut take = |object: Object<'s>, diags: &mut Vec<Diagnostic>| {
        let pieces = object.pieces(platform);
        let hash = name_hash(object.kind(), &pieces);
        match taken.get(&hash) {
            Some(&other)
                if other.kind() == object.kind()
                    && other.pieces(platform).concat() == pieces.concat() =>
            {
                if let Object::Own(service, _)
                | Object::ConfigMap(service)
                | Object::Dashboard(service)
                | Object::Version(service) = object
                {
                    diags.push(collision(service, object, &pieces.concat(), other));
                }
            }
            // A different name of the same hash: too rare to track.
            Some(_) => {}
            None => {
                taken.insert(hash, object);
            }
        }
    };
    take(Object::DefaultDeny, &mut diags);
    for dashboard in PLATFORM_DASHBOARDS {
        take(Object::PlatformDashboard(dashboard), &mut diags);
    }
    for service in services.values() {
        // Its file would be the platform's (`service_file`, without building the path).
        let platform_file_stem = PLATFORM_FILE
            .strip_prefix("kubernetes/")
            .and_then(|f| f.strip_suffix(".yaml"));
        if platform_file_stem == Some(service.name.get_ref().as_str()) {
            diags.push(reserved(
                service,
                "the platform's own objects are written to `kubernetes/platform.yaml`",
            ));
        }
        for kind in OWN_NAME_KINDS {
            take(Object::Own(service, kind), &mut diags);
        }
    }
    for service in services.values() {
        take(Object::ConfigMap(service), &mut diags);
        take(Object::Dashboard(service), &mut diags);
        if service.delivery.is_some() {
            let version = Object::Version(service);
            let length: usize = version.pieces(platform).iter().map(|p| p.len()).sum();
            if length > MAX_LABEL {
                diags.push(too_long(service, version, length));
            }
            take(version, &mut diags);
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

fn too_long(service: &Service, version: Object<'_>, length: usize) -> Diagnostic {
    let name = service.name.get_ref();
    let derived = version.pieces("").concat();
    Diagnostic::new(
        diagnostic::codes::INVALID_VALUE,
        format!(
            "{} would be named `{derived}`, {length} characters: a Service's name is at most {MAX_LABEL}",
            version.describe().split(" (of").next().unwrap_or("its Service")
        ),
        service.name.span(),
        "name too long for its derived objects",
    )
    .with_help(format!(
        "shorten the service's name to at most {} characters",
        MAX_LABEL - (length - name.len())
    ))
}

fn collision(service: &Service, this: Object<'_>, name: &str, other: Object<'_>) -> Diagnostic {
    Diagnostic::new(
        diagnostic::codes::INVALID_VALUE,
        format!(
            "two objects would be the {} `{name}`: {} and {}",
            this.kind(),
            this.describe(),
            other.describe()
        ),
        service.name.span(),
        "derived name taken",
    )
    .with_help(
        "rename the service; berrys derives `<service>-canary`, `<service>-preview`, \
         `<service>-config` and `<platform>-dashboard-<service>` and reserves `default-deny`, \
         `platform`, `capacity`, `platform-overview` and `slo-overview` (docs/output.md)",
    )
}
