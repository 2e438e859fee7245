//! Prometheus rules: SLO recording rules and multi-window multi-burn-rate alerts (the Google
//! SRE Workbook scheme, with Sloth's rule names and labels), operational alerts per service,
//! generated `promtool test rules` cases, and the prometheus-adapter rules for custom HPA
//! metrics.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Div, Mul, Sub};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::promql::{
    Expr, Matcher, Ratio, aggregate, binary, binary_on, call, number, paren, range, selector, sum,
};
use crate::Compiled;
use crate::emit::{Document, EmitError, OutputFile};
use crate::model::{Observability, Platform, Replicas, Service};
use crate::units::Duration;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The windows every SLI is recorded over, besides the SLO period.
pub const SLI_WINDOWS: [u64; 7] = [
    5 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    6 * HOUR,
    DAY,
    3 * DAY,
];

/// One burn-rate condition: the error ratio over both windows exceeds `factor × budget`,
/// where the factor spends `budget_share` of the SLO period's budget within `long`.
#[derive(Debug, Clone, Copy)]
pub struct BurnCondition {
    pub long: Duration,
    pub short: Duration,
    /// Share of the period's error budget, in percent.
    pub budget_percent: i128,
}

pub const PAGE: [BurnCondition; 2] = [
    BurnCondition {
        long: Duration { millis: HOUR },
        short: Duration { millis: 5 * MINUTE },
        budget_percent: 2,
    },
    BurnCondition {
        long: Duration { millis: 6 * HOUR },
        short: Duration {
            millis: 30 * MINUTE,
        },
        budget_percent: 5,
    },
];

pub const TICKET: [BurnCondition; 2] = [
    BurnCondition {
        long: Duration { millis: DAY },
        short: Duration { millis: 2 * HOUR },
        budget_percent: 10,
    },
    BurnCondition {
        long: Duration { millis: 3 * DAY },
        short: Duration { millis: 6 * HOUR },
        budget_percent: 10,
    },
];

