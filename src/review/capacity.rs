//! `berrys capacity`: what each environment asks of its cluster and datastores, at minimum
//! and at peak, against the quota and `max_connections`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::table::{Block, Table};
use super::{Format, number, rounded};
use crate::graph::Compiled;
use crate::model::capacity::{self, Capacity, DatastoreLoad, RateTier, ResourceTotal};
use crate::model::{Service, Strategy, Traffic};

/// The report of every environment compiled.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub file: String,
    pub environments: Vec<Environment>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Environment {
    pub environment: String,
    pub services: Vec<ServiceRow>,
    pub resources: Vec<ResourceRow>,
    pub datastores: Vec<DatastoreRow>,
    pub rate_limits: Vec<RateRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceRow {
    pub service: String,
    /// `rolling`, `canary`, `canary-nginx` or `blue-green`.
    pub release: &'static str,
    pub replicas_min: u32,
    pub replicas_max: u32,
    /// Pods at once during a release at maximum replicas.
    pub pods_peak: u32,
    /// `(8 + 2)`, `(8 + 8 blue-green)`: how the peak is made, as BR003 and BR011 write it.
    pub peak: String,
    /// Per resource it sets (`cpu`, `memory`, `cpu_limit`, `memory_limit`).
    pub resources: BTreeMap<&'static str, ServiceResource>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceResource {
    pub each: String,
    pub at_min: String,
    pub at_peak: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResourceRow {
    pub resource: &'static str,
    /// In cores (`cpu`, `cpu_limit`) or bytes (`memory`, `memory_limit`).
    pub at_min: f64,
    pub at_peak: f64,
    pub at_min_text: String,
    pub at_peak_text: String,
    pub quota: Option<f64>,
    pub quota_text: Option<String>,
    /// The share of the quota taken at peak, in percent.
    pub peak_percent: Option<f64>,
    pub low_headroom: bool,
    pub exceeds: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DatastoreRow {
    pub datastore: String,
    pub max_connections: u64,
    pub reserved_connections: u64,
    /// `max_connections − reserved_connections`.
    pub usable: u64,
    pub at_min: u64,
    pub at_peak: u64,
    pub peak_percent: u64,
    pub low_headroom: bool,
    pub exceeds: bool,
    pub pools: Vec<PoolRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PoolRow {
    pub service: String,
    pub pool_max: u64,
    pub pods_min: u32,
    pub pods_peak: u32,
    pub at_min: u64,
    pub at_peak: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RateRow {
    pub tier: String,
    /// Requests per second one pod admits.
    pub per_pod_rps: f64,
    pub burst: Option<u64>,
    /// Requests per second the tier's services admit together at maximum replicas.
    pub at_peak_rps: f64,
    pub services: Vec<RateService>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RateService {
    pub service: String,
    pub pods: u32,
    pub rps: f64,
}

pub fn report(file: &str, compiled: &[Compiled]) -> Report {
    Report {
        file: file.to_string(),
        environments: compiled
            .iter()
            .map(|c| environment(&c.platform.env, &capacity::capacity(&c.platform)))
            .collect(),
    }
}

/// How a service's new versions are released.
pub fn release(service: &Service) -> &'static str {
    match service.delivery.as_ref().map(|d| &d.strategy) {
        None => "rolling",
        Some(Strategy::BlueGreen(_)) => "blue-green",
        Some(Strategy::Canary(c)) if c.traffic == Traffic::Replicas => "canary",
        Some(Strategy::Canary(_)) => "canary-nginx",
    }
}

pub fn environment(name: &str, cap: &Capacity<'_>) -> Environment {
    let services = cap
        .services
        .iter()
        .map(|s| {
            let name = s.service.name.get_ref();
            let resources = cap
                .resources
                .iter()
                .filter_map(|total| {
                    let share = total
                        .shares
                        .iter()
                        .find(|sh| sh.service.name == s.service.name)?;
                    Some((
                        total.kind.key,
                        ServiceResource {
                            each: share.each.get_ref().text.clone(),
                            at_min: total.kind.show(share.at_min),
                            at_peak: total.kind.show(share.at_peak),
                        },
                    ))
                })
                .collect();
            ServiceRow {
                service: name.clone(),
                release: release(s.service),
                replicas_min: s.min,
                replicas_max: s.peak.max,
                pods_peak: s.peak.total(),
                peak: s.peak.formula(),
                resources,
            }
        })
        .collect();
    Environment {
        environment: name.to_string(),
        services,
        resources: cap.resources.iter().map(resource_row).collect(),
        datastores: cap.datastores.iter().map(datastore_row).collect(),
        rate_limits: cap.rate_limits.iter().map(rate_row).collect(),
    }
}

fn resource_row(t: &ResourceTotal<'_>) -> ResourceRow {
    let quota = t.quota.map(|q| q.get_ref().value);
    ResourceRow {
        resource: t.kind.key,
        at_min: rounded(t.at_min),
        at_peak: rounded(t.at_peak),
        at_min_text: t.kind.show(t.at_min),
        at_peak_text: t.kind.show(t.at_peak),
        quota,
        quota_text: t.quota.map(|q| q.get_ref().text.clone()),
        peak_percent: quota.map(|q| rounded(t.at_peak * 100.0 / q.max(f64::MIN_POSITIVE))),
        low_headroom: t.low_headroom(),
        exceeds: t.exceeds_quota(),
    }
}

fn datastore_row(l: &DatastoreLoad<'_>) -> DatastoreRow {
    DatastoreRow {
        datastore: l.datastore.name.get_ref().clone(),
        max_connections: *l.datastore.max_connections.get_ref(),
        reserved_connections: l.datastore.reserved_connections,
        usable: l.usable,
        at_min: l.at_min,
        at_peak: l.at_peak,
        peak_percent: l.peak_percent(),
        low_headroom: l.low_headroom(),
        exceeds: l.exceeds(),
        pools: l
            .users
            .iter()
            .map(|u| PoolRow {
                service: u.service.name.get_ref().clone(),
                pool_max: u.pool_max,
                pods_min: u.min_pods,
                pods_peak: u.peak.total(),
                at_min: u.at_min(),
                at_peak: u.at_peak(),
            })
            .collect(),
    }
}

fn rate_row(r: &RateTier<'_>) -> RateRow {
    RateRow {
        tier: r.name.to_string(),
        per_pod_rps: rounded(r.per_pod),
        burst: r.burst,
        at_peak_rps: rounded(r.at_peak),
        services: r
            .services
            .iter()
            .map(|(s, pods, rps)| RateService {
                service: s.name.get_ref().clone(),
                pods: *pods,
                rps: rounded(*rps),
            })
            .collect(),
    }
}

/// The mark of a figure with less than 20 % headroom.
pub const LOW: &str = "⚠";

/// `78 %`, `97 % ⚠`, `112 % ⚠ over`.
pub fn percent_cell(percent: f64, low: bool, exceeds: bool) -> String {
    let mark = match (low, exceeds) {
        (_, true) => format!(" {LOW} over"),
        (true, false) => format!(" {LOW}"),
        _ => String::new(),
    };
    format!("{} %{mark}", number(percent.floor()))
}

/// The report in the human or markdown form; `json` is the value itself.
pub fn text(report: &Report, format: Format) -> String {
    let mut blocks = vec![Block::Heading(1, format!("Capacity of {}", report.file))];
    for env in &report.environments {
        blocks.push(Block::Heading(
            2,
            format!("Environment `{}`", env.environment),
        ));
        blocks.extend(environment_blocks(env));
    }
    super::table::write(&blocks, format) + "\n"
}

const RESOURCE_COLUMNS: [&str; 4] = ["cpu", "memory", "cpu_limit", "memory_limit"];

pub(super) fn environment_blocks(env: &Environment) -> Vec<Block> {
    let mut blocks = Vec::new();
    let used: Vec<&str> = RESOURCE_COLUMNS
        .into_iter()
        .filter(|k| env.services.iter().any(|s| s.resources.contains_key(k)))
        .collect();
    let mut header = vec!["service", "release", "replicas", "peak pods"];
    header.extend(used.iter().map(|k| match *k {
        "cpu" => "cpu min → peak",
        "memory" => "memory min → peak",
        "cpu_limit" => "cpu limit min → peak",
        _ => "memory limit min → peak",
    }));
    let mut services = Table::new("Services", &header);
    for s in &env.services {
        let mut row = vec![
            s.service.clone(),
            s.release.to_string(),
            format!("{}–{}", s.replicas_min, s.replicas_max),
            format!("{} {}", s.pods_peak, s.peak),
        ];
        for k in &used {
            row.push(match s.resources.get(k) {
                Some(r) => format!("{} → {}", r.at_min, r.at_peak),
                None => "–".to_string(),
            });
        }
        services.row(row);
    }
    blocks.push(Block::Table(services));

    let mut resources = Table::new(
        "Totals against the quota",
        &["resource", "at minimum", "at peak", "quota", "use at peak"],
    );
    for r in env
        .resources
        .iter()
        .filter(|r| r.at_peak > 0.0 || r.quota.is_some())
    {
        resources.row(vec![
            r.resource.to_string(),
            r.at_min_text.clone(),
            r.at_peak_text.clone(),
            r.quota_text.clone().unwrap_or_else(|| "none".to_string()),
            r.peak_percent
                .map(|p| percent_cell(p, r.low_headroom, r.exceeds))
                .unwrap_or_else(|| "–".to_string()),
        ]);
    }
    if !resources.rows.is_empty() {
        if env.resources.iter().any(|r| r.low_headroom) {
            resources
                .notes
                .push(format!("{LOW}: less than 20 % headroom at peak"));
        }
        blocks.push(Block::Table(resources));
    }

    if !env.datastores.is_empty() {
        let mut ds = Table::new(
            "Connections per datastore",
            &[
                "datastore",
                "at minimum",
                "at peak",
                "usable",
                "use at peak",
                "pools at peak",
            ],
        );
        for d in &env.datastores {
            let pools: Vec<String> = d
                .pools
                .iter()
                .map(|p| format!("{} {}×{}", p.service, p.pool_max, p.pods_peak))
                .collect();
            ds.row(vec![
                d.datastore.clone(),
                d.at_min.to_string(),
                d.at_peak.to_string(),
                format!(
                    "{} ({} − {})",
                    d.usable, d.max_connections, d.reserved_connections
                ),
                percent_cell(d.peak_percent as f64, d.low_headroom, d.exceeds),
                pools.join(", "),
            ]);
        }
        if env.datastores.iter().any(|d| d.low_headroom) {
            ds.notes
                .push(format!("{LOW}: less than 20 % headroom at peak"));
        }
        blocks.push(Block::Table(ds));
    }

    if !env.rate_limits.is_empty() {
        let mut rl = Table::new(
            "Requests per second each rate-limit tier admits at maximum replicas",
            &["tier", "per pod", "burst", "services", "at peak"],
        );
        for r in &env.rate_limits {
            let services: Vec<String> = r
                .services
                .iter()
                .map(|s| format!("{} ×{}", s.service, s.pods))
                .collect();
            rl.row(vec![
                r.tier.clone(),
                format!("{}/s", number(r.per_pod_rps)),
                r.burst
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "–".to_string()),
                if services.is_empty() {
                    "none".to_string()
                } else {
                    services.join(", ")
                },
                format!("{}/s", number(r.at_peak_rps)),
            ]);
        }
        blocks.push(Block::Table(rl));
    }
    blocks
}
