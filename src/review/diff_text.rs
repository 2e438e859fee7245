//! The human and markdown forms of a [`diff::Report`](super::diff::Report).

use super::capacity::percent_cell;
use super::diff::{Alert, AlertChange, Change, EnvDiff, Objective, Report};
use super::table::{Block, Table, write};
use super::{Format, number};

pub fn text(report: &Report, format: Format) -> String {
    let mut blocks = vec![Block::Heading(
        1,
        format!("berrys diff: {} → {}", report.base, report.head),
    )];
    for env in &report.environments {
        blocks.push(Block::Heading(
            2,
            format!("Environment `{}`: {}", env.environment, env.status),
        ));
        if env.is_empty() {
            blocks.push(Block::Line("No change.".to_string()));
            continue;
        }
        blocks.extend(env_blocks(env));
    }
    write(&blocks, format) + "\n"
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn env_blocks(env: &EnvDiff) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut push = |t: Table| {
        if !t.rows.is_empty() {
            blocks.push(Block::Table(t));
        }
    };
    let mut t = Table::new("Services", &["change", "service"]);
    added_removed(&mut t, &env.services.added, &env.services.removed, |s| {
        code(s)
    });
    push(t);

    let mut t = Table::new("Dependency edges", &["change", "edge"]);
    added_removed(&mut t, &env.edges.added, &env.edges.removed, |e| {
        format!("{} → {} ({})", e.from, e.to, e.kind)
    });
    push(t);

    let mut t = Table::new("Network flows", &["change", "flow"]);
    for f in &env.flows.allowed {
        t.row(vec!["+ allowed".into(), code(f)]);
    }
    for f in &env.flows.denied {
        t.row(vec!["− denied".into(), code(f)]);
    }
    push(t);

    let mut t = Table::new("Scaling", &["service", "before", "after"]);
    for s in &env.scaling {
        let show = |b: &Option<super::diff::Bounds>| match b {
            Some(b) => format!(
                "{}–{}, {} pods at peak ({})",
                b.min, b.max, b.pods_peak, b.release
            ),
            None => "–".to_string(),
        };
        t.row(vec![code(&s.service), show(&s.before), show(&s.after)]);
    }
    push(t);

    let mut t = Table::new("Capacity at peak", &["resource", "before", "after"]);
    for c in &env.capacity {
        t.row(before_after(c, |r| {
            let quota = match (&r.quota_text, r.peak_percent) {
                (Some(q), Some(p)) => format!(
                    " of quota {q} ({})",
                    percent_cell(p, r.low_headroom, r.exceeds)
                ),
                _ => String::new(),
            };
            format!("{}{quota}", r.at_peak_text)
        }));
    }
    push(t);

    let mut t = Table::new(
        "Connections per datastore",
        &["datastore", "before", "after"],
    );
    for c in &env.connections {
        t.row(before_after(c, |d| {
            format!(
                "{} at peak of {} ({}), {} at minimum",
                d.at_peak,
                d.usable,
                percent_cell(d.peak_percent as f64, d.low_headroom, d.exceeds),
                d.at_min
            )
        }));
    }
    push(t);

    let mut t = Table::new("SLO objectives", &["service", "slo", "before", "after"]);
    for o in &env.objectives {
        let show = |o: &Option<Objective>| match o {
            Some(o) => format!(
                "{} % over {}{}: {} min of error budget",
                number(o.objective_percent),
                o.window,
                o.threshold
                    .as_ref()
                    .map(|t| format!(" under {t}"))
                    .unwrap_or_default(),
                number(o.budget_minutes)
            ),
            None => "–".to_string(),
        };
        t.row(vec![
            code(&o.service),
            o.slo.to_string(),
            show(&o.before),
            show(&o.after),
        ]);
    }
    push(t);

    let mut t = Table::new("Alerts", &["change", "alert", "before", "after"]);
    for a in &env.alerts.added {
        t.row(vec![
            "+ added".into(),
            alert_name(a),
            "–".into(),
            alert_rule(a),
        ]);
    }
    for a in &env.alerts.removed {
        t.row(vec![
            "− removed".into(),
            alert_name(a),
            alert_rule(a),
            "–".into(),
        ]);
    }
    for c in &env.alerts.changed {
        let (before, mut after) = (alert_rule(&c.before), alert_rule(&c.after));
        if before == after {
            after.push_str(&format!(" ({} changed)", unseen_changes(c).join(", ")));
        }
        t.row(vec![
            "~ changed".into(),
            alert_name(&c.after),
            before,
            after,
        ]);
    }
    push(t);

    let mut t = Table::new("Images", &["service", "before", "after"]);
    for i in &env.images {
        t.row(vec![code(&i.service), code(&i.before), code(&i.after)]);
    }
    push(t);

    let mut t = Table::new("Lint findings", &["change", "finding", "where"]);
    for (mark, list) in [
        ("+ introduced", &env.findings.introduced),
        ("− fixed", &env.findings.fixed),
    ] {
        for f in list {
            t.row(vec![
                mark.into(),
                format!("{} [{}] {}: {}", f.code, f.severity, f.name, f.message),
                format!("{}:{}:{}", f.file, f.line, f.column),
            ]);
        }
    }
    push(t);

    let mut t = Table::new("Rendered files", &["change", "file", "lines"]);
    for f in &env.files {
        t.row(vec![
            f.status.to_string(),
            code(&f.path),
            format!("+{} −{}", f.added_lines, f.removed_lines),
        ]);
    }
    push(t);
    blocks
}

fn added_removed<T>(t: &mut Table, added: &[T], removed: &[T], show: impl Fn(&T) -> String) {
    for a in added {
        t.row(vec!["+ added".into(), show(a)]);
    }
    for r in removed {
        t.row(vec!["− removed".into(), show(r)]);
    }
}

fn before_after<T>(c: &Change<T>, show: impl Fn(&T) -> String) -> Vec<String> {
    let side = |v: &Option<T>| v.as_ref().map(&show).unwrap_or_else(|| "–".to_string());
    vec![code(&c.name), side(&c.before), side(&c.after)]
}

/// `ErrorBudgetBurn{service=api, slo=availability}`.
fn alert_name(a: &Alert) -> String {
    let labels: Vec<String> = a
        .labels
        .iter()
        // What tells the alerts of one name apart; the rest is the same for all of them.
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "severity"
                    | "scope"
                    | "namespace"
                    | "team"
                    | "sloth_id"
                    | "sloth_service"
                    | "sloth_severity"
            )
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{}{{{}}}", a.alert, labels.join(", "))
}

/// What changed in an alert besides its severity, thresholds and `for`: the expression, and
/// each annotation by name.
fn unseen_changes(c: &AlertChange) -> Vec<String> {
    let (a, b) = (&c.before.annotations, &c.after.annotations);
    let mut changed = Vec::new();
    if c.before.expr != c.after.expr {
        changed.push("expression".to_string());
    }
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    changed.extend(
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| code(k)),
    );
    changed
}

/// `page: > 14.4 × …, for 2m`: what decides when it fires.
fn alert_rule(a: &Alert) -> String {
    let severity = a.labels.get("severity").map(String::as_str).unwrap_or("–");
    let mut shown: Vec<&str> = a.thresholds.iter().map(String::as_str).collect();
    shown.dedup();
    let thresholds = if shown.is_empty() {
        String::new()
    } else {
        format!(" thresholds {}", shown.join(", "))
    };
    let for_ = a
        .for_
        .as_ref()
        .map(|f| format!(" for {f}"))
        .unwrap_or_default();
    format!("{severity}{thresholds}{for_}")
}