/// factor = budget share × SLO period / long window (30d: 14.4, 6, 3, 1; 28d: 13.44, 5.6,
/// 2.8, 0.9333…).
pub fn burn_factor(period: Duration, condition: &BurnCondition) -> Ratio {
    Ratio::new(condition.budget_percent, 100).mul(Ratio::new(
        i128::from(period.millis),
        i128::from(condition.long.millis),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sli {
    Availability,
    Latency { threshold: Duration },
}

/// One SLO of one service, with its numbers as exact rationals.
#[derive(Debug, Clone)]
pub struct Slo {
    /// `<service>-<slo>`, the `sloth_id`.
    pub id: String,
    pub service: String,
    /// `availability` or `latency`.
    pub slo: &'static str,
    /// The objective in percent (99.9).
    pub objective_percent: Ratio,
    /// The error budget as a fraction (0.001).
    pub budget: Ratio,
    pub period: Duration,
    pub sli: Sli,
}

/// Every SLO of the platform, by service then kind.
pub fn slos(platform: &Platform) -> Vec<Slo> {
    let mut out = Vec::new();
    for svc in platform.services.values() {
        let Some(slo) = &svc.slo else { continue };
        let name = svc.name.get_ref();
        let period = *slo.window.get_ref();
        if let Some(a) = &slo.availability {
            let objective = Ratio::from_f64(*a.get_ref());
            out.push(Slo {
                id: format!("{name}-availability"),
                service: name.clone(),
                slo: "availability",
                objective_percent: objective,
                budget: Ratio::int(100).sub(objective).div(Ratio::int(100)),
                period,
                sli: Sli::Availability,
            });
        }
        if let Some(l) = &slo.latency {
            let objective = Ratio::from_f64(l.percentile);
            out.push(Slo {
                id: format!("{name}-latency"),
                service: name.clone(),
                slo: "latency",
                objective_percent: objective,
                budget: Ratio::int(100).sub(objective).div(Ratio::int(100)),
                period,
                sli: Sli::Latency {
                    threshold: *l.threshold.get_ref(),
                },
            });
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn record(name: &str, expr: Expr, labels: BTreeMap<String, String>) -> Rule {
    Rule {
        record: Some(name.to_string()),
        alert: None,
        expr: expr.text(),
        for_: None,
        labels,
        annotations: BTreeMap::new(),
    }
}

fn slo_labels(slo: &Slo) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("sloth_id".to_string(), slo.id.clone()),
        ("sloth_service".to_string(), slo.service.clone()),
        ("sloth_slo".to_string(), slo.slo.to_string()),
    ])
}

fn slo_matchers(slo: &Slo) -> Vec<Matcher> {
    slo_labels(slo)
        .iter()
        .map(|(k, v)| Matcher::eq(k, v))
        .collect()
}

/// The `le` bucket bound of a latency threshold. Clients print whole seconds as `1` and
/// Prometheus 3 normalises them to `1.0`; both spellings are matched.
fn le_matcher(threshold: Duration) -> Matcher {
    let secs = threshold.seconds_string();
    if secs.contains('.') {
        Matcher::eq("le", &secs)
    } else {
        Matcher::re("le", &format!("{secs}|{secs}\\.0"))
    }
}

fn rate_sum(metric: &str, matchers: Vec<Matcher>, window: Duration) -> Expr {
    sum(call("rate", range(metric, matchers, window)))
}

/// The error ratio of an SLI over a window: a ratio of counts, so spiky traffic is weighed
/// by its volume (over the SLO period too, not an average of short ratios).
pub fn sli_error(o: &Observability, slo: &Slo, window: Duration) -> Expr {
    let svc = Matcher::eq(&o.service_label, &slo.service);
    match slo.sli {
        Sli::Availability => binary(
            rate_sum(
                &o.requests_metric,
                vec![svc.clone(), Matcher::re(&o.code_label, "5..")],
                window,
            ),
            "/",
            rate_sum(&o.requests_metric, vec![svc], window),
        ),
        Sli::Latency { threshold } => {
            let count = format!("{}_count", o.latency_metric);
            let bucket = format!("{}_bucket", o.latency_metric);
            binary(
                paren(binary(
                    rate_sum(&count, vec![svc.clone()], window),
                    "-",
                    rate_sum(&bucket, vec![svc.clone(), le_matcher(threshold)], window),
                )),
                "/",
                rate_sum(&count, vec![svc], window),
            )
        }
    }
}

fn sli_windows(slo: &Slo) -> Vec<Duration> {
    let mut windows: Vec<Duration> = SLI_WINDOWS
        .iter()
        .map(|&millis| Duration { millis })
        .chain(std::iter::once(slo.period))
        .collect();
    windows.sort();
    windows.dedup();
    windows
}

fn sli_record_name(window: Duration) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

fn recorded(window: Duration, slo: &Slo) -> Expr {
    selector(&sli_record_name(window), slo_matchers(slo))
}

/// `max without (sloth_window) (ratio > threshold)` over both windows of a condition.
fn burn_condition(slo: &Slo, condition: &BurnCondition) -> Expr {
    let threshold = burn_factor(slo.period, condition).mul(slo.budget);
    let over = |w: Duration| {
        aggregate(
            "max",
            true,
            &["sloth_window"],
            binary(recorded(w, slo), ">", number(threshold)),
        )
    };
    paren(binary(over(condition.short), "and", over(condition.long)))
}

fn burn_alert_expr(slo: &Slo, conditions: &[BurnCondition; 2]) -> Expr {
    binary(
        burn_condition(slo, &conditions[0]),
        "or",
        burn_condition(slo, &conditions[1]),
    )
}

/// Renders alert annotations from `templates/alerts.txt`.
pub struct Annotations {
    env: minijinja::Environment<'static>,
    /// Templates that are only text and `{{ name }}` substitutions, split once, so each of
    /// the thousands of alerts of a large platform is a concatenation, not a template run.
    /// Anything else in a template (a filter, a block, whitespace control) leaves it to
    /// minijinja.
    plain: HashMap<String, Vec<Piece>, foldhash::fast::FixedState>,
    runbook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(String),
}

/// The pieces of a template made only of text and `{{ name }}`, or `None`.
fn plain_pieces(source: &str) -> Option<Vec<Piece>> {
    if source.contains("{%") || source.contains("{#") {
        return None;
    }
    let mut pieces = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let (text, after) = rest.split_at(open);
        let close = after.find("}}")?;
        let name = after[2..close].trim();
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name || after[2..close].starts_with('-') || after[2..close].ends_with('-') {
            return None;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        pieces.push(Piece::Var(name.to_string()));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return None;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Some(pieces)
}

const ALERT_TEMPLATES: &str = include_str!("../../templates/alerts.txt");

impl Annotations {
    pub fn new(runbook_url: Option<String>) -> Result<Annotations, EmitError> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut plain = HashMap::default();
        let mut name: Option<&str> = None;
        let mut body = String::new();
        let mut add = |name: Option<&str>, body: &str| -> Result<(), EmitError> {
            if let Some(n) = name {
                let source = body.trim_end();
                env.add_template_owned(n.to_string(), source.to_string())
                    .map_err(template_error)?;
                if let Some(pieces) = plain_pieces(source) {
                    plain.insert(n.to_string(), pieces);
                }
            }
            Ok(())
        };
        for line in ALERT_TEMPLATES.lines() {
            if let Some(header) = line.strip_prefix("## ") {
                add(name, &body)?;
                body.clear();
                // Lines with spaces after `## ` are comments of the file.
                name = (!header.contains(' ')).then_some(header);
            } else {
                body.push_str(line);
                body.push('\n');
            }
        }
        add(name, &body)?;
        Ok(Annotations {
            env,
            plain,
            runbook_url,
        })
    }

    /// Whether every annotation of `alert` is text and `{{ name }}` substitutions, which put
    /// a value in as it is (what [`SloPattern`] relies on).
    fn is_plain(&self, alert: &str) -> bool {
        ["summary", "description"]
            .iter()
            .all(|key| self.plain.contains_key(&format!("{alert}.{key}")))
    }

    fn render(
        &self,
        alert: &str,
        service: &str,
        ctx: &BTreeMap<&str, String>,
    ) -> Result<BTreeMap<String, String>, EmitError> {
        let mut out = BTreeMap::new();
        let mut name = String::with_capacity(alert.len() + 12);
        for key in ["summary", "description"] {
            name.clear();
            name.push_str(alert);
            name.push('.');
            name.push_str(key);
            let text = match self.plain.get(&name) {
                Some(pieces) => fill(pieces, ctx).ok_or_else(|| EmitError::Serialise {
                    kind: "alert annotation".to_string(),
                    message: format!("{name}: a variable of the template is not defined"),
                })?,
                None => self
                    .env
                    .get_template(&name)
                    .and_then(|t| t.render(ctx))
                    .map_err(template_error)?,
            };
            out.insert(key.to_string(), text);
        }
        if let Some(url) = &self.runbook_url {
            out.insert(
                "runbook_url".to_string(),
                url.replace("{service}", service).replace("{alert}", alert),
            );
        }
        Ok(out)
    }
}

/// A plain template with its variables from `ctx`; `None` when one is missing (what strict
/// undefined makes an error).
fn fill(pieces: &[Piece], ctx: &BTreeMap<&str, String>) -> Option<String> {
    let mut out = String::with_capacity(128);
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => out.push_str(ctx.get(v.as_str())?),
        }
    }
    Some(out)
}

fn template_error(e: minijinja::Error) -> EmitError {
    EmitError::Serialise {
        kind: "alert annotation".to_string(),
        message: e.to_string(),
    }
}

fn alert(
    name: &str,
    expr: Expr,
    for_: Option<&str>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Rule {
    Rule {
        record: None,
        alert: Some(name.to_string()),
        expr: expr.text(),
        for_: for_.map(str::to_string),
        labels,
        annotations,
    }
}

/// The annotation values of an SLO's alerts.
fn slo_context(slo: &Slo) -> BTreeMap<&'static str, String> {
    let share = |c: &BurnCondition| c.budget_percent.to_string();
    BTreeMap::from([
        ("service", slo.service.clone()),
        ("slo", slo.slo.to_string()),
        ("objective", slo.objective_percent.to_string()),
        ("window", slo.period.to_string()),
        ("page_fraction_1h", share(&PAGE[0])),
        ("page_fraction_6h", share(&PAGE[1])),
        (
            "page_factor_1h",
            burn_factor(slo.period, &PAGE[0]).to_string(),
        ),
        (
            "page_factor_6h",
            burn_factor(slo.period, &PAGE[1]).to_string(),
        ),
        (
            "ticket_factor_1d",
            burn_factor(slo.period, &TICKET[0]).to_string(),
        ),
        (
            "ticket_factor_3d",
            burn_factor(slo.period, &TICKET[1]).to_string(),
        ),
    ])
}

pub const PAGE_ALERT: &str = "ErrorBudgetBurnFast";
pub const TICKET_ALERT: &str = "ErrorBudgetBurnSlow";

/// The three groups of one SLO: SLI recordings, SLO metadata, burn-rate alerts.
pub fn slo_groups(
    o: &Observability,
    slo: &Slo,
    annotations: &Annotations,
) -> Result<Vec<RuleGroup>, EmitError> {
    let labels = slo_labels(slo);
    let sli = sli_windows(slo)
        .into_iter()
        .map(|w| {
            let mut l = labels.clone();
            l.insert("sloth_window".to_string(), w.to_string());
            record(&sli_record_name(w), sli_error(o, slo, w), l)
        })
        .collect();

    let on = "on (sloth_id, sloth_service, sloth_slo) group_left";
    let budget = selector("slo:error_budget:ratio", slo_matchers(slo));
    let mut info = labels.clone();
    info.insert(
        "sloth_objective".to_string(),
        slo.objective_percent.to_string(),
    );
    let meta = vec![
        record(
            "slo:objective:ratio",
            call("vector", number(Ratio::int(1).sub(slo.budget))),
            labels.clone(),
        ),
        record(
            "slo:error_budget:ratio",
            call("vector", number(slo.budget)),
            labels.clone(),
        ),
        record(
            "slo:time_period:days",
            call(
                "vector",
                number(Ratio::new(i128::from(slo.period.millis), i128::from(DAY))),
            ),
            labels.clone(),
        ),
        record(
            "slo:current_burn_rate:ratio",
            binary_on(
                recorded(Duration { millis: 5 * MINUTE }, slo),
                "/",
                on,
                budget.clone(),
            ),
            labels.clone(),
        ),
        record(
            "slo:period_burn_rate:ratio",
            binary_on(recorded(slo.period, slo), "/", on, budget),
            labels.clone(),
        ),
        record(
            "slo:period_error_budget_remaining:ratio",
            binary(
                number(Ratio::int(1)),
                "-",
                selector("slo:period_burn_rate:ratio", slo_matchers(slo)),
            ),
            labels.clone(),
        ),
        record(
            "sloth_slo_info",
            call("vector", number(Ratio::int(1))),
            info,
        ),
    ];

    let ctx = slo_context(slo);
    let mut alerts = Vec::new();
    for (name, severity, conditions) in [
        (PAGE_ALERT, "page", &PAGE),
        (TICKET_ALERT, "ticket", &TICKET),
    ] {
        // The SLO's own labels are static too (equal to those the expression yields), so
        // the availability and latency alerts of one service are distinct rules.
        let mut alert_labels = labels.clone();
        alert_labels.insert("severity".to_string(), severity.to_string());
        alert_labels.insert("sloth_severity".to_string(), severity.to_string());
        alert_labels.insert("service".to_string(), slo.service.clone());
        alerts.push(alert(
            name,
            burn_alert_expr(slo, conditions),
            None,
            alert_labels,
            annotations.render(name, &slo.service, &ctx)?,
        ));
    }
    Ok(vec![
        RuleGroup {
            name: format!("berrys-slo-{}-sli", slo.id),
            rules: sli,
        },
        RuleGroup {
            name: format!("berrys-slo-{}-meta", slo.id),
            rules: meta,
        },
        RuleGroup {
            name: format!("berrys-slo-{}-alerts", slo.id),
            rules: alerts,
        },
    ])
}

/// Operational alerts of one service.
pub fn operational_group(
    platform: &Platform,
    service: &Service,
    annotations: &Annotations,
) -> Result<RuleGroup, EmitError> {
    let o = &platform.observability;
    let svc = service.name.get_ref().as_str();
    let ns = platform.namespace.as_str();
    let critical = *service.critical.get_ref();
    let urgent = if critical { "page" } else { "ticket" };
    let labels = |severity: &str| {
        BTreeMap::from([
            ("severity".to_string(), severity.to_string()),
            ("service".to_string(), svc.to_string()),
        ])
    };
    let base_ctx = BTreeMap::from([("service", svc.to_string()), ("namespace", ns.to_string())]);
    let five = Duration { millis: 5 * MINUTE };
    let mut rules = Vec::new();

    rules.push(alert(
        "TargetDown",
        binary(
            selector(
                "up",
                vec![Matcher::eq("namespace", ns), Matcher::eq("job", svc)],
            ),
            "==",
            number(Ratio::int(0)),
        ),
        Some("5m"),
        labels(urgent),
        annotations.render("TargetDown", svc, &base_ctx)?,
    ));

    let requests = |extra: Option<Matcher>| {
        let mut m = vec![Matcher::eq(&o.service_label, svc)];
        m.extend(extra);
        rate_sum(&o.requests_metric, m, five)
    };
    rules.push(alert(
        "High5xxRatio",
        binary(
            binary(
                requests(Some(Matcher::re(&o.code_label, "5.."))),
                "/",
                requests(None),
            ),
            ">",
            number(Ratio::new(5, 100)),
        ),
        Some("10m"),
        labels(urgent),
        annotations.render("High5xxRatio", svc, &base_ctx)?,
    ));

    if let Replicas::Auto(auto) = &service.replicas {
        let hpa = |metric: &str| {
            selector(
                metric,
                vec![
                    Matcher::eq("namespace", ns),
                    Matcher::eq("horizontalpodautoscaler", svc),
                ],
            )
        };
        let mut ctx = base_ctx.clone();
        ctx.insert("max_replicas", auto.max.get_ref().to_string());
        ctx.insert("tier", auto.tier.get_ref().clone());
        rules.push(alert(
            "HPAMaxedOut",
            binary_on(
                hpa("kube_horizontalpodautoscaler_status_current_replicas"),
                ">=",
                "on (namespace, horizontalpodautoscaler)",
                hpa("kube_horizontalpodautoscaler_spec_max_replicas"),
            ),
            Some("15m"),
            labels("ticket"),
            annotations.render("HPAMaxedOut", svc, &ctx)?,
        ));
    }

    for (ds, pool_name) in &service.datastores {
        let Some(pool) = platform.pools.get(pool_name.get_ref()) else {
            continue;
        };
        let threshold = Ratio::int(i128::from(*pool.max.get_ref())).mul(Ratio::new(9, 10));
        let mut ctx = base_ctx.clone();
        ctx.insert("datastore", ds.get_ref().clone());
        ctx.insert("pool", pool.name.clone());
        ctx.insert("pool_max", pool.max.get_ref().to_string());
        let mut rule = alert(
            "PoolSaturation",
            binary(
                aggregate(
                    "max",
                    false,
                    &["pod"],
                    selector(
                        &o.pool_metric,
                        vec![
                            Matcher::eq(&o.service_label, svc),
                            Matcher::eq(&o.datastore_label, ds.get_ref()),
                        ],
                    ),
                ),
                ">",
                number(threshold),
            ),
            Some("10m"),
            labels("ticket"),
            annotations.render("PoolSaturation", svc, &ctx)?,
        );
        rule.labels
            .insert("datastore".to_string(), ds.get_ref().clone());
        rules.push(rule);
    }

    if let Some(tier) = &service.rate_limit
        && let Some(rl) = platform.rate_limits.get(tier.get_ref())
    {
        let limit_per_second = Ratio::new(
            i128::from(rl.requests) * 1000,
            i128::from(rl.window.millis.max(1)),
        );
        let mut ctx = base_ctx.clone();
        ctx.insert("requests", rl.requests.to_string());
        ctx.insert("window", rl.window.to_string());
        ctx.insert("tier", rl.name.clone());
        rules.push(alert(
            "RateLimitRejections",
            binary(
                requests(Some(Matcher::eq(&o.code_label, "429"))),
                ">",
                number(limit_per_second.mul(Ratio::new(5, 100))),
            ),
            Some("10m"),
            labels("ticket"),
            annotations.render("RateLimitRejections", svc, &ctx)?,
        ));
    }

    rules.push(alert(
        "PodCrashLooping",
        binary(
            call(
                "increase",
                range(
                    "kube_pod_container_status_restarts_total",
                    vec![Matcher::eq("namespace", ns), Matcher::eq("container", svc)],
                    Duration {
                        millis: 15 * MINUTE,
                    },
                ),
            ),
            ">=",
            number(Ratio::int(3)),
        ),
        Some("5m"),
        labels(urgent),
        annotations.render("PodCrashLooping", svc, &base_ctx)?,
    ));

    Ok(RuleGroup {
        name: format!("berrys-{svc}-operational"),
        rules,
    })
}

/// Stand for the values a rule-group pattern leaves out: the service's name, then (in the
/// operational group) its datastores' names in order. Private-use characters, which
/// neither names nor the templates hold.
const MARKERS: [char; 8] = [
    '\u{E002}', '\u{E003}', '\u{E004}', '\u{E005}', '\u{E006}', '\u{E007}', '\u{E008}', '\u{E009}',
];
const NAME: char = MARKERS[0];

/// A piece of a marked string: text as it is, or where value `i` goes.
#[derive(Debug)]
enum Cut {
    Text(String),
    Value(usize),
}

/// Rule groups made with markers in place of some values: their YAML layout, and each
/// scalar's string cut where the values go. Filling it with the values gives what
/// building and serialising the groups with those values gives, where the values go into
/// the strings as they are (see [`name_as_it_is`]) and nothing else depends on them.
#[derive(Debug)]
struct Marked {
    layout: crate::emit::shapes::Pattern,
    /// Per scalar; empty for a string without markers (the pattern's own text stands).
    cuts: Vec<Vec<Cut>>,
    /// How many values go in.
    values: usize,
}

impl Marked {
    fn new<T: Serialize>(value: &T, values: usize) -> Option<Marked> {
        let layout = crate::emit::shapes::pattern(value)?;
        let cuts: Vec<Vec<Cut>> = layout.strings().map(cut).collect();
        let in_range = cuts
            .iter()
            .flatten()
            .all(|c| !matches!(c, Cut::Value(v) if *v >= values));
        in_range.then_some(Marked {
            layout,
            cuts,
            values,
        })
    }

    /// The groups' YAML with `values` in place of the markers.
    fn fill(&self, values: &[&str]) -> Option<String> {
        if values.len() != self.values {
            return None;
        }
        self.layout.fill_with(|i, buf| {
            let cuts = &self.cuts[i];
            for c in cuts {
                match c {
                    Cut::Text(t) => buf.push_str(t),
                    Cut::Value(v) => buf.push_str(values[*v]),
                }
            }
            !cuts.is_empty()
        })
    }
}

/// `s` cut at its markers; empty when it has none.
fn cut(s: &str) -> Vec<Cut> {
    let mut cuts = Vec::new();
    if !s.contains(MARKERS) {
        return cuts;
    }
    let mut text = String::new();
    for c in s.chars() {
        match MARKERS.iter().position(|&m| m == c) {
            Some(v) => {
                if !text.is_empty() {
                    cuts.push(Cut::Text(std::mem::take(&mut text)));
                }
                cuts.push(Cut::Value(v));
            }
            None => text.push(c),
        }
    }
    if !text.is_empty() {
        cuts.push(Cut::Text(text));
    }
    cuts
}

/// An SLO's three rule groups with its service's name left out, and the page alert
/// likewise. Everything else in them follows from what the SLO's [`PatternKey`] holds, so
/// the SLOs of a platform share a few patterns, and each SLO's groups are its pattern
/// filled with its service's name, without building the rules and their queries again.
///
/// Exact where the name is put into the strings as it is: names made of letters, digits,
/// `-`, `_` and `.` (nothing PromQL or the runbook URL would escape), and annotation
/// templates that only substitute. Each pattern is checked once against the SLO it was
/// first needed for, built and serialised directly; a pattern that differs is not used.
struct SloPattern {
    groups: Marked,
    page: Rule,
}

/// SLOs of one kind, or services of one kind of operational group, from which their groups
/// are made from a pattern: making one costs about three groups built directly.
const MIN_SHARED: usize = 4;

/// What an SLO's rule groups depend on besides its service's name.
type PatternKey = (&'static str, Ratio, Ratio, crate::units::Duration, Sli);

fn pattern_key(slo: &Slo) -> PatternKey {
    (
        slo.slo,
        slo.objective_percent,
        slo.budget,
        slo.period,
        slo.sli,
    )
}

/// Whether `name` goes into queries, labels and URLs as it is.
fn name_as_it_is(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl SloPattern {
    /// The pattern of SLOs like `slo`, or `None` when its groups do not make one or it does
    /// not give what building `slo`'s groups gives.
    fn new(
        o: &Observability,
        annotations: &Annotations,
        slo: &Slo,
    ) -> Result<Option<SloPattern>, EmitError> {
        if slo.id != format!("{}-{}", slo.service, slo.slo) || !name_as_it_is(&slo.service) {
            return Ok(None);
        }
        let marked = Slo {
            id: format!("{NAME}-{}", slo.slo),
            service: NAME.to_string(),
            ..slo.clone()
        };
        let groups = slo_groups(o, &marked, annotations)?;
        let Some(layout) = Marked::new(&groups, 1) else {
            return Ok(None);
        };
        let Some(page) = page_alerts(&groups).next().cloned() else {
            return Ok(None);
        };
        let pattern = SloPattern {
            groups: layout,
            page,
        };
        let direct = slo_groups(o, slo, annotations)?;
        let same = pattern.fill(&slo.service).is_some_and(|(text, page)| {
            Some(&page) == page_alerts(&direct).next()
                && crate::emit::to_yaml_recurring(&direct).is_ok_and(|d| d == text)
        });
        Ok(same.then_some(pattern))
    }

    /// The groups' YAML (as a list) and the page alert of the SLO of service `name`.
    fn fill(&self, name: &str) -> Option<(String, Rule)> {
        let text = self.groups.fill(&[name])?;
        let named = |s: &String| s.replace(NAME, name);
        let page = Rule {
            record: self.page.record.as_ref().map(named),
            alert: self.page.alert.as_ref().map(named),
            expr: named(&self.page.expr),
            for_: self.page.for_.as_ref().map(named),
            labels: self
                .page
                .labels
                .iter()
                .map(|(k, v)| (named(k), named(v)))
                .collect(),
            annotations: self
                .page
                .annotations
                .iter()
                .map(|(k, v)| (named(k), named(v)))
                .collect(),
        };
        Some((text, page))
    }
}

/// The alerts of the operational group, whose annotations must only substitute for its
/// pattern to apply.
const OPERATIONAL_ALERTS: [&str; 6] = [
    "TargetDown",
    "High5xxRatio",
    "HPAMaxedOut",
    "PoolSaturation",
    "RateLimitRejections",
    "PodCrashLooping",
];

/// What a service's operational group depends on besides its own name and its datastores'
/// names: whether it is critical, its autoscaling bounds, the pool of each datastore in
/// order, and its rate-limit tier. Services with the same key share an operational pattern
/// ([`Marked`], the name and the datastores' names left out).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct OperationalKey {
    critical: bool,
    autoscale: Option<(u32, String)>,
    pools: Vec<String>,
    rate_limit: Option<String>,
}

/// The key of `service`'s operational group, or `None` when its names do not go into the
/// strings as they are or it has more datastores than there are markers.
fn operational_key(service: &Service) -> Option<OperationalKey> {
    let names_as_they_are = name_as_it_is(service.name.get_ref())
        && service
            .datastores
            .iter()
            .all(|(ds, _)| name_as_it_is(ds.get_ref()));
    if !names_as_they_are || service.datastores.len() >= MARKERS.len() {
        return None;
    }
    Some(OperationalKey {
        critical: *service.critical.get_ref(),
        autoscale: match &service.replicas {
            Replicas::Auto(auto) => Some((*auto.max.get_ref(), auto.tier.get_ref().clone())),
            Replicas::Fixed { .. } => None,
        },
        pools: service
            .datastores
            .iter()
            .map(|(_, pool)| pool.get_ref().clone())
            .collect(),
        rate_limit: service.rate_limit.as_ref().map(|t| t.get_ref().clone()),
    })
}

/// The values an operational pattern leaves out, in marker order.
fn operational_values(service: &Service) -> Vec<&str> {
    std::iter::once(service.name.get_ref().as_str())
        .chain(
            service
                .datastores
                .iter()
                .map(|(ds, _)| ds.get_ref().as_str()),
        )
        .collect()
}

/// The operational pattern of services like `service`, or `None` when its group does not
/// make one or the pattern does not give what building `service`'s group gives.
fn operational_pattern(
    platform: &Platform,
    annotations: &Annotations,
    service: &Service,
) -> Result<Option<Marked>, EmitError> {
    let mut marked = service.clone();
    marked.name = toml::Spanned::new(service.name.span(), NAME.to_string());
    for ((ds, _), marker) in marked.datastores.iter_mut().zip(&MARKERS[1..]) {
        *ds = toml::Spanned::new(ds.span(), marker.to_string());
    }
    let values = operational_values(service);
    let group = operational_group(platform, &marked, annotations)?;
    // A slice, not an array: an array is a tuple to serde, which a pattern refuses.
    let Some(pattern) = Marked::new(&std::slice::from_ref(&group), values.len()) else {
        return Ok(None);
    };
    let direct =
        crate::emit::to_yaml_recurring(&[operational_group(platform, service, annotations)?])?;
    Ok((pattern.fill(&values).as_deref() == Some(direct.as_str())).then_some(pattern))
}

/// The page alerts among `groups`' rules.
fn page_alerts(groups: &[RuleGroup]) -> impl Iterator<Item = &Rule> {
    groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.alert.as_deref() == Some(PAGE_ALERT))
}

/// Renders rule groups service by service; shared by every thread.
pub struct RuleRenderer<'a> {
    platform: &'a Platform,
    annotations: Annotations,
    /// Every SLO, in service order.
    slos: Vec<Slo>,
    slo_patterns: Patterns<PatternKey, SloPattern>,
    operational_patterns: Patterns<OperationalKey, Marked>,
}

