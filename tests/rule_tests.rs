//! The generated `prometheus/rules.test.yaml`, run by the real promtool against the
//! generated rules: it passes as rendered, and fails when a rule it covers is broken — the
//! ServiceDown alert that fires on one target of two, waits longer than 2 minutes or stays
//! silent when no target is left, and a burn-rate page that lost its threshold.
//!
//! promtool ships with Prometheus; CI installs it and sets `BERRYS_REQUIRE_PROMTOOL=1`, so
//! there a missing promtool fails instead of skipping.

mod common;

use std::process::Command;

fn promtool_available() -> bool {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("BERRYS_REQUIRE_PROMTOOL").is_none(),
            "promtool is required here (BERRYS_REQUIRE_PROMTOOL is set)"
        );
        eprintln!("promtool not found: the rule tests are not run");
    }
    found
}

/// The rules of `source` in environment `env` (`None`: the file as written) and their
/// generated tests.
fn rules_and_tests(source: &berrys::source::SourceFile, env: Option<&str>) -> (String, String) {
    let files = berrys::render::render(&common::compile_env(source, env)).unwrap();
    let get = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .contents
            .clone()
    };
    (
        get("prometheus/rules.yaml"),
        get("prometheus/rules.test.yaml"),
    )
}

/// The fixture's rules and their generated tests.
fn rendered() -> (String, String) {
    let source = common::load(&common::root().join("tests/fixtures/valid/alerting.toml"));
    rules_and_tests(&source, None)
}

/// `promtool test rules FILE` in `dir`: its success and output.
fn promtool_test(dir: &std::path::Path, file: &str) -> (bool, String) {
    let out = Command::new("promtool")
        .args(["test", "rules", file])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `promtool test rules` on `tests` against `rules`: its success and output.
fn promtool(rules: &str, tests: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
    std::fs::write(dir.path().join("rules.test.yaml"), tests).unwrap();
    promtool_test(dir.path(), "rules.test.yaml")
}

/// `rules` with every `from` replaced by `to` in the rule of `alert` of `service` only.
fn break_rule(rules: &str, alert: &str, service: &str, from: &str, to: &str) -> String {
    break_rule_labelled(rules, alert, &format!("service: {service}\n"), from, to)
}

/// `rules` with every `from` replaced by `to` in the first rule of `alert` whose text holds
/// `marker` (a label line such as `datastore: postgres`).
fn break_rule_labelled(rules: &str, alert: &str, marker: &str, from: &str, to: &str) -> String {
    let extent = |i: usize| {
        let rule = &rules[i..];
        let end = ["\n  - alert: ", "\n  - record: ", "\n- name: "]
            .iter()
            .filter_map(|m| rule.find(m))
            .min()
            .unwrap_or(rule.len());
        i..i + end
    };
    let rule = rules
        .match_indices(&format!("- alert: {alert}\n"))
        .map(|(i, _)| extent(i))
        .find(|r| rules[r.clone()].contains(marker))
        .unwrap_or_else(|| panic!("no {alert} with {marker}"));
    let text = &rules[rule.clone()];
    assert!(text.contains(from), "no `{from}` in {alert} with {marker}");
    format!(
        "{}{}{}",
        &rules[..rule.start],
        text.replace(from, to),
        &rules[rule.end..]
    )
}

#[test]
fn the_generated_rule_tests_pass() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    assert!(
        tests.contains("alertname: ServiceDown"),
        "no ServiceDown tests"
    );
    let (ok, text) = promtool(&rules, &tests);
    assert!(ok, "{text}");
}

#[test]
fn service_down_on_one_target_of_two_fails_the_tests() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    let broken = break_rule(&rules, "ServiceDown", "api-gateway", "max by", "min by");
    let (ok, text) = promtool(&broken, &tests);
    assert!(
        !ok,
        "a ServiceDown firing on one target down passed:\n{text}"
    );
    assert!(text.contains("ServiceDown"), "{text}");
}

