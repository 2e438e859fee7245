//! The capacity dashboard's context: the namespace quota from kube-state-metrics, the
//! connections of each datastore against the usable ones, the autoscalers' replicas against
//! their maximum. The limits drawn are those of [`crate::model::capacity`] and of the
//! capacity alerts.

use serde_json::{Value, json};

use super::context::{Queries, Step, any_of, links, tags};
use super::{title, uid};
use crate::model::capacity::{self, RESOURCE_KINDS};
use crate::render::capacity::{connections, quota_series, threshold};
use crate::render::promql::{aggregate, binary};

/// Orange where the capacity alerts fire (80 % of the limit), red at the limit.
fn limit_steps(limit: f64) -> Vec<Step> {
    vec![
        Step {
            color: "orange",
            value: limit * threshold().to_f64(),
        },
        Step {
            color: "red",
            value: limit,
        },
    ]
}

pub(super) fn capacity_context(q: &Queries) -> Value {
    let platform = q.platform;
    let quota = platform.quota.as_ref().map(|quota| {
        let set: Vec<_> = RESOURCE_KINDS
            .iter()
            .filter(|k| k.of(quota.get_ref()).is_some())
            .collect();
        let by = ["resource"];
        let usage: Vec<_> = set
            .iter()
            .map(|k| {
                let part = |kind| {
                    aggregate(
                        "sum",
                        false,
                        &by,
                        quota_series(platform, k.quota_resource, kind),
                    )
                };
                (binary(part("used"), "/", part("hard")), "{{resource}}")
            })
            .collect();
        let resources: Vec<Value> = set
            .iter()
            .map(|k| {
                json!({
                    "title": format!("Quota {}", k.quota_resource),
                    "resource": k.quota_resource,
                    "unit": if k.cores { "none" } else { "bytes" },
                    "targets": q.series(vec![
                        (quota_series(platform, k.quota_resource, "used"), "used"),
                        (quota_series(platform, k.quota_resource, "hard"), "hard"),
                    ]),
                })
            })
            .collect();
        json!({
            "usage": q.series(usage),
            "usage_steps": limit_steps(1.0),
            "resources": resources,
        })
    });
    let datastores: Vec<Value> = capacity::datastore_loads(platform)
        .into_iter()
        .filter(|l| !l.users.is_empty())
        .map(|l| {
            let name = l.datastore.name.get_ref();
            json!({
                "name": name,
                "usable": l.usable,
                "targets": q.series(vec![(connections(platform, name), "in use")]),
                "steps": limit_steps(l.usable as f64),
            })
        })
        .collect();
    let autoscaled: Vec<&str> = platform
        .services
        .values()
        .filter(|s| s.replicas.autoscale().is_some())
        .map(|s| s.name.get_ref().as_str())
        .collect();
    let hpas = (!autoscaled.is_empty()).then(|| {
        let label = "horizontalpodautoscaler";
        let hpa = |metric: &str| q.kube(metric, label, any_of(label, autoscaled.iter().copied()));
        let by = [label];
        let current = aggregate(
            "sum",
            false,
            &by,
            hpa("kube_horizontalpodautoscaler_status_current_replicas"),
        );
        let max = aggregate(
            "sum",
            false,
            &by,
            hpa("kube_horizontalpodautoscaler_spec_max_replicas"),
        );
        json!({
            "current": q.series(vec![(current.clone(), "{{horizontalpodautoscaler}}")]),
            "share": q.series(vec![(binary(current, "/", max), "{{horizontalpodautoscaler}}")]),
            "steps": limit_steps(1.0),
        })
    });
    json!({
        "uid": uid(platform, "capacity"),
        "title": title(platform, "capacity"),
        "tags": tags(platform, "overview"),
        "links": links(platform, &[("platform-overview", "every service")]),
        "datasource": q.datasource,
        "quota": quota,
        "datastores": datastores,
        "hpas": hpas,
    })
}
