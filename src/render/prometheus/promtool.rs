//! Generated `promtool test rules` cases: for every SLO, a full outage pages within five
//! minutes, errors at exactly the budget never page, and the page clears after recovery;
//! for every service, one target of two down is no ServiceDown, both down is, and so is no
//! target at all.

use std::collections::BTreeMap;
use std::ops::{Mul, Sub};
use std::sync::Arc;

use serde::Serialize;

use super::Rule;
use super::capacity;
use super::operational::SERVICE_DOWN;
use super::slo_rules::PAGE_ALERT;
use crate::graph::Compiled;
use crate::model::Observability;
use crate::model::capacity::RESOURCE_KINDS;
use crate::output::OutputFile;
use crate::render::error::RenderError;
use crate::render::promql::Ratio;
use crate::render::slo::{PAGE, Sli, Slo, slos};
use crate::yaml::{self, Document, Items};

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

#[derive(Serialize, Clone)]
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
    let ns = ("namespace", slo.namespace.as_str());
    let svc = (o.service_label.as_str(), slo.service.as_str());
    match slo.sli {
        Sli::Availability => vec![
            Series {
                series: series_name(
                    &o.requests_metric,
                    &[ns, svc, (o.code_label.as_str(), "500")],
                ),
                values: counter(&|p| p.1),
            },
            Series {
                series: series_name(
                    &o.requests_metric,
                    &[ns, svc, (o.code_label.as_str(), "200")],
                ),
                values: counter(&|p| p.2),
            },
        ],
        Sli::Latency { threshold } => {
            let le = threshold.seconds_string();
            vec![
                Series {
                    series: series_name(&format!("{}_count", o.latency_metric), &[ns, svc]),
                    values: counter(&|p| p.1 + p.2),
                },
                Series {
                    series: series_name(
                        &format!("{}_bucket", o.latency_metric),
                        &[ns, svc, ("le", le.as_str())],
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
pub fn promtool_tests(compiled: &Compiled, rules: &[Rule]) -> Result<OutputFile, RenderError> {
    let slos = slos(&compiled.platform);
    let alerts = expected_pages(rules, &slos);
    let scenarios = scenarios(&alerts);
    let o = &compiled.platform.observability;
    let capacity = capacity_tests(compiled, rules);
    if slos.is_empty() && expected_service_downs(rules).is_empty() && capacity.is_none() {
        let empty = Document::new(&test_file(Vec::new()))?;
        return Ok(OutputFile::new(TEST_FILE_PATH, yaml::document(empty)));
    }
    // The groups are independent and, on a large platform, each is megabytes of series:
    // each is written on a thread of its own. The file is the header and the three groups
    // as sequence items, as if serialised whole, written one after the other without
    // being joined.
    // Without SLOs there are no burn-rate scenarios, only the ServiceDown group.
    let scenarios: &[Scenario<'_>] = if slos.is_empty() { &[] } else { &scenarios };
    let mut groups = crate::parallel::each(scenarios, |scenario| scenario.text(o, &slos))
        .into_iter()
        .collect::<Result<Vec<String>, RenderError>>()?;
    let downs = expected_service_downs(rules);
    if !downs.is_empty() {
        let tests = service_down_tests(&downs);
        let series = |items: &mut Items<'_>| -> Result<(), RenderError> {
            for alert in &downs {
                for series in service_down_series(alert) {
                    items.push(&series)?;
                }
            }
            Ok(())
        };
        groups.push(group_text(series, &tests)?);
        let no_series = |_: &mut Items<'_>| -> Result<(), RenderError> { Ok(()) };
        groups.push(group_text(no_series, &no_target_tests(&downs))?);
    }
    if let Some(c) = &capacity {
        let mut series = |items: &mut Items<'_>| -> Result<(), RenderError> {
            c.series
                .iter()
                .try_for_each(|s| items.push(s).map_err(RenderError::from))
        };
        groups.push(group_text(&mut series, &c.tests())?);
    }
    let head = yaml::list_head(&test_file(Vec::new()), "tests")?;
    Ok(OutputFile::new(TEST_FILE_PATH, head.text).followed_by(Arc::new(groups), head.column))
}

pub const TEST_FILE_PATH: &str = "prometheus/rules.test.yaml";

/// [`promtool_tests`] serialised whole, as one document: what the tests compare the
/// group-by-group, item-by-item text with.
#[cfg(test)]
fn promtool_tests_whole(compiled: &Compiled, rules: &[Rule]) -> Result<Document, RenderError> {
    let slos = slos(&compiled.platform);
    let alerts = expected_pages(rules, &slos);
    let scenarios = scenarios(&alerts);
    let o = &compiled.platform.observability;
    let mut groups: Vec<TestGroup> = match slos.is_empty() {
        true => Vec::new(),
        false => scenarios.iter().map(|s| s.group(o, &slos)).collect(),
    };
    let downs = expected_service_downs(rules);
    let down_tests = service_down_tests(&downs);
    if !downs.is_empty() {
        groups.push(TestGroup {
            interval: "1m".to_string(),
            input_series: downs.iter().flat_map(service_down_series).collect(),
            alert_rule_test: down_tests.clone(),
        });
        groups.push(TestGroup {
            interval: "1m".to_string(),
            input_series: Vec::new(),
            alert_rule_test: no_target_tests(&downs),
        });
    }
    let capacity = capacity_tests(compiled, rules);
    if let Some(c) = &capacity {
        groups.push(TestGroup {
            interval: "1m".to_string(),
            input_series: c.series.clone(),
            alert_rule_test: c.tests(),
        });
    }
    Ok(Document::new(&test_file(groups))?)
}

fn test_file(tests: Vec<TestGroup<'_>>) -> TestFile<'_> {
    TestFile {
        rule_files: vec!["rules.yaml".to_string()],
        evaluation_interval: "1m".to_string(),
        tests,
    }
}

/// Every SLO's page alert that can fire, sorted: it carries its `sloth_id`; operational
/// alerts have none. An SLO whose page conditions all need more than every request to fail
/// (an objective at or below 83.3 % over 30 days; BR027 reports it) never pages, so no test
/// expects it to.
fn expected_pages<'r>(rules: &'r [Rule], slos: &[Slo]) -> Vec<ExpAlert<'r>> {
    // Few SLOs, usually none, cannot page: those are looked up, not every SLO.
    let silent: std::collections::HashSet<&str> = slos
        .iter()
        .filter(|s| PAGE.iter().all(|c| c.threshold(s).to_f64() >= 1.0))
        .map(|s| s.id.as_str())
        .collect();
    let mut alerts: Vec<ExpAlert> = rules
        .iter()
        .filter(|r| r.alert.as_deref() == Some(PAGE_ALERT))
        .filter(|r| {
            r.labels
                .get("sloth_id")
                .is_some_and(|id| !silent.contains(id.as_str()))
        })
        .map(|r| ExpAlert {
            exp_labels: &r.labels,
            exp_annotations: &r.annotations,
        })
        .collect();
    alerts.sort_by(|a, b| a.exp_labels.cmp(b.exp_labels));
    alerts
}

/// Every service's ServiceDown alert, sorted.
fn expected_service_downs(rules: &[Rule]) -> Vec<ExpAlert<'_>> {
    let mut alerts: Vec<ExpAlert> = rules
        .iter()
        .filter(|r| r.alert.as_deref() == Some(SERVICE_DOWN))
        .map(|r| ExpAlert {
            exp_labels: &r.labels,
            exp_annotations: &r.annotations,
        })
        .collect();
    alerts.sort_by(|a, b| a.exp_labels.cmp(b.exp_labels));
    alerts
}

/// Two targets of the alert's service: `a` up throughout, `b` down from minute 10; from
/// minute 20 both are down.
fn service_down_series(alert: &ExpAlert<'_>) -> [Series; 2] {
    let label = |k: &str| alert.exp_labels.get(k).map_or("", String::as_str);
    let (namespace, job) = (label("namespace"), label("service"));
    let up = |instance: &str, values: &str| Series {
        series: series_name(
            "up",
            &[
                ("instance", instance),
                ("job", job),
                ("namespace", namespace),
            ],
        ),
        values: values.to_string(),
    };
    [up("a", "1x19 0x20"), up("b", "1x9 0x30")]
}

/// ServiceDown tests at each evaluation time, expecting those alerts then.
fn service_down_at<'a>(times: &[(&str, &'a [ExpAlert<'a>])]) -> Vec<AlertTest<'a>> {
    times
        .iter()
        .map(|&(t, alerts)| AlertTest {
            eval_time: t.to_string(),
            alertname: SERVICE_DOWN.to_string(),
            exp_alerts: alerts,
        })
        .collect()
}

/// One target of two down for nine minutes: silent; both down for one minute: still
/// pending (under the 2 minutes of `for`); for five: every service's ServiceDown fires.
fn service_down_tests<'a>(downs: &'a [ExpAlert<'a>]) -> Vec<AlertTest<'a>> {
    service_down_at(&[("19m", &[]), ("21m", &[]), ("25m", downs)])
}

/// No series of `up` at all (every pod gone, or none discovered): pending for the first
/// minute, every service's ServiceDown fires once its 2 minutes have passed.
fn no_target_tests<'a>(downs: &'a [ExpAlert<'a>]) -> Vec<AlertTest<'a>> {
    service_down_at(&[("1m", &[]), ("3m", downs)])
}

/// The capacity alerts' test group: each quota resource and each datastore at half of its
/// limit for half an hour (silent), then at 90 % (every capacity alert fires).
struct CapacityTests<'a> {
    series: Vec<Series>,
    quota: Vec<ExpAlert<'a>>,
    connections: Vec<ExpAlert<'a>>,
}

impl CapacityTests<'_> {
    fn tests(&self) -> Vec<AlertTest<'_>> {
        let mut tests = Vec::new();
        for (name, alerts) in [
            (capacity::QUOTA_ALERT, &self.quota),
            (capacity::CONNECTIONS_ALERT, &self.connections),
        ] {
            if alerts.is_empty() {
                continue;
            }
            for (t, expected) in [("29m", &[][..]), ("60m", alerts.as_slice())] {
                tests.push(AlertTest {
                    eval_time: t.to_string(),
                    alertname: name.to_string(),
                    exp_alerts: expected,
                });
            }
        }
        tests
    }
}

/// Half of `limit` for minutes 0–29, 90 % of it from minute 30 to 60.
fn half_then_ninety(limit: Ratio) -> String {
    let half = limit.mul(Ratio::new(1, 2));
    let ninety = limit.mul(Ratio::new(9, 10));
    format!("{half}x29 {ninety}x30")
}

fn capacity_tests<'a>(compiled: &Compiled, rules: &'a [Rule]) -> Option<CapacityTests<'a>> {
    let p = &compiled.platform;
    let expected = |name: &str| -> Vec<ExpAlert<'a>> {
        let mut alerts: Vec<ExpAlert> = rules
            .iter()
            .filter(|r| r.alert.as_deref() == Some(name))
            .map(|r| ExpAlert {
                exp_labels: &r.labels,
                exp_annotations: &r.annotations,
            })
            .collect();
        alerts.sort_by(|a, b| a.exp_labels.cmp(b.exp_labels));
        alerts
    };
    let (quota, connections) = (
        expected(capacity::QUOTA_ALERT),
        expected(capacity::CONNECTIONS_ALERT),
    );
    if quota.is_empty() && connections.is_empty() {
        return None;
    }
    let mut series = Vec::new();
    for alert in &quota {
        let resource = alert.exp_labels.get("resource")?;
        let kind = RESOURCE_KINDS
            .iter()
            .find(|k| k.quota_resource == resource)?;
        let hard = Ratio::from_f64(kind.of(p.quota.as_ref()?.get_ref())?.get_ref().value);
        for (kind, values) in [
            ("hard", format!("{hard}x60")),
            ("used", half_then_ninety(hard)),
        ] {
            series.push(Series {
                series: series_name(
                    "kube_resourcequota",
                    &[
                        ("namespace", p.namespace.as_str()),
                        ("resource", resource),
                        ("resourcequota", p.name.as_str()),
                        ("type", kind),
                    ],
                ),
                values,
            });
        }
    }
    let o = &p.observability;
    for alert in &connections {
        let name = alert.exp_labels.get("datastore")?;
        let ds = p.datastores.get(name)?;
        let usable = ds
            .max_connections
            .get_ref()
            .saturating_sub(ds.reserved_connections);
        series.push(Series {
            series: series_name(
                &o.pool_metric,
                &[
                    (o.datastore_label.as_str(), name.as_str()),
                    ("namespace", p.namespace.as_str()),
                    (o.service_label.as_str(), "capacity-test"),
                ],
            ),
            values: half_then_ninety(Ratio::int(i128::from(usable))),
        });
    }
    Some(CapacityTests {
        series,
        quota,
        connections,
    })
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
    #[cfg(test)]
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
    /// each test's expected alerts) are written item by item ([`yaml::with_lists`]) as they
    /// are made: the items are the same few shapes with other strings, mostly long ones
    /// that need no quoting, and the series of thousands of SLOs are never held as values.
    fn text(&self, o: &Observability, slos: &[Slo]) -> Result<String, RenderError> {
        let series = |items: &mut Items<'_>| -> Result<(), RenderError> {
            for slo in slos {
                for series in scenario(o, slo, &(self.phases)(slo)) {
                    items.push(&series)?;
                }
            }
            Ok(())
        };
        group_text(series, &self.tests)
    }
}

