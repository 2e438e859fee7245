//! `prometheus/analysis.test.yaml`: every release gate's query evaluated by promtool on
//! synthetic series. One test group per gate, its versions told apart by their pod template
//! hash: a healthy new version burning exactly its budget beside a stable version failing
//! every request, a new version burning 20 × its budget, one with too few requests, and
//! one without traffic at all.

use std::ops::Mul;

use serde::Serialize;

use crate::graph::Compiled;
use crate::model::Observability;
use crate::output::OutputFile;
use crate::render::analysis::{self, Gate, HASH_LABEL, WINDOW, gates};
use crate::render::error::RenderError;
use crate::render::promql::Ratio;
use crate::render::slo::Sli;
use crate::yaml::{self, Document};

pub const ANALYSIS_TEST_PATH: &str = "prometheus/analysis.test.yaml";

// The series run 30 minutes: the window the queries rate over fits in them twice over.
const _: () = assert!(WINDOW.millis * 2 < 30 * 60_000);

/// The versions of the synthetic series.
const HEALTHY: &str = "healthy";
const BURNING: &str = "burning";
const QUIET: &str = "quiet";
const ABSENT: &str = "absent";
const STABLE: &str = "stable";

#[derive(Serialize)]
struct TestFile {
    rule_files: Vec<String>,
    evaluation_interval: &'static str,
    tests: Vec<TestGroup>,
}

#[derive(Serialize)]
struct TestGroup {
    name: String,
    interval: &'static str,
    input_series: Vec<Series>,
    promql_expr_test: Vec<ExprTest>,
}

#[derive(Serialize)]
struct Series {
    series: String,
    values: String,
}

#[derive(Serialize)]
struct ExprTest {
    expr: String,
    eval_time: &'static str,
    exp_samples: Vec<Sample>,
}

#[derive(Serialize)]
struct Sample {
    labels: &'static str,
    value: u8,
}

/// One version's traffic: requests and bad requests per minute.
struct Version {
    hash: &'static str,
    requests: Ratio,
    errors: Ratio,
}

/// Requests per minute of the busy versions: enough that the budget's share is a whole
/// number, and that a window holds well over `min_requests`.
fn busy_traffic(gate: &Gate) -> Ratio {
    let mut rate = Ratio::int(1000);
    let min = Ratio::int(i128::from(gate.min_requests));
    for _ in 0..12 {
        let whole = gate.slo.budget.mul(rate).to_string().parse::<u64>().is_ok();
        if whole && rate.to_f64() * 5.0 >= min.to_f64() * 4.0 {
            break;
        }
        rate = rate.mul(Ratio::int(10));
    }
    rate
}

/// The burn rate of the failing version: 20 × the budget, or twice the threshold when that
/// is higher, at most every request failing. `None` when even that stays at or below the
/// threshold: such a gate cannot fail.
pub fn burning_factor(gate: &Gate) -> Option<Ratio> {
    let all = Ratio::int(1) / gate.slo.budget;
    let twenty = Ratio::int(20);
    let wanted = if twenty.to_f64() > gate.max_burn_rate.to_f64() {
        twenty
    } else {
        gate.max_burn_rate.mul(Ratio::int(2))
    };
    let factor = if wanted.to_f64() > all.to_f64() {
        all
    } else {
        wanted
    };
    (factor.to_f64() > gate.max_burn_rate.to_f64()).then_some(factor)
}

fn series_name(metric: &str, labels: &[(&str, &str)]) -> String {
    let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{metric}{{{}}}", body.join(", "))
}

/// A counter growing by `step` a minute for 30 minutes, from zero.
fn counter(step: Ratio) -> String {
    format!("0+{step}x30")
}

