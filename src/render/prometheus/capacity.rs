//! The platform's capacity alerts: the namespace's quota above 80 % of hard, a datastore's
//! connections above 80 % of what it accepts. They concern the platform, not one service:
//! instead of `service` they carry `scope: platform` (and `datastore`).
//!
//! The figures are those of [`crate::model::capacity`]: the quota BR011 compares with, the
//! usable connections (`max_connections − reserved_connections`) BR003 compares with.

use std::collections::BTreeMap;
use std::ops::Mul;

use super::annotations::Annotations;
use super::{Rule, RuleGroup, alert};
use crate::model::Platform;
use crate::model::capacity::{self, RESOURCE_KINDS};
use crate::render::capacity::{connections, quota_series, threshold};
use crate::render::error::RenderError;
use crate::render::promql::{Ratio, aggregate, binary, number};

pub const GROUP: &str = "berrys-capacity";
pub const QUOTA_ALERT: &str = "NamespaceQuotaHigh";
pub const CONNECTIONS_ALERT: &str = "DatastoreConnectionsHigh";
/// What the runbook URL's `{service}` becomes for these alerts, and their `scope` label.
pub const SCOPE: &str = "platform";

fn labels(platform: &Platform) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("severity".to_string(), "ticket".to_string()),
        ("scope".to_string(), SCOPE.to_string()),
        ("namespace".to_string(), platform.namespace.clone()),
    ])
}

/// The group, or `None` when the platform sets no quota and no service uses a datastore.
pub fn group(
    platform: &Platform,
    annotations: &Annotations,
) -> Result<Option<RuleGroup>, RenderError> {
    let mut rules: Vec<Rule> = Vec::new();
    if let Some(quota) = &platform.quota {
        for kind in RESOURCE_KINDS {
            let Some(hard) = kind.of(quota.get_ref()) else {
                continue;
            };
            let by = &["namespace", "resource"];
            let used = aggregate(
                "sum",
                false,
                by,
                quota_series(platform, kind.quota_resource, "used"),
            );
            let limit = aggregate(
                "sum",
                false,
                by,
                quota_series(platform, kind.quota_resource, "hard"),
            );
            let expr = binary(binary(used, "/", limit), ">", number(threshold()));
            let ctx = BTreeMap::from([
                ("namespace", platform.namespace.clone()),
                ("resource", kind.quota_resource.to_string()),
                ("hard", hard.get_ref().text.clone()),
            ]);
            let mut l = labels(platform);
            l.insert("resource".to_string(), kind.quota_resource.to_string());
            rules.push(alert(
                QUOTA_ALERT,
                expr,
                Some("15m"),
                l,
                annotations.render(QUOTA_ALERT, SCOPE, &ctx)?,
            ));
        }
    }
    for load in capacity::datastore_loads(platform) {
        // A datastore nobody uses has no pool series; one that accepts no connection is
        // BR003's to report.
        if load.users.is_empty() || load.usable == 0 {
            continue;
        }
        let name = load.datastore.name.get_ref();
        let limit = Ratio::int(i128::from(load.usable)).mul(threshold());
        let expr = binary(connections(platform, name), ">", number(limit));
        let ctx = BTreeMap::from([
            ("namespace", platform.namespace.clone()),
            ("datastore", name.clone()),
            ("threshold", limit.to_string()),
            ("usable", load.usable.to_string()),
            (
                "max_connections",
                load.datastore.max_connections.get_ref().to_string(),
            ),
            ("reserved", load.datastore.reserved_connections.to_string()),
        ]);
        let mut l = labels(platform);
        l.insert("datastore".to_string(), name.clone());
        rules.push(alert(
            CONNECTIONS_ALERT,
            expr,
            Some("10m"),
            l,
            annotations.render(CONNECTIONS_ALERT, SCOPE, &ctx)?,
        ));
    }
    Ok((!rules.is_empty()).then(|| RuleGroup {
        name: GROUP.to_string(),
        rules,
    }))
}