#[test]
fn service_down_silent_without_targets_fails_the_tests() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    // `unless` keeps the every-target-down branch and drops the no-target one.
    let broken = break_rule(
        &rules,
        "ServiceDown",
        "api-gateway",
        "\n      or\n",
        "\n      unless\n",
    );
    let (ok, text) = promtool(&broken, &tests);
    assert!(!ok, "a ServiceDown silent without targets passed:\n{text}");
    assert!(text.contains("alertname: ServiceDown, time: 3m"), "{text}");
}

#[test]
fn service_down_waiting_too_long_fails_the_tests() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    let broken = break_rule(
        &rules,
        "ServiceDown",
        "web-dashboard",
        "for: 2m",
        "for: 10m",
    );
    let (ok, text) = promtool(&broken, &tests);
    assert!(!ok, "a ServiceDown that waits 10 minutes passed:\n{text}");
}

#[test]
fn a_page_without_its_threshold_fails_the_tests() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    // Any error at all pages: errors at exactly the budget must not.
    let broken = break_rule(
        &rules,
        "ErrorBudgetBurnFast",
        "api-gateway",
        " > 0.072)",
        " > 0)",
    );
    let broken = break_rule(
        &broken,
        "ErrorBudgetBurnFast",
        "api-gateway",
        " > 0.03)",
        " > 0)",
    );
    let (ok, text) = promtool(&broken, &tests);
    assert!(
        !ok,
        "a page without its burn-rate threshold passed:\n{text}"
    );
}

#[test]
fn the_capacity_alerts_are_tested() {
    let (_, tests) = rendered();
    for alert in ["NamespaceQuotaHigh", "DatastoreConnectionsHigh"] {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no test of {alert}"
        );
    }
}

#[test]
fn a_quota_alert_that_misses_90_percent_fails_the_tests() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    let broken = break_rule_labelled(
        &rules,
        "NamespaceQuotaHigh",
        "resource: requests.memory\n",
        "> 0.8",
        "> 0.95",
    );
    let (ok, text) = promtool(&broken, &tests);
    assert!(!ok, "a quota alert silent at 90 % passed:\n{text}");
    assert!(text.contains("NamespaceQuotaHigh"), "{text}");
}

#[test]
fn a_connections_alert_that_fires_at_half_fails_the_tests() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = rendered();
    // 80 % of postgres' 990 usable connections is 792; 400 is below its half.
    let broken = break_rule_labelled(
        &rules,
        "DatastoreConnectionsHigh",
        "datastore: postgres\n",
        "> 792",
        "> 400",
    );
    let (ok, text) = promtool(&broken, &tests);
    assert!(!ok, "a connections alert firing at 50 % passed:\n{text}");
    assert!(text.contains("DatastoreConnectionsHigh"), "{text}");
}

/// The reference's rules for production (namespace `berrys`) and for a staging environment
/// in `berrys-staging`, both loaded into one promtool run: staging's api-gateway answers
/// every request with a 500, production has no traffic at all. Only staging's alerts fire,
/// and every recorded SLO series exists once per environment (none written by both).
fn two_environments_test(staging_rules: &str, production_rules: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("staging.yaml"), staging_rules).unwrap();
    std::fs::write(dir.path().join("production.yaml"), production_rules).unwrap();
    let slos = production_rules
        .matches("- record: slo:objective:ratio\n")
        .count();
    assert!(slos >= 5, "the reference has SLOs to record");
    let test = format!(
        r#"rule_files: [staging.yaml, production.yaml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'http_requests_total{{namespace="berrys-staging", service="api-gateway", code="500"}}'
    values: 0+600x60
  promql_expr_test:
  - expr: count by (namespace, alertname) (ALERTS{{alertstate="firing", alertname=~"ErrorBudgetBurn.*|High5xxRatio"}})
    eval_time: 40m
    exp_samples:
    - labels: '{{alertname="ErrorBudgetBurnFast", namespace="berrys-staging"}}'
      value: 1
    - labels: '{{alertname="ErrorBudgetBurnSlow", namespace="berrys-staging"}}'
      value: 1
    - labels: '{{alertname="High5xxRatio", namespace="berrys-staging"}}'
      value: 1
  - expr: count by (namespace) (slo:objective:ratio)
    eval_time: 1m
    exp_samples:
    - labels: '{{namespace="berrys"}}'
      value: {slos}
    - labels: '{{namespace="berrys-staging"}}'
      value: {slos}
  - expr: count by (namespace) (slo:sli_error:ratio_rate5m)
    eval_time: 10m
    exp_samples:
    - labels: '{{namespace="berrys-staging"}}'
      value: 1
"#
    );
    std::fs::write(dir.path().join("two.test.yaml"), test).unwrap();
    promtool_test(dir.path(), "two.test.yaml")
}