/// Patterns of one kind of rule group, made as the first group of each kind needs them and
/// shared by every thread.
struct Patterns<K, V> {
    /// The kinds enough groups share for a pattern to pay (none when the alerts'
    /// annotations do more than substitute).
    kinds: std::collections::HashSet<K, foldhash::fast::FixedState>,
    /// `None` for a kind whose pattern is not used.
    made: std::sync::Mutex<HashMap<K, Option<std::sync::Arc<V>>, foldhash::fast::FixedState>>,
}

impl<K: std::hash::Hash + Eq, V> Patterns<K, V> {
    /// Patterns for the kinds that at least [`MIN_SHARED`] of `keys` have, when `apply`.
    fn new(apply: bool, keys: impl Iterator<Item = K>) -> Self {
        let mut counts = HashMap::<K, usize, foldhash::fast::FixedState>::default();
        if apply {
            for key in keys {
                *counts.entry(key).or_insert(0usize) += 1;
            }
        }
        Patterns {
            kinds: counts
                .into_iter()
                .filter(|&(_, n)| n >= MIN_SHARED)
                .map(|(key, _)| key)
                .collect(),
            made: std::sync::Mutex::default(),
        }
    }

    /// The pattern of kind `key`, from `make` the first time it is asked for; `None` for a
    /// kind too rare for a pattern, or whose pattern `make` refused.
    fn get(
        &self,
        key: K,
        make: impl FnOnce() -> Result<Option<V>, EmitError>,
    ) -> Result<Option<std::sync::Arc<V>>, EmitError> {
        if !self.kinds.contains(&key) {
            return Ok(None);
        }
        if let Some(known) = self.made.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(known.clone());
        }
        let made = make()?.map(std::sync::Arc::new);
        let mut patterns = self.made.lock().map_err(|_| poisoned())?;
        Ok(patterns.entry(key).or_insert(made).clone())
    }

    /// The patterns made and used, and those made and refused.
    fn counts(&self) -> (usize, usize) {
        let made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let used = made.values().filter(|p| p.is_some()).count();
        (used, made.len() - used)
    }
}

