//! Custom resources berrys renders: serde structs of the fields berrys sets, checked
//! against their CRDs' schemas in tests (tests/crds.rs).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;

use super::meta;
use crate::graph::Compiled;
use crate::model::Service;

/// `monitoring.coreos.com/v1` ServiceMonitor: a CRD, so not in k8s-openapi.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitor {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ServiceMonitorSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    pub selector: LabelSelector,
    pub endpoints: Vec<ServiceMonitorEndpoint>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorEndpoint {
    pub port: String,
    pub path: String,
    pub interval: String,
}

/// `external-secrets.io/v1` ExternalSecret: one Secret, created and owned by the External
/// Secrets operator from the store's entries.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecret {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ExternalSecretSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    pub refresh_interval: String,
    pub secret_store_ref: SecretStoreRef,
    pub target: ExternalSecretTarget,
    pub data: Vec<ExternalSecretData>,
}

#[derive(Debug, Serialize)]
pub struct SecretStoreRef {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    pub name: String,
    /// `Owner`: the Secret is the ExternalSecret's, and removed with it.
    pub creation_policy: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    pub secret_key: String,
    pub remote_ref: RemoteRef,
}

#[derive(Debug, Serialize)]
pub struct RemoteRef {
    pub key: String,
    pub property: String,
}

/// With a `[secrets] store`, one ExternalSecret per Secret the service's pods read, with
/// exactly the keys they read (the model makes sure no two services claim one Secret).
pub(super) fn external_secrets(compiled: &Compiled, service: &Service) -> Vec<ExternalSecret> {
    let Some(store) = &compiled.platform.secret_store else {
        return Vec::new();
    };
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (secret, key) in service.secrets.values() {
        keys.entry(secret).or_default().insert(key);
    }
    keys.into_iter()
        .map(|(secret, keys)| ExternalSecret {
            api_version: "external-secrets.io/v1",
            kind: "ExternalSecret",
            metadata: meta(compiled, service, secret.to_string()),
            spec: ExternalSecretSpec {
                refresh_interval: store.refresh_interval.to_string(),
                secret_store_ref: SecretStoreRef {
                    kind: store.kind.clone(),
                    name: store.name.clone(),
                },
                target: ExternalSecretTarget {
                    name: secret.to_string(),
                    creation_policy: "Owner",
                },
                data: keys
                    .into_iter()
                    .map(|key| ExternalSecretData {
                        secret_key: key.to_string(),
                        remote_ref: RemoteRef {
                            key: format!("{}{secret}", store.key_prefix),
                            property: key.to_string(),
                        },
                    })
                    .collect(),
            },
        })
        .collect()
}
