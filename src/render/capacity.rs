//! The queries of what a platform uses of its limits, which the capacity alerts
//! (`prometheus::capacity`) and the capacity dashboard (`grafana`) share: kube-state-metrics'
//! ResourceQuota series, and the connections the platform's pods hold on a datastore.

use crate::model::Platform;
use crate::render::promql::{Expr, Matcher, Ratio, aggregate, selector};

/// The share of a limit above which the capacity alerts fire, and the dashboard turns orange.
pub fn threshold() -> Ratio {
    Ratio::new(8, 10)
}

/// The kube-state-metrics series of the platform's ResourceQuota for one resource.
pub fn quota_series(platform: &Platform, resource: &str, kind: &str) -> Expr {
    selector(
        "kube_resourcequota",
        vec![
            Matcher::eq("namespace", &platform.namespace),
            Matcher::eq("resourcequota", &platform.name),
            Matcher::eq("resource", resource),
            Matcher::eq("type", kind),
        ],
    )
}

/// The connections the platform's pods hold on a datastore, summed over its pools.
pub fn connections(platform: &Platform, datastore: &str) -> Expr {
    let o = &platform.observability;
    aggregate(
        "sum",
        false,
        &[],
        selector(
            &o.pool_metric,
            vec![
                Matcher::eq("namespace", &platform.namespace),
                Matcher::eq(&o.datastore_label, datastore),
            ],
        ),
    )
}