/// One service's rules as the rule files hold them.
pub struct ServiceRules {
    /// Its groups as a YAML list: the SLO groups, then the operational group.
    pub fragment: String,
    /// Its page alerts, which the promtool tests expect.
    pub page_alerts: Vec<Rule>,
}

impl<'a> RuleRenderer<'a> {
    pub fn new(compiled: &'a Compiled) -> Result<RuleRenderer<'a>, EmitError> {
        let platform = &compiled.platform;
        let annotations = Annotations::new(platform.observability.runbook_url.clone())?;
        let slos = slos(platform);
        let slo_patterns = Patterns::new(
            annotations.is_plain(PAGE_ALERT) && annotations.is_plain(TICKET_ALERT),
            slos.iter().map(pattern_key),
        );
        let operational_patterns = Patterns::new(
            OPERATIONAL_ALERTS.iter().all(|a| annotations.is_plain(a)),
            platform.services.values().filter_map(operational_key),
        );
        Ok(RuleRenderer {
            platform,
            annotations,
            slos,
            slo_patterns,
            operational_patterns,
        })
    }

    fn service_slos(&self, service: &Service) -> &[Slo] {
        let name = service.name.get_ref();
        let start = self.slos.partition_point(|s| s.service < *name);
        let len = self.slos[start..]
            .iter()
            .take_while(|s| &s.service == name)
            .count();
        &self.slos[start..start + len]
    }

    /// A service's SLO groups, then its operational group.
    pub fn service_groups(&self, service: &Service) -> Result<Vec<RuleGroup>, EmitError> {
        let mut groups = Vec::new();
        for slo in self.service_slos(service) {
            groups.extend(slo_groups(
                &self.platform.observability,
                slo,
                &self.annotations,
            )?);
        }
        groups.push(operational_group(
            self.platform,
            service,
            &self.annotations,
        )?);
        Ok(groups)
    }

    /// A service's rules as the rule files hold them: what [`fragment`] gives for
    /// [`Self::service_groups`], with each SLO's groups made from its pattern when one
    /// applies.
    pub fn service_rules(&self, service: &Service) -> Result<ServiceRules, EmitError> {
        let o = &self.platform.observability;
        let mut fragment = String::new();
        let mut pages = Vec::new();
        for slo in self.service_slos(service) {
            if let Some((text, page)) = self.pattern(slo)?.and_then(|p| p.fill(&slo.service)) {
                fragment.push_str(&text);
                pages.push(page);
                continue;
            }
            let groups = slo_groups(o, slo, &self.annotations)?;
            fragment.push_str(&crate::emit::to_yaml_recurring(&groups)?);
            pages.extend(page_alerts(&groups).cloned());
        }
        let from_pattern = self
            .operational_pattern(service)?
            .and_then(|p| p.fill(&operational_values(service)));
        match from_pattern {
            Some(text) => fragment.push_str(&text),
            None => {
                let operational = operational_group(self.platform, service, &self.annotations)?;
                fragment.push_str(&crate::emit::to_yaml_recurring(&[operational])?);
            }
        }
        Ok(ServiceRules {
            fragment,
            page_alerts: pages,
        })
    }

    /// The patterns made and used, and those made and refused (they did not give what
    /// building the groups directly gives): of SLO groups, then of operational groups.
    #[doc(hidden)]
    pub fn patterns_made(&self) -> [(usize, usize); 2] {
        [
            self.slo_patterns.counts(),
            self.operational_patterns.counts(),
        ]
    }

    /// The operational pattern of services like `service`, made when first needed.
    fn operational_pattern(
        &self,
        service: &Service,
    ) -> Result<Option<std::sync::Arc<Marked>>, EmitError> {
        let Some(key) = operational_key(service) else {
            return Ok(None);
        };
        self.operational_patterns.get(key, || {
            operational_pattern(self.platform, &self.annotations, service)
        })
    }

    /// The pattern of SLOs like `slo`, made when first needed.
    fn pattern(&self, slo: &Slo) -> Result<Option<std::sync::Arc<SloPattern>>, EmitError> {
        if !name_as_it_is(&slo.service) {
            return Ok(None);
        }
        self.slo_patterns.get(pattern_key(slo), || {
            SloPattern::new(&self.platform.observability, &self.annotations, slo)
        })
    }
}

fn poisoned() -> EmitError {
    EmitError::Serialise {
        kind: "rule groups".to_string(),
        message: "a rendering thread failed".to_string(),
    }
}

/// Every rule group of the platform: per service, its SLO groups then its operational one.
pub fn rule_groups(compiled: &Compiled) -> Result<Vec<RuleGroup>, EmitError> {
    let renderer = RuleRenderer::new(compiled)?;
    let mut groups = Vec::new();
    for service in compiled.platform.services.values() {
        groups.extend(renderer.service_groups(service)?);
    }
    Ok(groups)
}

#[derive(Serialize)]
struct RuleFile<'a> {
    groups: &'a [RuleGroup],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusRule<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: RuleFile<'a>,
}