/// A test group as a sequence item: the series `series` pushes, and `tests`.
fn group_text(
    mut series: impl FnMut(&mut Items<'_>) -> Result<(), RenderError>,
    tests: &[AlertTest<'_>],
) -> Result<String, RenderError> {
    let frame = [TestGroup {
        interval: "1m".to_string(),
        input_series: Vec::new(),
        alert_rule_test: Vec::new(),
    }];
    let mut tests = |items: &mut Items<'_>| -> Result<(), RenderError> {
        for test in tests {
            let frame = AlertTest {
                eval_time: test.eval_time.clone(),
                alertname: test.alertname.clone(),
                exp_alerts: &[],
            };
            let mut alerts = |alerts: &mut Items<'_>| -> Result<(), RenderError> {
                test.exp_alerts
                    .iter()
                    .try_for_each(|alert| alerts.push(alert).map_err(RenderError::from))
            };
            items.push_with_lists(&frame, &mut [("exp_alerts", &mut alerts)])?;
        }
        Ok(())
    };
    let mut out = String::new();
    yaml::with_lists(
        &mut out,
        &frame,
        &mut [
            ("input_series", &mut series),
            ("alert_rule_test", &mut tests),
        ],
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::slo::tests::{days, slo};

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

    /// Written group by group and item by item, the tests are the bytes of serialising the
    /// file whole, on the reference and on a generated platform with hundreds of SLOs.
    #[test]
    fn promtool_tests_equal_their_whole_serialisation() {
        let mut with_alerts = 0;
        for compiled in crate::render::test_platforms::all() {
            let rules: Vec<Rule> = super::super::rule_groups(&compiled)
                .unwrap()
                .into_iter()
                .flat_map(|g| g.rules)
                .collect();
            let spliced = promtool_tests(&compiled, &rules).unwrap().joined();
            let whole = promtool_tests_whole(&compiled, &rules).unwrap();
            assert_eq!(spliced.path, TEST_FILE_PATH);
            assert_eq!(spliced.contents, yaml::documents(&[whole]));
            with_alerts += usize::from(spliced.contents.contains("exp_alerts:\n"));
        }
        assert!(
            with_alerts > 2,
            "only {with_alerts} platforms with expected alerts"
        );
    }
}