fn version_series(o: &Observability, gate: &Gate, v: &Version) -> Vec<Series> {
    let ns = ("namespace", gate.slo.namespace.as_str());
    let svc = (o.service_label.as_str(), gate.slo.service.as_str());
    let hash = (HASH_LABEL, v.hash);
    let good = v.requests - v.errors;
    match gate.slo.sli {
        Sli::Availability => {
            let code = |c| series_name(&o.requests_metric, &[ns, svc, (&o.code_label, c), hash]);
            let mut series = vec![Series {
                series: code("200"),
                values: counter(good),
            }];
            // A version without bad requests has no error series at all, as in production.
            if v.errors.to_f64() > 0.0 {
                series.push(Series {
                    series: code("500"),
                    values: counter(v.errors),
                });
            }
            series
        }
        Sli::Latency { threshold } => {
            let le = threshold.seconds_string();
            vec![
                Series {
                    series: series_name(&format!("{}_count", o.latency_metric), &[ns, svc, hash]),
                    values: counter(v.requests),
                },
                Series {
                    series: series_name(
                        &format!("{}_bucket", o.latency_metric),
                        &[ns, svc, ("le", &le), hash],
                    ),
                    values: counter(good),
                },
            ]
        }
    }
}

fn expect(expr: String, value: Option<u8>) -> ExprTest {
    ExprTest {
        expr,
        eval_time: "30m",
        exp_samples: value
            .map(|value| Sample {
                labels: "{}",
                value,
            })
            .into_iter()
            .collect(),
    }
}

fn group(o: &Observability, gate: &Gate) -> TestGroup {
    let busy = busy_traffic(gate);
    let at_budget = gate.slo.budget.mul(busy);
    // A few requests a minute, a window of them below `min_requests` by a wide margin.
    let quiet = Ratio::int(i128::from((gate.min_requests - 1) / 10));
    let burning = burning_factor(gate);
    let mut versions = vec![
        Version {
            hash: HEALTHY,
            requests: busy,
            errors: at_budget,
        },
        Version {
            hash: QUIET,
            requests: quiet,
            errors: Ratio::int(0),
        },
        // The stable version failing every request: the new version's gate must not see it.
        Version {
            hash: STABLE,
            requests: busy,
            errors: busy,
        },
    ];
    if let Some(f) = burning {
        versions.push(Version {
            hash: BURNING,
            requests: busy,
            errors: at_budget.mul(f),
        });
    }
    let input_series = versions
        .iter()
        .flat_map(|v| version_series(o, gate, v))
        .collect();
    let query = |hash: &str| analysis::query(o, gate, hash).text();
    let threshold = gate.max_burn_rate;
    let mut tests = vec![
        // Burning exactly its budget: a burn rate of 1, below the threshold.
        expect(format!("({}) > bool {threshold}", query(HEALTHY)), Some(0)),
        expect(
            format!("abs(({}) - 1) < bool 0.000001", query(HEALTHY)),
            Some(1),
        ),
        expect(query(QUIET), None),
        expect(query(ABSENT), None),
    ];
    if burning.is_some() {
        tests.push(expect(
            format!("({}) > bool {threshold}", query(BURNING)),
            Some(1),
        ));
    }
    TestGroup {
        name: format!("{} {} release gate", gate.slo.service, gate.slo.slo),
        interval: "1m",
        input_series,
        promql_expr_test: tests,
    }
}

/// The analysis tests of every gated service, or `None` when no service is gated.
pub fn analysis_tests(compiled: &Compiled) -> Result<Option<OutputFile>, RenderError> {
    let o = &compiled.platform.observability;
    let groups: Vec<TestGroup> = compiled
        .platform
        .services
        .values()
        .flat_map(|s| gates(s, &compiled.platform.namespace))
        .map(|gate| group(o, &gate))
        .collect();
    if groups.is_empty() {
        return Ok(None);
    }
    let file = TestFile {
        rule_files: Vec::new(),
        evaluation_interval: "1m",
        tests: groups,
    };
    Ok(Some(OutputFile::new(
        ANALYSIS_TEST_PATH,
        yaml::document(Document::new(&file)?),
    )))
}