pub fn rule_file(groups: &[RuleGroup]) -> Result<Document, EmitError> {
    Document::new(&RuleFile { groups })
}

pub fn prometheus_rule(groups: &[RuleGroup], metadata: ObjectMeta) -> Result<Document, EmitError> {
    Document::new(&PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata,
        spec: RuleFile { groups },
    })
}

/// One service's rule groups as a YAML sequence, ready to be concatenated into both rule
/// files; `None` when it has none.
pub fn fragment(groups: &[RuleGroup]) -> Result<Option<String>, EmitError> {
    if groups.is_empty() {
        return Ok(None);
    }
    crate::emit::to_yaml_recurring(&groups).map(Some)
}

/// The start of `prometheus/rules.yaml` when services have rule groups; their fragments
/// follow, appended in service order.
pub fn rule_file_header() -> OutputFile {
    OutputFile::new(RULE_FILE_PATH, "---\ngroups:\n".to_string())
}

/// `prometheus/rules.yaml` of a platform without rule groups.
pub fn empty_rule_file() -> Result<OutputFile, EmitError> {
    Ok(OutputFile::new(
        RULE_FILE_PATH,
        crate::emit::yaml_documents(&[rule_file(&[])?]),
    ))
}

/// `prometheus/prometheusrule.yaml` of a platform without rule groups.
pub fn empty_prometheus_rule(metadata: ObjectMeta) -> Result<OutputFile, EmitError> {
    Ok(OutputFile::new(
        PROMETHEUS_RULE_PATH,
        crate::emit::yaml_documents(&[prometheus_rule(&[], metadata)?]),
    ))
}

