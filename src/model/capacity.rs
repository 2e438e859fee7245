//! What a platform asks of its cluster and its datastores, at minimum and at peak: the one
//! arithmetic behind BR003 (pool-overcommit), BR011 (quota-exceeded), `berrys capacity`
//! and `berrys diff`, so a figure a reviewer reads is the figure lint judged.
//!
//! *At minimum*: every service at its fewest replicas, no release under way. *At peak*:
//! every service at its most replicas while a new version is released ([`PeakPods`]: the
//! rolling surge, both versions of a blue-green switch, an nginx canary beside a stable
//! version scaled back up).

use std::ops::Range;

use super::{Datastore, PeakPods, Platform, Resources, Service, Sp};
use crate::units::{Quantity, number_quantity};

/// Headroom below this share of a limit is marked (and BR003 warns): use above 80 %.
pub const HEADROOM_FRACTION: f64 = 0.2;

/// One of the four resources a quota can cap.
#[derive(Debug, Clone, Copy)]
pub struct ResourceKind {
    /// The key in `resources` and `quota` (`cpu`, `memory_limit`).
    pub key: &'static str,
    /// The ResourceQuota's name of it (`requests.cpu`), as kube-state-metrics labels it.
    pub quota_resource: &'static str,
    /// Cores (`cpu`, `cpu_limit`) rather than bytes.
    pub cores: bool,
    pick: fn(&Resources) -> Option<&Sp<Quantity>>,
}

impl ResourceKind {
    pub fn of<'a>(&self, resources: &'a Resources) -> Option<&'a Sp<Quantity>> {
        (self.pick)(resources)
    }

    /// A total of this resource as a person reads it: cores as a quantity (`2500m`), bytes in
    /// the largest binary unit (`1.5Gi`).
    pub fn show(&self, value: f64) -> String {
        if self.cores {
            number_quantity(value)
        } else {
            crate::units::binary_bytes(value)
        }
    }
}

pub const RESOURCE_KINDS: [ResourceKind; 4] = [
    ResourceKind {
        key: "cpu",
        quota_resource: "requests.cpu",
        cores: true,
        pick: |r| r.cpu.as_ref(),
    },
    ResourceKind {
        key: "memory",
        quota_resource: "requests.memory",
        cores: false,
        pick: |r| r.memory.as_ref(),
    },
    ResourceKind {
        key: "cpu_limit",
        quota_resource: "limits.cpu",
        cores: true,
        pick: |r| r.cpu_limit.as_ref(),
    },
    ResourceKind {
        key: "memory_limit",
        quota_resource: "limits.memory",
        cores: false,
        pick: |r| r.memory_limit.as_ref(),
    },
];

/// A service's pods at minimum and at peak.
#[derive(Debug, Clone)]
pub struct ServicePods<'a> {
    pub service: &'a Service,
    pub min: u32,
    pub peak: PeakPods,
}

/// One service's part of a resource total.
#[derive(Debug, Clone)]
pub struct ResourceShare<'a> {
    pub service: &'a Service,
    /// What one pod asks for, where it is written.
    pub each: &'a Sp<Quantity>,
    pub peak: PeakPods,
    pub at_min: f64,
    pub at_peak: f64,
}

/// One resource summed over the services that set it.
#[derive(Debug, Clone)]
pub struct ResourceTotal<'a> {
    pub kind: ResourceKind,
    pub shares: Vec<ResourceShare<'a>>,
    pub at_min: f64,
    pub at_peak: f64,
    /// The namespace quota of it, when `[platform] quota` sets one.
    pub quota: Option<&'a Sp<Quantity>>,
}

impl ResourceTotal<'_> {
    /// Above the quota at peak. Quantities are decimal fractions: the comparison allows a
    /// tolerance far below a millicore or a byte.
    pub fn exceeds_quota(&self) -> bool {
        self.quota
            .is_some_and(|q| self.at_peak > q.get_ref().value * (1.0 + 1e-9))
    }

    /// Less than [`HEADROOM_FRACTION`] of the quota left at peak.
    pub fn low_headroom(&self) -> bool {
        self.quota.is_some_and(|q| {
            self.at_peak > q.get_ref().value * (1.0 - HEADROOM_FRACTION) * (1.0 + 1e-9)
        })
    }
}

/// One service's pool on a datastore.
#[derive(Debug, Clone)]
pub struct PoolUse<'a> {
    pub service: &'a Service,
    /// The pool profile's `max`: connections one pod opens at most.
    pub pool_max: u64,
    /// Where the service chooses the pool.
    pub span: Range<usize>,
    pub min_pods: u32,
    pub peak: PeakPods,
}

impl PoolUse<'_> {
    pub fn at_min(&self) -> u64 {
        self.pool_max * u64::from(self.min_pods)
    }
    pub fn at_peak(&self) -> u64 {
        self.pool_max * u64::from(self.peak.total())
    }
}