/// The reference with a staging environment in a namespace of its own: its rules and
/// production's.
fn staging_and_production_rules() -> (String, String) {
    let reference = common::reference();
    let text = format!(
        "{}\n[environments.staging]\nnamespace = \"berrys-staging\"\n",
        reference.text
    );
    let source = berrys::source::SourceFile::new("platform.toml", text);
    let rules = |env| rules_and_tests(&source, Some(env)).0;
    (rules("staging"), rules("production"))
}

#[test]
fn two_environments_in_one_prometheus_never_page_each_other() {
    if !promtool_available() {
        return;
    }
    let (staging, production) = staging_and_production_rules();
    let (ok, text) = two_environments_test(&staging, &production);
    assert!(ok, "{text}");
}

#[test]
fn rules_that_select_by_service_alone_fail_the_isolation_test() {
    if !promtool_available() {
        return;
    }
    let (staging, production) = staging_and_production_rules();
    // Production's queries as they were: any namespace's traffic.
    let broken = production.replace("namespace=\"berrys\", service=", "service=");
    assert_ne!(broken, production);
    let (ok, text) = two_environments_test(&staging, &broken);
    assert!(
        !ok,
        "production's rules read staging's traffic and passed:\n{text}"
    );
    assert!(text.contains("High5xxRatio"), "{text}");
}

/// The reference's rules and generated tests with `from` replaced by `to` in its text.
fn reference_variant(from: &str, to: &str) -> (String, String) {
    let reference = common::reference();
    assert!(reference.text.contains(from), "the reference has {from}");
    let source =
        berrys::source::SourceFile::new("platform.toml", reference.text.replacen(from, to, 1));
    rules_and_tests(&source, None)
}

/// An objective whose page conditions need more than every request to fail (80 %: the 6h
/// page would need 120 %) never pages; its tests expect no page, and pass.
#[test]
fn an_objective_that_cannot_page_is_not_expected_to() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = reference_variant("availability = 99.5,", "availability = 80,");
    let (ok, text) = promtool(&rules, &tests);
    assert!(ok, "{text}");
    assert!(
        !tests.contains("sloth_id: api-gateway-availability"),
        "a page of api-gateway's availability is expected"
    );
}

/// Over the shortest window berrys accepts, 7 days, the 6h page fires at 1.4 times the burn
/// rate that spends the budget: errors at the budget never page, an outage does. (Over 5
/// days it fires at exactly that rate, and the latency SLO's float ratios page at 6h.)
#[test]
fn the_shortest_slo_window_pages_only_above_the_budget() {
    if !promtool_available() {
        return;
    }
    let (rules, tests) = reference_variant(
        "slo = { availability = 99.5,",
        "slo = { window = \"7d\", availability = 99.5,",
    );
    assert!(rules.contains("sloth_window: 1w"), "the window is 7 days");
    let (ok, text) = promtool(&rules, &tests);
    assert!(ok, "{text}");
}