/// The start of `prometheus/prometheusrule.yaml`: its header up to `spec.groups`; the same
/// fragments as the rule file's follow, indented under it (uniform indentation keeps block
/// scalars intact).
pub fn prometheus_rule_header(metadata: ObjectMeta) -> Result<OutputFile, EmitError> {
    let empty = empty_prometheus_rule(metadata)?.contents;
    let Some(header) = empty.strip_suffix("  groups: []\n") else {
        return Err(EmitError::Serialise {
            kind: "PrometheusRule".to_string(),
            message: "unexpected layout of an empty PrometheusRule".to_string(),
        });
    };
    Ok(OutputFile::new(
        PROMETHEUS_RULE_PATH,
        format!("{header}  groups:\n"),
    ))
}

pub const RULE_FILE_PATH: &str = "prometheus/rules.yaml";
pub const PROMETHEUS_RULE_PATH: &str = "prometheus/prometheusrule.yaml";

// ---- promtool unit tests --------------------------------------------------------------

#[derive(Serialize)]
struct TestFile<'a> {
    rule_files: Vec<String>,
    evaluation_interval: String,
    tests: Vec<TestGroup<'a>>,
}

#[derive(Serialize)]
struct TestGroup<'a> {
    interval: String,
    input_series: Vec<Series>,
    alert_rule_test: Vec<AlertTest<'a>>,
}

#[derive(Serialize)]
struct Series {
    series: String,
    values: String,
}

#[derive(Serialize, Clone)]
struct AlertTest<'a> {
    eval_time: String,
    alertname: String,
    exp_alerts: &'a [ExpAlert<'a>],
}

/// The labels and annotations of a page alert, borrowed from its rule: the two groups that
/// expect pages list every SLO's, thousands on a large platform.
#[derive(Serialize)]
struct ExpAlert<'a> {
    exp_labels: &'a BTreeMap<String, String>,
    exp_annotations: &'a BTreeMap<String, String>,
}

/// Requests per minute in the synthetic series: a power of ten large enough that the
/// budget's share of it is a whole number, so "exactly at the budget" is exact.
fn traffic(budget: Ratio) -> Ratio {
    let mut rate = Ratio::int(1000);
    for _ in 0..6 {
        let errors = budget.mul(rate);
        if errors.to_string().parse::<u64>().is_ok() {
            break;
        }
        rate = rate.mul(Ratio::int(10));
    }
    rate
}

fn series_name(metric: &str, labels: &[(&str, &str)]) -> String {
    let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{metric}{{{}}}", body.join(", "))
}

/// (minutes, bad requests per minute, good requests per minute)
type Phase = (u64, Ratio, Ratio);

/// Input series for one scenario: phases of (minutes, bad requests per minute, good
/// requests per minute).
fn scenario(o: &Observability, slo: &Slo, phases: &[Phase]) -> Vec<Series> {
    // Cumulative counters, one sample per minute, as promtool's expanding notation.
    let counter = |pick: &dyn Fn(&Phase) -> Ratio| {
        let mut parts = Vec::new();
        let mut start = Ratio::int(0);
        for (i, phase) in phases.iter().enumerate() {
            let step = pick(phase);
            let minutes = i128::from(phase.0);
            // The first phase starts at zero (its first sample is t=0); later ones continue
            // one minute after the previous phase's last sample.
            if i == 0 {
                parts.push(format!("{start}+{step}x{}", phase.0));
            } else {
                parts.push(format!("{}+{step}x{}", start + step, phase.0 - 1));
            }
            start = start + step * Ratio::int(minutes);
        }
        parts.join(" ")
    };
    let svc = (o.service_label.as_str(), slo.service.as_str());
    match slo.sli {
        Sli::Availability => vec![
            Series {
                series: series_name(&o.requests_metric, &[svc, (o.code_label.as_str(), "500")]),
                values: counter(&|p| p.1),
            },
            Series {
                series: series_name(&o.requests_metric, &[svc, (o.code_label.as_str(), "200")]),
                values: counter(&|p| p.2),
            },
        ],
        Sli::Latency { threshold } => {
            let le = threshold.seconds_string();
            vec![
                Series {
                    series: series_name(&format!("{}_count", o.latency_metric), &[svc]),
                    values: counter(&|p| p.1 + p.2),
                },
                Series {
                    series: series_name(
                        &format!("{}_bucket", o.latency_metric),
                        &[svc, ("le", le.as_str())],
                    ),
                    values: counter(&|p| p.2),
                },
            ]
        }
    }
}