/// The connections a datastore can be asked for.
#[derive(Debug, Clone)]
pub struct DatastoreLoad<'a> {
    pub datastore: &'a Datastore,
    pub users: Vec<PoolUse<'a>>,
    /// `max_connections − reserved_connections`.
    pub usable: u64,
    pub at_min: u64,
    pub at_peak: u64,
}

impl DatastoreLoad<'_> {
    pub fn exceeds(&self) -> bool {
        self.at_peak > self.usable
    }

    /// Above 80 % of the usable connections at peak: `at_peak / usable > 4 / 5`, in integers.
    pub fn low_headroom(&self) -> bool {
        self.at_peak * 5 > self.usable * 4
    }

    /// The share of the usable connections taken at peak, in whole percent.
    pub fn peak_percent(&self) -> u64 {
        self.at_peak * 100 / self.usable.max(1)
    }
}

/// What a rate-limit tier admits: each pod enforces the tier of its ConfigMap on its own,
/// so a service admits the tier's rate once per pod serving traffic.
#[derive(Debug, Clone)]
pub struct RateTier<'a> {
    pub name: &'a str,
    /// Requests per second one pod admits (`requests / window`).
    pub per_pod: f64,
    pub burst: Option<u64>,
    /// Each service of the tier with the rate it admits at maximum replicas.
    pub services: Vec<(&'a Service, u32, f64)>,
    pub at_peak: f64,
}

/// Every figure of one environment.
#[derive(Debug, Clone)]
pub struct Capacity<'a> {
    pub services: Vec<ServicePods<'a>>,
    pub resources: Vec<ResourceTotal<'a>>,
    pub datastores: Vec<DatastoreLoad<'a>>,
    pub rate_limits: Vec<RateTier<'a>>,
}

pub fn capacity(p: &Platform) -> Capacity<'_> {
    Capacity {
        services: p
            .services
            .values()
            .map(|service| ServicePods {
                service,
                min: service.replicas.min(),
                peak: service.peak_pods(),
            })
            .collect(),
        resources: RESOURCE_KINDS
            .iter()
            .map(|kind| resource_total(p, *kind))
            .collect(),
        datastores: datastore_loads(p),
        rate_limits: rate_tiers(p),
    }
}

/// One resource over every service that sets it, in the services' order.
pub fn resource_total(p: &Platform, kind: ResourceKind) -> ResourceTotal<'_> {
    let mut shares = Vec::new();
    let (mut at_min, mut at_peak) = (0.0, 0.0);
    for service in p.services.values() {
        let Some(each) = kind.of(service.resources.get_ref()) else {
            continue;
        };
        let peak = service.peak_pods();
        let share = ResourceShare {
            service,
            each,
            peak,
            at_min: each.get_ref().value * f64::from(service.replicas.min()),
            at_peak: each.get_ref().value * f64::from(peak.total()),
        };
        at_min += share.at_min;
        at_peak += share.at_peak;
        shares.push(share);
    }
    ResourceTotal {
        kind,
        shares,
        at_min,
        at_peak,
        quota: p.quota.as_ref().and_then(|q| kind.of(q.get_ref())),
    }
}

/// Every datastore (in name order) with the pools its clients open on it.
pub fn datastore_loads(p: &Platform) -> Vec<DatastoreLoad<'_>> {
    let mut loads: Vec<DatastoreLoad<'_>> = p
        .datastores
        .values()
        .map(|datastore| DatastoreLoad {
            datastore,
            users: Vec::new(),
            usable: datastore
                .max_connections
                .get_ref()
                .saturating_sub(datastore.reserved_connections),
            at_min: 0,
            at_peak: 0,
        })
        .collect();
    for service in p.services.values() {
        for (ds, profile) in &service.datastores {
            let (Some(pool), Ok(at)) = (
                p.pools.get(profile.get_ref()),
                loads.binary_search_by(|l| l.datastore.name.get_ref().cmp(ds.get_ref())),
            ) else {
                continue;
            };
            let use_ = PoolUse {
                service,
                pool_max: u64::from(*pool.max.get_ref()),
                span: profile.span(),
                min_pods: service.replicas.min(),
                peak: service.peak_pods(),
            };
            loads[at].at_min += use_.at_min();
            loads[at].at_peak += use_.at_peak();
            loads[at].users.push(use_);
        }
    }
    loads
}

fn rate_tiers(p: &Platform) -> Vec<RateTier<'_>> {
    p.rate_limits
        .values()
        .map(|tier| {
            let per_pod = tier.requests as f64 * 1000.0 / tier.window.millis.max(1) as f64;
            let services: Vec<_> = p
                .services
                .values()
                .filter(|s| {
                    s.rate_limit
                        .as_ref()
                        .is_some_and(|r| r.get_ref() == &tier.name)
                })
                .map(|s| {
                    let pods = s.replicas.max();
                    (s, pods, per_pod * f64::from(pods))
                })
                .collect();
            RateTier {
                name: &tier.name,
                per_pod,
                burst: tier.burst,
                at_peak: services.iter().map(|(_, _, rps)| rps).sum(),
                services,
            }
        })
        .collect()
}
