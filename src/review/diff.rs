//! `berrys diff`: what a change to platform.toml means, environment by environment, from
//! the compiled, linted and rendered platform at both sides.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::capacity::{self, DatastoreRow, ResourceRow};
use super::{flows, rounded};
use crate::diagnostic::{Diagnostic, Severity};
use crate::graph::Compiled;
use crate::output::OutputFile;
use crate::render::prometheus::Rule;
use crate::render::{kubernetes, slo};
use crate::source::SourceFile;

pub use super::diff_text::text;

/// One side of the change: its source, its findings, and per environment compiled its
/// model and rendered files.
pub struct Side<'a> {
    pub source: &'a SourceFile,
    pub findings: &'a [Diagnostic],
    pub envs: Vec<EnvSide<'a>>,
}

pub struct EnvSide<'a> {
    pub compiled: &'a Compiled,
    pub files: &'a [OutputFile],
    /// The alerting rules of its rule files.
    pub alerts: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub base: String,
    pub head: String,
    pub environments: Vec<EnvDiff>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct EnvDiff {
    pub environment: String,
    /// `added`, `removed`, `changed` or `unchanged`.
    pub status: &'static str,
    pub services: AddedRemoved<String>,
    pub edges: AddedRemoved<Edge>,
    pub flows: Flows,
    pub scaling: Vec<ScalingChange>,
    pub capacity: Vec<Change<ResourceFigure>>,
    pub connections: Vec<Change<ConnectionFigure>>,
    pub objectives: Vec<ObjectiveChange>,
    pub alerts: AlertChanges,
    pub images: Vec<ImageChange>,
    pub findings: FindingChanges,
    pub files: Vec<FileChange>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AddedRemoved<T> {
    pub added: Vec<T>,
    pub removed: Vec<T>,
}

impl<T> Default for AddedRemoved<T> {
    fn default() -> Self {
        AddedRemoved {
            added: Vec::new(),
            removed: Vec::new(),
        }
    }
}

impl<T: Ord + Clone> AddedRemoved<T> {
    fn between(before: &BTreeSet<T>, after: &BTreeSet<T>) -> Self {
        AddedRemoved {
            added: after.difference(before).cloned().collect(),
            removed: before.difference(after).cloned().collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `hard` or `soft`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Flows {
    /// Flows the new NetworkPolicies allow that the old ones denied.
    pub allowed: Vec<String>,
    /// Flows the old NetworkPolicies allowed that the new ones deny.
    pub denied: Vec<String>,
}

/// A figure before and after; `None` where the side does not have it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change<T> {
    pub name: String,
    pub before: Option<T>,
    pub after: Option<T>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScalingChange {
    pub service: String,
    pub before: Option<Bounds>,
    pub after: Option<Bounds>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    pub pods_peak: u32,
    pub release: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResourceFigure {
    pub at_peak: f64,
    pub at_peak_text: String,
    pub quota_text: Option<String>,
    pub peak_percent: Option<f64>,
    pub low_headroom: bool,
    pub exceeds: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConnectionFigure {
    pub at_min: u64,
    pub at_peak: u64,
    pub usable: u64,
    pub peak_percent: u64,
    pub low_headroom: bool,
    pub exceeds: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ObjectiveChange {
    pub service: String,
    /// `availability` or `latency`.
    pub slo: &'static str,
    pub before: Option<Objective>,
    pub after: Option<Objective>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Objective {
    pub objective_percent: f64,
    pub window: String,
    /// The error budget over the window, in minutes: (1 − objective) × window.
    pub budget_minutes: f64,
    /// The latency threshold of a latency objective.
    pub threshold: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AlertChanges {
    pub added: Vec<Alert>,
    pub removed: Vec<Alert>,
    pub changed: Vec<AlertChange>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    pub alert: String,
    pub labels: BTreeMap<String, String>,
    /// What the person told reads: summary, description, runbook.
    pub annotations: BTreeMap<String, String>,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// The numbers the expression compares with, in order.
    pub thresholds: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertChange {
    pub before: Alert,
    pub after: Alert,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImageChange {
    pub service: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct FindingChanges {
    /// Findings at the head that the base did not have, at their place in the head file.
    pub introduced: Vec<Finding>,
    /// Findings of the base the head no longer has, at their place in the base file.
    pub fixed: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub code: String,
    pub name: String,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileChange {
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    pub added_lines: usize,
    pub removed_lines: usize,
}

/// The change from `base` to `head`, per environment: the head's environments in order, then
/// those only the base has.
pub fn diff<'b>(base: &'b Side<'_>, head: &'b Side<'_>) -> Report {
    let env_of = |s: &EnvSide<'_>| s.compiled.platform.env.clone();
    let mut names: Vec<String> = head.envs.iter().map(env_of).collect();
    names.extend(
        base.envs
            .iter()
            .map(env_of)
            .filter(|n| !head.envs.iter().any(|h| h.compiled.platform.env == *n)),
    );
    let environments = names
        .iter()
        .map(|name| {
            let pick =
                |side: &'b Side<'_>| side.envs.iter().find(|e| e.compiled.platform.env == *name);
            env_diff(name, (base, pick(base)), (head, pick(head)))
        })
        .collect();
    Report {
        base: base.source.name.clone(),
        head: head.source.name.clone(),
        environments,
    }
}

type SideEnv<'b, 'a> = (&'b Side<'a>, Option<&'b EnvSide<'a>>);

fn env_diff(
    name: &str,
    (base, before): SideEnv<'_, '_>,
    (head, after): SideEnv<'_, '_>,
) -> EnvDiff {
    let mut d = EnvDiff {
        environment: name.to_string(),
        ..EnvDiff::default()
    };
    let set = |e: Option<&EnvSide<'_>>, f: &dyn Fn(&Compiled) -> BTreeSet<String>| {
        e.map(|e| f(e.compiled)).unwrap_or_default()
    };
    let service_names = |c: &Compiled| c.platform.services.keys().cloned().collect();
    d.services = AddedRemoved::between(&set(before, &service_names), &set(after, &service_names));
    let edges = |e: Option<&EnvSide<'_>>| -> BTreeSet<Edge> {
        e.map(|e| {
            e.compiled
                .graph
                .edges()
                .into_iter()
                .map(|(from, to, kind)| Edge {
                    from: from.to_string(),
                    to: to.to_string(),
                    kind: match kind {
                        crate::graph::EdgeKind::Hard => "hard",
                        crate::graph::EdgeKind::Soft => "soft",
                    },
                })
                .collect()
        })
        .unwrap_or_default()
    };
    d.edges = AddedRemoved::between(&edges(before), &edges(after));
    let allowed = AddedRemoved::between(&set(before, &flows::flows), &set(after, &flows::flows));
    d.flows = Flows {
        allowed: allowed.added,
        denied: allowed.removed,
    };
    let caps = |e: Option<&EnvSide<'_>>| {
        e.map(|e| {
            capacity::environment(
                name,
                &crate::model::capacity::capacity(&e.compiled.platform),
            )
        })
    };
    let (cap_before, cap_after) = (caps(before), caps(after));
    d.scaling = changed_by_name(&bounds(cap_before.as_ref()), &bounds(cap_after.as_ref()))
        .into_iter()
        .map(|c| ScalingChange {
            service: c.name,
            before: c.before,
            after: c.after,
        })
        .collect();
    d.capacity = changed_by_name(
        &resources(cap_before.as_ref()),
        &resources(cap_after.as_ref()),
    );
    d.connections = changed_by_name(
        &connections(cap_before.as_ref()),
        &connections(cap_after.as_ref()),
    );
    d.objectives = changed_by_name(&objectives(before), &objectives(after))
        .into_iter()
        .map(|c| {
            let (service, slo) = c.name.rsplit_once('/').unwrap_or((&c.name, ""));
            ObjectiveChange {
                service: service.to_string(),
                slo: if slo == "latency" {
                    "latency"
                } else {
                    "availability"
                },
                before: c.before,
                after: c.after,
            }
        })
        .collect();
    d.alerts = alert_changes(before, after);
    d.images = changed_by_name(&images(before), &images(after))
        .into_iter()
        .filter_map(|c| {
            Some(ImageChange {
                service: c.name,
                before: c.before?,
                after: c.after?,
            })
        })
        .collect();
    d.findings = FindingChanges {
        introduced: findings_only_in(head, base, name),
        fixed: findings_only_in(base, head, name),
    };
    d.files = file_changes(
        before.map(|e| e.files).unwrap_or_default(),
        after.map(|e| e.files).unwrap_or_default(),
    );
    d.status = match (before, after) {
        (None, _) => "added",
        (_, None) => "removed",
        _ if d.is_empty() => "unchanged",
        _ => "changed",
    };
    d
}

impl EnvDiff {
    /// Nothing that the report lists changed.
    pub fn is_empty(&self) -> bool {
        self.services.added.is_empty()
            && self.services.removed.is_empty()
            && self.edges.added.is_empty()
            && self.edges.removed.is_empty()
            && self.flows.allowed.is_empty()
            && self.flows.denied.is_empty()
            && self.scaling.is_empty()
            && self.capacity.is_empty()
            && self.connections.is_empty()
            && self.objectives.is_empty()
            && self.alerts.added.is_empty()
            && self.alerts.removed.is_empty()
            && self.alerts.changed.is_empty()
            && self.images.is_empty()
            && self.findings.introduced.is_empty()
            && self.findings.fixed.is_empty()
            && self.files.is_empty()
    }
}

/// The entries of two name-keyed maps that differ, in name order.
fn changed_by_name<T: Clone + PartialEq>(
    before: &BTreeMap<String, T>,
    after: &BTreeMap<String, T>,
) -> Vec<Change<T>> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (b, a) = (before.get(name), after.get(name));
            (b != a).then(|| Change {
                name: name.clone(),
                before: b.cloned(),
                after: a.cloned(),
            })
        })
        .collect()
}

fn bounds(cap: Option<&capacity::Environment>) -> BTreeMap<String, Bounds> {
    cap.map(|c| {
        c.services
            .iter()
            .map(|s| {
                (
                    s.service.clone(),
                    Bounds {
                        min: s.replicas_min,
                        max: s.replicas_max,
                        pods_peak: s.pods_peak,
                        release: s.release,
                    },
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

fn resources(cap: Option<&capacity::Environment>) -> BTreeMap<String, ResourceFigure> {
    let figure = |r: &ResourceRow| ResourceFigure {
        at_peak: r.at_peak,
        at_peak_text: r.at_peak_text.clone(),
        quota_text: r.quota_text.clone(),
        peak_percent: r.peak_percent,
        low_headroom: r.low_headroom,
        exceeds: r.exceeds,
    };
    cap.map(|c| {
        c.resources
            .iter()
            .filter(|r| r.at_peak > 0.0 || r.quota.is_some())
            .map(|r| (r.resource.to_string(), figure(r)))
            .collect()
    })
    .unwrap_or_default()
}

fn connections(cap: Option<&capacity::Environment>) -> BTreeMap<String, ConnectionFigure> {
    let figure = |d: &DatastoreRow| ConnectionFigure {
        at_min: d.at_min,
        at_peak: d.at_peak,
        usable: d.usable,
        peak_percent: d.peak_percent,
        low_headroom: d.low_headroom,
        exceeds: d.exceeds,
    };
    cap.map(|c| {
        c.datastores
            .iter()
            .map(|d| (d.datastore.clone(), figure(d)))
            .collect()
    })
    .unwrap_or_default()
}

/// Every SLO as `service/slo` with its objective and budget, the figures the SLO rules use.
fn objectives(e: Option<&EnvSide<'_>>) -> BTreeMap<String, Objective> {
    let Some(e) = e else {
        return BTreeMap::new();
    };
    slo::slos(&e.compiled.platform)
        .into_iter()
        .map(|s| {
            let minutes = s.budget.to_f64() * s.period.millis as f64 / 60_000.0;
            (
                format!("{}/{}", s.service, s.slo),
                Objective {
                    objective_percent: rounded(s.objective_percent.to_f64()),
                    window: s.period.to_string(),
                    budget_minutes: rounded(minutes),
                    threshold: match s.sli {
                        slo::Sli::Latency { threshold } => Some(threshold.to_string()),
                        slo::Sli::Availability => None,
                    },
                },
            )
        })
        .collect()
}

fn images(e: Option<&EnvSide<'_>>) -> BTreeMap<String, String> {
    let Some(e) = e else {
        return BTreeMap::new();
    };
    let p = &e.compiled.platform;
    p.services
        .values()
        .map(|s| {
            (
                s.name.get_ref().clone(),
                kubernetes::image_reference(p.registry.as_deref(), s.image.get_ref()),
            )
        })
        .collect()
}

/// The numbers an expression compares with: what follows `>`, `<`, `>=`, `<=`, `==` or
/// `!=` (and `bool`), in order.
pub fn thresholds(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let op = match (bytes[i], bytes.get(i + 1)) {
            (b'>' | b'<' | b'=' | b'!', Some(b'=')) => 2,
            (b'>' | b'<', _) => 1,
            _ => 0,
        };
        if op == 0 {
            i += 1;
            continue;
        }
        let rest = expr[i + op..].trim_start();
        let rest = rest.strip_prefix("bool").map_or(rest, str::trim_start);
        let number: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-' | '+'))
            .collect();
        if !number.is_empty() && number.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            out.push(number);
        }
        i += op;
    }
    out
}

fn alert_of(rule: &Rule) -> Alert {
    Alert {
        alert: rule.alert.clone().unwrap_or_default(),
        labels: rule.labels.clone(),
        annotations: rule.annotations.clone(),
        expr: rule.expr.clone(),
        for_: rule.for_.clone(),
        thresholds: thresholds(&rule.expr),
    }
}

/// Alerts keyed by name and labels other than severity: a severity, expression, `for` or
/// annotation that differs is a change of the same alert.
fn alert_changes(before: Option<&EnvSide<'_>>, after: Option<&EnvSide<'_>>) -> AlertChanges {
    let keyed = |e: Option<&EnvSide<'_>>| -> BTreeMap<String, Alert> {
        let mut map = BTreeMap::new();
        for rule in e.map(|e| e.alerts.as_slice()).unwrap_or_default() {
            let alert = alert_of(rule);
            let labels: Vec<String> = alert
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "severity")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let key = format!("{}{{{}}}", alert.alert, labels.join(","));
            let mut unique = key.clone();
            let mut n = 1;
            while map.contains_key(&unique) {
                n += 1;
                unique = format!("{key}#{n}");
            }
            map.insert(unique, alert);
        }
        map
    };
    let mut out = AlertChanges::default();
    for c in changed_by_name(&keyed(before), &keyed(after)) {
        match (c.before, c.after) {
            (Some(before), Some(after)) => out.changed.push(AlertChange { before, after }),
            (Some(before), None) => out.removed.push(before),
            (None, Some(after)) => out.added.push(after),
            (None, None) => {}
        }
    }
    out
}

/// Findings of `side` in environment `env` that `other` does not have (by code, severity and
/// message).
fn findings_only_in(side: &Side<'_>, other: &Side<'_>, env: &str) -> Vec<Finding> {
    let of = |s: &Side<'_>| -> BTreeSet<(String, Severity, String)> {
        s.findings
            .iter()
            .filter(|d| d.envs.iter().any(|e| e == env))
            .map(|d| (d.code.clone(), d.severity, d.message.clone()))
            .collect()
    };
    let others = of(other);
    let mut seen = BTreeSet::new();
    side.findings
        .iter()
        .filter(|d| d.envs.iter().any(|e| e == env))
        .filter(|d| !others.contains(&(d.code.clone(), d.severity, d.message.clone())))
        .filter(|d| seen.insert((d.code.clone(), d.severity, d.message.clone())))
        .map(|d| {
            let (line, column) = side.source.line_col(d.primary.span.start);
            Finding {
                code: d.code.clone(),
                name: d.name.clone(),
                severity: d.severity,
                message: d.message.clone(),
                file: side.source.name.clone(),
                line,
                column,
            }
        })
        .collect()
}

/// The rendered files that differ, by path, with the lines each side has that the other
/// does not.
fn file_changes(before: &[OutputFile], after: &[OutputFile]) -> Vec<FileChange> {
    let index = |files: &[OutputFile]| -> BTreeMap<String, usize> {
        files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect()
    };
    let (b, a) = (index(before), index(after));
    let paths: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let lines = |text: &str| text.lines().count();
    paths
        .into_iter()
        .filter_map(|path| match (b.get(path), a.get(path)) {
            (Some(&i), Some(&j)) => {
                let (old, new) = (&before[i].contents, &after[j].contents);
                if old == new {
                    return None;
                }
                let (added, removed) = line_counts(old, new);
                Some(FileChange {
                    path: path.clone(),
                    status: "changed",
                    added_lines: added,
                    removed_lines: removed,
                })
            }
            (Some(&i), None) => Some(FileChange {
                path: path.clone(),
                status: "removed",
                added_lines: 0,
                removed_lines: lines(&before[i].contents),
            }),
            (None, Some(&j)) => Some(FileChange {
                path: path.clone(),
                status: "added",
                added_lines: lines(&after[j].contents),
                removed_lines: 0,
            }),
            (None, None) => None,
        })
        .collect()
}

/// Lines inserted and deleted between two texts, as a line diff counts them.
fn line_counts(old: &str, new: &str) -> (usize, usize) {
    use similar::{ChangeTag, TextDiff};
    // No deadline: the counts must not depend on the machine's speed.
    let diff = TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}