/// For every SLO: a full outage pages within five minutes, errors at exactly the budget
/// never page, and the page clears after recovery.
///
/// Each scenario is one test group holding the series of every SLO at once (services are
/// told apart by their label), so promtool evaluates the rules three times, not three times
/// per SLO.
pub fn promtool_tests(compiled: &Compiled, rules: &[Rule]) -> Result<OutputFile, EmitError> {
    let (slos, alerts) = (slos(&compiled.platform), expected_pages(rules));
    let scenarios = scenarios(&alerts);
    let o = &compiled.platform.observability;
    let empty = Document::new(&test_file(Vec::new()))?;
    if slos.is_empty() {
        return Ok(OutputFile::new(
            TEST_FILE_PATH,
            crate::emit::yaml_document(empty),
        ));
    }
    // The groups are independent and, on a large platform, each is megabytes of series:
    // each is written on a thread of its own. The file is the header and the three groups
    // as sequence items, as if serialised whole, written one after the other without
    // being joined.
    let groups = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|scenario| scope.spawn(|| scenario.text(o, &slos)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Result<Vec<String>, EmitError>>()
    })?;
    let Some(header) = empty.0.strip_suffix("tests: []\n") else {
        return Err(EmitError::Serialise {
            kind: "promtool tests".to_string(),
            message: "unexpected layout of an empty test file".to_string(),
        });
    };
    Ok(
        OutputFile::new(TEST_FILE_PATH, format!("---\n{header}tests:\n"))
            .followed_by(std::sync::Arc::new(groups), 0),
    )
}

pub const TEST_FILE_PATH: &str = "prometheus/rules.test.yaml";

/// [`promtool_tests`] serialised whole, as one document: what the tests compare the
/// group-by-group, item-by-item text with.
#[doc(hidden)]
pub fn promtool_tests_whole(compiled: &Compiled, rules: &[Rule]) -> Result<Document, EmitError> {
    let (slos, alerts) = (slos(&compiled.platform), expected_pages(rules));
    let scenarios = scenarios(&alerts);
    let o = &compiled.platform.observability;
    let groups = match slos.is_empty() {
        true => Vec::new(),
        false => scenarios.iter().map(|s| s.group(o, &slos)).collect(),
    };
    Document::new(&test_file(groups))
}

fn test_file(tests: Vec<TestGroup<'_>>) -> TestFile<'_> {
    TestFile {
        rule_files: vec!["rules.yaml".to_string()],
        evaluation_interval: "1m".to_string(),
        tests,
    }
}

/// Every SLO's page alert, sorted: it carries its `sloth_id`; operational alerts have none.
fn expected_pages(rules: &[Rule]) -> Vec<ExpAlert<'_>> {
    let mut alerts: Vec<ExpAlert> = rules
        .iter()
        .filter(|r| r.alert.as_deref() == Some(PAGE_ALERT) && r.labels.contains_key("sloth_id"))
        .map(|r| ExpAlert {
            exp_labels: &r.labels,
            exp_annotations: &r.annotations,
        })
        .collect();
    alerts.sort_by(|a, b| a.exp_labels.cmp(b.exp_labels));
    alerts
}

/// The three scenarios, each a test group with every SLO's series, expecting
/// `page_alerts` where a page is due.
fn scenarios<'a>(page_alerts: &'a [ExpAlert<'a>]) -> [Scenario<'a>; 3] {
    // A full outage: every request fails, and every SLO pages within five minutes.
    let outage = Scenario {
        phases: |s| vec![(30, traffic(s.budget), Ratio::int(0))],
        tests: expect(&["5m"], |_| page_alerts),
    };
    // Errors at exactly the budget, for six hours: never a page.
    let at_budget = Scenario {
        phases: |s| {
            let rate = traffic(s.budget);
            let bad = s.budget.mul(rate);
            vec![(360, bad, rate.sub(bad))]
        },
        tests: expect(&["5m", "30m", "1h", "3h", "6h"], |_| &[]),
    };
    // Ten minutes of outage, then recovery: the page fires, then clears.
    let recovery = Scenario {
        phases: |s| {
            let (rate, zero) = (traffic(s.budget), Ratio::int(0));
            vec![(10, rate, zero), (80, zero, rate)]
        },
        tests: expect(&["10m", "80m"], |t| match t {
            "10m" => page_alerts,
            _ => &[],
        }),
    };
    [outage, at_budget, recovery]
}

/// A page expected at each of `times`, with the alerts `alerts` gives for it.
fn expect<'a>(times: &[&str], alerts: impl Fn(&str) -> &'a [ExpAlert<'a>]) -> Vec<AlertTest<'a>> {
    times
        .iter()
        .map(|t| AlertTest {
            eval_time: t.to_string(),
            alertname: PAGE_ALERT.to_string(),
            exp_alerts: alerts(t),
        })
        .collect()
}

/// One test group: the phases of every SLO's input series, and what is expected of them.
struct Scenario<'a> {
    phases: fn(&Slo) -> Vec<Phase>,
    tests: Vec<AlertTest<'a>>,
}

impl Scenario<'_> {
    fn group(&self, o: &Observability, slos: &[Slo]) -> TestGroup<'_> {
        TestGroup {
            interval: "1m".to_string(),
            input_series: slos
                .iter()
                .flat_map(|s| scenario(o, s, &(self.phases)(s)))
                .collect(),
            alert_rule_test: self.tests.clone(),
        }
    }

    /// What serialising the group as a sequence item gives. Its long lists (the series,
    /// each test's expected alerts) are written item by item through their shapes
    /// ([`crate::emit::push_list_item`]) into the layout of the group without them, as
    /// they are made: the items are the same few shapes with other strings, mostly long
    /// ones that need no quoting, which serde-saphyr would check node by node, and the
    /// series of thousands of SLOs are never held as values.
    fn text(&self, o: &Observability, slos: &[Slo]) -> Result<String, EmitError> {
        let frame = crate::emit::to_yaml(&[TestGroup {
            interval: "1m".to_string(),
            input_series: Vec::new(),
            alert_rule_test: Vec::new(),
        }])?;
        let tests_line = crate::emit::list_line(&frame, "alert_rule_test", 2)?;
        let (with_series, with_tests) = frame.split_at(tests_line.start);
        let mut out = String::new();
        crate::emit::write_spliced(&mut out, with_series, "input_series", 2, |out| {
            for slo in slos {
                for series in scenario(o, slo, &(self.phases)(slo)) {
                    crate::emit::push_list_item(out, &series, 2)?;
                }
            }
            Ok(())
        })?;
        crate::emit::write_spliced(&mut out, with_tests, "alert_rule_test", 2, |out| {
            for test in &self.tests {
                let frame = crate::emit::to_yaml(&[AlertTest {
                    eval_time: test.eval_time.clone(),
                    alertname: test.alertname.clone(),
                    exp_alerts: &[],
                }])?;
                let mut item = String::new();
                crate::emit::write_spliced(&mut item, &frame, "exp_alerts", 2, |item| {
                    test.exp_alerts
                        .iter()
                        .try_for_each(|alert| crate::emit::push_list_item(item, alert, 2))
                })?;
                crate::emit::indent_lines(out, &item, 2);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

// ---- prometheus-adapter ----------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdapterConfig {
    rules: Vec<AdapterRule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterRule {
    pub series_query: String,
    pub resources: AdapterResources,
    pub name: AdapterName,
    pub metrics_query: String,
}

#[derive(Debug, Serialize)]
pub struct AdapterResources {
    pub overrides: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Serialize)]
pub struct AdapterName {
    pub matches: String,
    #[serde(rename = "as")]
    pub as_: String,
}

/// prometheus-adapter rules exposing each custom HPA metric, per pod, under exactly the
/// name the HPAs ask for.
pub fn adapter_rules(platform: &Platform) -> Vec<AdapterRule> {
    let mut names: Vec<&str> = platform
        .services
        .values()
        .flat_map(|s| s.metrics.iter().map(|m| m.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let resource = |r: &str| BTreeMap::from([("resource".to_string(), r.to_string())]);
    names
        .iter()
        .map(|name| AdapterRule {
            series_query: selector(
                name,
                vec![Matcher::re("namespace", ".+"), Matcher::re("pod", ".+")],
            )
            .to_string(),
            resources: AdapterResources {
                overrides: BTreeMap::from([
                    ("namespace".to_string(), resource("namespace")),
                    ("pod".to_string(), resource("pod")),
                ]),
            },
            name: AdapterName {
                matches: format!("^{name}$"),
                as_: name.to_string(),
            },
            metrics_query: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)".to_string(),
        })
        .collect()
}

pub fn adapter_config_map(
    platform: &Platform,
    metadata: ObjectMeta,
) -> Result<Document, EmitError> {
    let rules = adapter_rules(platform);
    let config = crate::emit::to_yaml(&AdapterConfig { rules })?;
    Document::new(&ConfigMap {
        metadata,
        data: Some(BTreeMap::from([("config.yaml".to_string(), config)])),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: u64) -> Duration {
        Duration { millis: n * DAY }
    }

    fn factors(period: Duration) -> Vec<String> {
        PAGE.iter()
            .chain(TICKET.iter())
            .map(|c| burn_factor(period, c).to_string())
            .collect()
    }

    #[test]
    fn plain_alert_templates_print_what_minijinja_prints() {
        let a = Annotations::new(None).unwrap();
        // Every template of alerts.txt is plain today; a filter or a block would move it
        // back to minijinja, and this test would show which.
        assert!(a.plain.len() >= 16, "{} plain templates", a.plain.len());
        let odd = [
            "a \"quoted\" {x}",
            "<&>'",
            "ünï",
            "",
            "100",
            "{{ not a var }}",
        ];
        for (i, value) in odd.iter().enumerate() {
            for (name, pieces) in &a.plain {
                let mut ctx: BTreeMap<&str, String> = BTreeMap::new();
                for p in pieces {
                    if let Piece::Var(v) = p {
                        ctx.insert(v.as_str(), format!("{value}{i}"));
                    }
                }
                let by_minijinja = a.env.get_template(name).unwrap().render(&ctx).unwrap();
                assert_eq!(fill(pieces, &ctx).unwrap(), by_minijinja, "{name}");
            }
        }
    }

    #[test]
    fn only_text_and_names_are_plain() {
        assert_eq!(
            plain_pieces("a {{ b }}c{{d}}"),
            Some(vec![
                Piece::Text("a ".into()),
                Piece::Var("b".into()),
                Piece::Text("c".into()),
                Piece::Var("d".into())
            ])
        );
        for source in [
            "{{ b|upper }}",
            "{% if b %}x{% endif %}",
            "{{- b }}",
            "{{ b -}}",
            "{# c #}",
            "{{ b",
            "b }}",
            "{{ b.c }}",
        ] {
            assert_eq!(plain_pieces(source), None, "{source}");
        }
        let ctx: BTreeMap<&str, String> = BTreeMap::new();
        assert_eq!(fill(&[Piece::Var("missing".into())], &ctx), None);
    }

    #[test]
    fn burn_factors_scale_with_the_slo_window() {
        assert_eq!(factors(days(30)), ["14.4", "6", "3", "1"]);
        assert_eq!(
            factors(days(28)),
            ["13.44", "5.6", "2.8", "0.933333333333333"]
        );
        assert_eq!(
            factors(days(7)),
            ["3.36", "1.4", "0.7", "0.233333333333333"]
        );
        assert_eq!(factors(days(90)), ["43.2", "18", "9", "3"]);
        // A window that is not a whole number of days.
        assert_eq!(
            factors(Duration { millis: 36 * HOUR }),
            ["0.72", "0.3", "0.15", "0.05"]
        );
    }

    fn slo(objective: f64, period: Duration) -> Slo {
        let objective = Ratio::from_f64(objective);
        Slo {
            id: "svc-availability".to_string(),
            service: "svc".to_string(),
            slo: "availability",
            objective_percent: objective,
            budget: Ratio::int(100).sub(objective).div(Ratio::int(100)),
            period,
            sli: Sli::Availability,
        }
    }

    fn thresholds(s: &Slo) -> Vec<String> {
        PAGE.iter()
            .chain(TICKET.iter())
            .map(|c| burn_factor(s.period, c).mul(s.budget).to_string())
            .collect()
    }

    #[test]
    fn budgets_and_thresholds_are_exact_decimals() {
        let s = slo(99.9, days(30));
        assert_eq!(s.budget.to_string(), "0.001");
        assert_eq!(thresholds(&s), ["0.0144", "0.006", "0.003", "0.001"]);

        let s = slo(99.95, days(28));
        assert_eq!(s.budget.to_string(), "0.0005");
        assert_eq!(
            thresholds(&s),
            ["0.00672", "0.0028", "0.0014", "0.000466666666666667"]
        );

        let s = slo(99.99, days(7));
        assert_eq!(s.budget.to_string(), "0.0001");
        assert_eq!(
            thresholds(&s),
            ["0.000336", "0.00014", "0.00007", "0.0000233333333333333"]
        );

        let s = slo(95.0, days(90));
        assert_eq!(s.budget.to_string(), "0.05");
        assert_eq!(thresholds(&s), ["2.16", "0.9", "0.45", "0.15"]);

        // 1 - 0.999 is 0.0009999999999999432 in binary floating point.
        let s = slo(99.9, days(30));
        assert_eq!(Ratio::int(1).sub(s.budget).to_string(), "0.999");
    }

    #[test]
    fn every_recorded_window_includes_the_period_once() {
        let s = slo(99.9, days(3));
        let windows: Vec<String> = sli_windows(&s).iter().map(|w| w.to_string()).collect();
        assert_eq!(windows, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
        let s = slo(99.9, days(28));
        // Printed as Prometheus prints durations (and Sloth names its rules): 28d is 4w.
        assert_eq!(sli_windows(&s).last().unwrap().to_string(), "4w");
        assert_eq!(sli_windows(&s).len(), 8);
    }

    #[test]
    fn synthetic_traffic_makes_the_budget_a_whole_number_of_errors() {
        for objective in [99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 95.0] {
            let s = slo(objective, days(30));
            let errors = s.budget.mul(traffic(s.budget));
            assert!(
                errors.to_string().parse::<u64>().is_ok(),
                "{objective}: {errors}"
            );
        }
    }

    #[test]
    fn whole_second_bucket_bounds_match_both_spellings() {
        let m = le_matcher(Duration { millis: 1000 });
        assert_eq!(m.op, super::super::promql::MatchOp::Re);
        assert_eq!(m.value, "1|1\\.0");
        let m = le_matcher(Duration { millis: 250 });
        assert_eq!(m.value, "0.25");
    }
}
