//! Prometheus rules and Grafana dashboards: every PromQL expression parses, dashboards
//! validate against Grafana's schemas, and the numbers in them are the configured ones.

mod common;
#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::collections::{BTreeMap, BTreeSet};

use berrys::Compiled;
use berrys::model::Replicas;
use berrys::render::grafana::{self, Dashboard};
use berrys::render::prometheus::{self, Rule, RuleGroup};
use berrys::render::promql::{Matcher, selector};
use serde_json::Value;

fn groups(c: &Compiled) -> Vec<RuleGroup> {
    prometheus::rule_groups(c).expect("rules render")
}

fn rules(c: &Compiled) -> Vec<Rule> {
    groups(c).into_iter().flat_map(|g| g.rules).collect()
}

fn dashboards(c: &Compiled) -> Vec<Dashboard> {
    grafana::dashboards(c).expect("dashboards render")
}

fn parse(expr: &str, context: &str) -> promql_parser::parser::Expr {
    // Grafana substitutes its range variable before the query reaches Prometheus.
    let expr = expr.replace("$__rate_interval", "5m");
    promql_parser::parser::parse(&expr)
        .unwrap_or_else(|e| panic!("{context}: does not parse: {e}\n{expr}"))
}

fn targets(d: &Dashboard) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in d.json["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                t["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_emitted_expression_parses_as_promql() {
    let mut count = 0;
    for (name, c) in common::all_compiled() {
        for rule in rules(&c) {
            let what = rule.record.clone().or(rule.alert.clone()).unwrap();
            parse(&rule.expr, &format!("{name}: rule {what}"));
            count += 1;
        }
        for d in dashboards(&c) {
            for (panel, expr) in targets(&d) {
                parse(&expr, &format!("{name}: {} panel {panel}", d.path));
                count += 1;
            }
        }
        for rule in prometheus::adapter::adapter_rules(&c.platform) {
            parse(&rule.series_query, &format!("{name}: adapter rule"));
            count += 1;
        }
    }
    assert!(count > 1000, "only {count} expressions were checked");
}

#[test]
fn label_values_cannot_escape_their_string() {
    for hostile in [
        r#"x"} or vector(1) #"#,
        r#"a\"b"#,
        "line\nbreak",
        r#"\"#,
        "}{",
    ] {
        let text = selector("m", vec![Matcher::eq("service", hostile)]).to_string();
        let promql_parser::parser::Expr::VectorSelector(vs) = parse(&text, hostile) else {
            panic!("{hostile:?} did not stay a selector: {text}");
        };
        assert_eq!(vs.name.as_deref(), Some("m"));
        let matchers = &vs.matchers.matchers;
        assert_eq!(matchers.len(), 1, "{text}");
        assert_eq!(matchers[0].name, "service");
        assert_eq!(matchers[0].value, hostile);
    }
}

#[test]
fn numbers_in_expressions_are_printed_exactly() {
    for (name, c) in common::all_compiled() {
        for rule in rules(&c) {
            for token in rule
                .expr
                .split(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
            {
                assert!(
                    !token.contains("00000000") && !token.contains("99999999"),
                    "{name}: float noise `{token}` in {}",
                    rule.expr
                );
            }
        }
    }
}

/// The rules of one SLO, by record or alert name.
fn slo_rules<'a>(all: &'a [Rule], id: &str) -> BTreeMap<String, Vec<&'a Rule>> {
    let mut out: BTreeMap<String, Vec<&Rule>> = BTreeMap::new();
    for r in all
        .iter()
        .filter(|r| r.labels.get("sloth_id").map(String::as_str) == Some(id))
    {
        let key = r.record.clone().or(r.alert.clone()).unwrap();
        out.entry(key).or_default().push(r);
    }
    out
}

#[test]
fn every_slo_has_its_recordings_and_both_burn_rate_alerts() {
    for (name, c) in common::all_compiled() {
        let all = rules(&c);
        let slos = berrys::render::slo::slos(&c.platform);
        let mut expected_slos = 0;
        for svc in c.platform.services.values() {
            if let Some(slo) = &svc.slo {
                expected_slos +=
                    usize::from(slo.availability.is_some()) + usize::from(slo.latency.is_some());
            }
        }
        assert_eq!(slos.len(), expected_slos, "{name}");
        for slo in &slos {
            let by_name = slo_rules(&all, &slo.id);
            let period = format!("slo:sli_error:ratio_rate{}", slo.period);
            for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
                let record = format!("slo:sli_error:ratio_rate{window}");
                let r = &by_name.get(&record).unwrap_or_else(|| {
                    panic!("{name}: {} has no {record}", slo.id);
                })[0];
                assert_eq!(r.labels["sloth_window"], window);
                assert_eq!(r.labels["sloth_service"], slo.service);
                assert_eq!(r.labels["sloth_slo"], slo.slo);
            }
            assert!(by_name.contains_key(&period), "{name}: no {period}");
            for meta in [
                "slo:objective:ratio",
                "slo:error_budget:ratio",
                "slo:current_burn_rate:ratio",
                "slo:period_burn_rate:ratio",
                "slo:period_error_budget_remaining:ratio",
            ] {
                assert_eq!(by_name.get(meta).map(Vec::len), Some(1), "{name}: {meta}");
            }
            let budget = slo.budget.to_string();
            assert_eq!(
                by_name["slo:error_budget:ratio"][0].expr,
                format!("vector({budget})")
            );
            for (alert, severity) in [
                ("ErrorBudgetBurnFast", "page"),
                ("ErrorBudgetBurnSlow", "ticket"),
            ] {
                let a = &by_name[alert][0];
                assert_eq!(a.labels["severity"], severity);
                assert_eq!(a.labels["service"], slo.service);
                assert!(a.annotations.contains_key("summary"));
                assert!(a.annotations["description"].contains(&slo.service));
            }
            // The SLI of the period is a ratio of counts over the whole period, not an
            // average of short ratios.
            let period_expr = &by_name[&period][0].expr;
            assert!(
                period_expr.contains(&format!("[{}]", slo.period)),
                "{period_expr}"
            );
            assert!(!period_expr.contains("avg_over_time"), "{period_expr}");
        }
    }
}

#[test]
fn reference_thresholds_follow_the_30_day_factors() {
    let source = common::reference();
    let c = common::compile_env(&source, None);
    let all = rules(&c);
    // agent-orchestrator: 99.95% available over 30 days, a budget of 0.0005.
    let page = &slo_rules(&all, "agent-orchestrator-availability")["ErrorBudgetBurnFast"][0].expr;
    assert!(
        page.contains("ratio_rate5m{") && page.contains("> 0.0072)"),
        "{page}"
    );
    assert!(
        page.contains("ratio_rate6h{") && page.contains("> 0.003)"),
        "{page}"
    );
    let ticket = &slo_rules(&all, "agent-orchestrator-availability")["ErrorBudgetBurnSlow"][0].expr;
    assert!(
        ticket.contains("> 0.0015)") && ticket.contains("> 0.0005)"),
        "{ticket}"
    );

    let source = common::reference_28d();
    let c = common::compile_env(&source, None);
    let all = rules(&c);
    let page = &slo_rules(&all, "agent-orchestrator-availability")["ErrorBudgetBurnFast"][0].expr;
    assert!(
        page.contains("> 0.00672)") && page.contains("> 0.0028)"),
        "{page}"
    );
    let ticket = &slo_rules(&all, "agent-orchestrator-availability")["ErrorBudgetBurnSlow"][0].expr;
    assert!(
        ticket.contains("> 0.0014)") && ticket.contains("> 0.000466666666666667)"),
        "{ticket}"
    );
    assert!(
        slo_rules(&all, "agent-orchestrator-availability")
            .contains_key("slo:sli_error:ratio_rate4w")
    );
}

#[test]
fn operational_alerts_follow_the_configuration() {
    for (name, c) in common::all_compiled() {
        let p = &c.platform;
        let groups = groups(&c);
        for svc in p.services.values() {
            let s = svc.name.get_ref();
            let group = groups
                .iter()
                .find(|g| g.name == format!("berrys-{s}-operational"))
                .unwrap_or_else(|| panic!("{name}: no operational group for {s}"));
            let alerts: Vec<&str> = group
                .rules
                .iter()
                .filter_map(|r| r.alert.as_deref())
                .collect();
            for always in ["TargetDown", "High5xxRatio", "PodCrashLooping"] {
                assert!(alerts.contains(&always), "{name}: {s} lacks {always}");
            }
            assert_eq!(
                alerts.contains(&"HPAMaxedOut"),
                matches!(svc.replicas, Replicas::Auto(_)),
                "{name}: {s}"
            );
            assert_eq!(
                alerts.contains(&"RateLimitRejections"),
                svc.rate_limit.is_some(),
                "{name}: {s}"
            );
            for (ds, profile) in &svc.datastores {
                let max = *p.pools[profile.get_ref()].max.get_ref();
                let rule = group
                    .rules
                    .iter()
                    .find(|r| {
                        r.alert.as_deref() == Some("PoolSaturation")
                            && r.labels.get("datastore") == Some(ds.get_ref())
                    })
                    .unwrap_or_else(|| panic!("{name}: {s} has no pool alert for {ds:?}"));
                let threshold = berrys::render::promql::Ratio::new(i128::from(max) * 9, 10);
                assert!(
                    rule.expr.ends_with(&format!("> {threshold}")),
                    "{name}: {}",
                    rule.expr
                );
                assert!(rule.expr.contains(&p.observability.pool_metric));
                assert!(
                    rule.annotations["description"].contains(&format!("max {max} connections"))
                );
            }
            if let Some(tier) = &svc.rate_limit {
                let rl = &p.rate_limits[tier.get_ref()];
                let rule = group
                    .rules
                    .iter()
                    .find(|r| r.alert.as_deref() == Some("RateLimitRejections"))
                    .unwrap();
                assert!(
                    rule.annotations["description"]
                        .contains(&format!("{} requests per", rl.requests)),
                    "{:?}",
                    rule.annotations
                );
            }
            for r in group.rules.iter() {
                assert!(["page", "ticket"].contains(&r.labels["severity"].as_str()));
                assert_eq!(&r.labels["service"], s);
                assert!(r.annotations.contains_key("summary"));
                assert!(r.annotations.contains_key("description"));
                match &p.observability.runbook_url {
                    Some(t) => assert_eq!(
                        r.annotations["runbook_url"],
                        t.replace("{service}", s)
                            .replace("{alert}", r.alert.as_deref().unwrap())
                    ),
                    None => assert!(!r.annotations.contains_key("runbook_url")),
                }
            }
        }
    }
}

#[test]
fn metric_and_label_names_come_from_observability() {
    let source = common::load(&common::root().join("tests/fixtures/valid/everything.toml"));
    let c = common::compile_env(&source, None);
    let o = &c.platform.observability;
    assert_ne!(o.requests_metric, "http_requests_total");
    let mut exprs: Vec<String> = rules(&c).into_iter().map(|r| r.expr).collect();
    for d in dashboards(&c) {
        exprs.extend(targets(&d).into_iter().map(|(_, e)| e));
    }
    let joined = exprs.join("\n");
    for default in [
        "http_requests_total",
        "http_request_duration_seconds",
        "code=~",
    ] {
        assert!(!joined.contains(default), "default `{default}` used");
    }
    for configured in [
        o.requests_metric.as_str(),
        &format!("{}_bucket", o.latency_metric),
        &format!("{}=\"front\"", o.service_label),
        &format!("{}=~\"5..\"", o.code_label),
        o.pool_metric.as_str(),
        &format!("{}=\"cache-db\"", o.datastore_label),
    ] {
        assert!(joined.contains(configured), "`{configured}` unused");
    }
}

#[test]
fn prometheus_rule_has_the_rule_files_groups() {
    let source = common::reference();
    let c = common::compile_env(&source, None);
    let files = berrys::render::render(&c).unwrap();
    let file = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} not rendered"))
            .contents
            .clone()
    };
    let plain = file("prometheus/rules.yaml");
    let cr = file("prometheus/prometheusrule.yaml");
    let spec = cr.split_once("\nspec:\n").expect("a spec").1;
    let dedented: String = spec
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plain.contains("groups:"));
    assert_eq!(
        plain.trim_start_matches("---\n").trim_end(),
        dedented.trim_end()
    );
}

#[test]
fn adapter_exposes_every_hpa_metric_under_its_own_name() {
    for (name, c) in common::all_compiled() {
        let exposed: BTreeSet<String> = prometheus::adapter::adapter_rules(&c.platform)
            .into_iter()
            .map(|r| {
                assert_eq!(r.name.matches, format!("^{}$", r.name.as_));
                r.name.as_
            })
            .collect();
        let used: BTreeSet<String> = c
            .platform
            .services
            .values()
            .flat_map(|s| s.metrics.iter().map(|m| m.name.clone()))
            .collect();
        assert_eq!(exposed, used, "{name}");
    }
}

// ---- dashboards ------------------------------------------------------------------------

fn schema(file: &str, definition: Option<&str>) -> jsonschema::Validator {
    let path = common::root().join("tests/schemas").join(file);
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(d) = definition {
        schema["$ref"] = Value::String(format!("#/definitions/{d}"));
    }
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

#[test]
fn dashboards_validate_against_grafanas_schemas() {
    let dashboard = schema("grafana-dashboard.jsonschema.json", None);
    let options = |t: &str| schema(&format!("grafana-{t}.jsonschema.json"), Some("Options"));
    let custom = |t: &str| schema(&format!("grafana-{t}.jsonschema.json"), Some("FieldConfig"));
    // Stat panels have no custom field config.
    let panel_schemas: BTreeMap<&str, _> = [("timeseries", true), ("table", true), ("stat", false)]
        .into_iter()
        .map(|(t, has_custom)| (t, (options(t), has_custom.then(|| custom(t)))))
        .collect();
    let mut checked = 0;
    for (name, c) in common::all_compiled() {
        for d in dashboards(&c) {
            let what = format!("{name}: {}", d.path);
            assert_valid(&dashboard, &d.json, &what);
            for panel in d.json["panels"].as_array().unwrap() {
                let kind = panel["type"].as_str().unwrap();
                if kind == "row" {
                    continue;
                }
                let (options, custom) = panel_schemas
                    .get(kind)
                    .unwrap_or_else(|| panic!("{what}: no schema for panel type {kind}"));
                let title = panel["title"].as_str().unwrap();
                assert_valid(
                    options,
                    &panel["options"],
                    &format!("{what}: {title} options"),
                );
                let field_custom = &panel["fieldConfig"]["defaults"]["custom"];
                match custom {
                    Some(custom) => assert_valid(
                        custom,
                        field_custom,
                        &format!("{what}: {title} fieldConfig.custom"),
                    ),
                    None => assert!(field_custom.is_null(), "{what}: {title}"),
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} dashboards");
}

#[test]
fn schema_check_catches_a_broken_dashboard() {
    let dashboard = schema("grafana-dashboard.jsonschema.json", None);
    let source = common::reference();
    let c = common::compile_env(&source, None);
    let mut d = dashboards(&c).remove(0).json;
    d["panels"][1]["gridPos"]["w"] = Value::from(30);
    assert!(!dashboard.is_valid(&d));
}

#[test]
fn dashboard_ids_uids_and_links_are_consistent() {
    for (name, c) in common::all_compiled() {
        let ds = dashboards(&c);
        let uids: BTreeSet<&str> = ds.iter().map(|d| d.uid.as_str()).collect();
        assert_eq!(uids.len(), ds.len(), "{name}: duplicate uid");
        for d in &ds {
            let what = format!("{name}: {}", d.path);
            assert_eq!(d.json["uid"], d.uid.as_str());
            assert!(d.uid.len() <= 40, "{what}: uid {}", d.uid);
            assert!(
                d.uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{what}: uid {}",
                d.uid
            );
            let mut ids = BTreeSet::new();
            for panel in d.json["panels"].as_array().unwrap() {
                assert!(
                    ids.insert(panel["id"].as_u64().unwrap()),
                    "{what}: panel id"
                );
                let g = &panel["gridPos"];
                assert!(g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24);
            }
            for link in d.json["links"].as_array().unwrap() {
                if let Some(url) = link["url"].as_str() {
                    let target = url.strip_prefix("/d/").expect("a dashboard link");
                    assert!(uids.contains(target), "{what}: link to missing {target}");
                }
            }
        }
        // Each service's dashboard links to the dashboard of every dependency.
        for svc in c.platform.services.values() {
            let d = ds
                .iter()
                .find(|d| d.path == format!("grafana/services/{}.json", svc.name.get_ref()))
                .unwrap();
            let linked: BTreeSet<&str> = d.json["links"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| l["url"].as_str())
                .collect();
            for dep in svc.depends_on.iter().chain(&svc.soft_depends_on) {
                let url = format!("/d/{}", grafana::uid(&c.platform, dep.get_ref()));
                assert!(linked.contains(url.as_str()), "{name}: {dep:?}");
            }
        }
    }
}

fn panel<'a>(d: &'a Dashboard, title: &str) -> &'a Value {
    d.json["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("{}: no panel {title}", d.path))
}

fn steps(panel: &Value) -> Vec<f64> {
    panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["value"].as_f64())
        .collect()
}

#[test]
fn service_dashboards_draw_the_configured_limits() {
    for (name, c) in common::all_compiled() {
        let p = &c.platform;
        let ds = dashboards(&c);
        for svc in p.services.values() {
            let s = svc.name.get_ref();
            let d = ds
                .iter()
                .find(|d| d.path == format!("grafana/services/{s}.json"))
                .unwrap();
            let what = format!("{name}: {s}");
            for title in [
                "Request rate",
                "Error ratio",
                "Latency",
                "Replicas",
                "CPU",
                "Memory",
            ] {
                panel(d, title);
            }
            for (ds_name, profile) in &svc.datastores {
                let max = f64::from(*p.pools[profile.get_ref()].max.get_ref());
                let pool = panel(d, &format!("Pool: {}", ds_name.get_ref()));
                assert_eq!(steps(pool), [max], "{what}");
            }
            let r = svc.resources.get_ref();
            let mut cpu: Vec<f64> = [&r.cpu, &r.cpu_limit]
                .into_iter()
                .flatten()
                .map(|q| q.get_ref().value)
                .collect();
            cpu.sort_by(f64::total_cmp);
            assert_eq!(steps(panel(d, "CPU")), cpu, "{what}");
            match &svc.rate_limit {
                Some(tier) => {
                    let rl = &p.rate_limits[tier.get_ref()];
                    let per_second = rl.requests as f64 / rl.window.as_secs_f64();
                    let got = steps(panel(d, "Rate limit"))[0];
                    assert!(
                        (got - per_second).abs() < 1e-9,
                        "{what}: {got} vs {per_second}"
                    );
                }
                None => assert!(
                    d.json["panels"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|p| p["title"] != "Rate limit"),
                    "{what}"
                ),
            }
            let latency = svc.slo.as_ref().and_then(|s| s.latency.as_ref());
            assert_eq!(
                steps(panel(d, "Latency")),
                latency
                    .map(|l| vec![l.threshold.get_ref().as_secs_f64()])
                    .unwrap_or_default(),
                "{what}"
            );
            let availability = svc.slo.as_ref().and_then(|s| s.availability.as_ref());
            let errors = steps(panel(d, "Error ratio"));
            match availability {
                Some(a) => {
                    let budget = (100.0 - a.get_ref()) / 100.0;
                    assert!((errors[0] - budget).abs() < 1e-12, "{what}: {errors:?}");
                }
                None => assert!(errors.is_empty(), "{what}"),
            }
        }
    }
}

#[test]
fn overviews_cover_every_slo_and_every_layer() {
    for (name, c) in common::all_compiled() {
        let ds = dashboards(&c);
        let overview = ds
            .iter()
            .find(|d| d.path == "grafana/platform-overview.json")
            .unwrap();
        let layers: BTreeSet<&str> = c
            .platform
            .services
            .values()
            .map(|s| s.layer.as_str())
            .collect();
        for layer in &layers {
            panel(overview, &format!("Layer: {layer}"));
            let rate = panel(overview, &format!("{layer}: request rate"));
            let expr = rate["targets"][0]["expr"].as_str().unwrap();
            for svc in c.platform.services.values().filter(|s| &s.layer == layer) {
                assert!(expr.contains(svc.name.get_ref().as_str()), "{name}: {expr}");
            }
        }
        let slos = berrys::render::slo::slos(&c.platform);
        let slo = ds.iter().find(|d| d.path == "grafana/slo-overview.json");
        assert_eq!(slo.is_some(), !slos.is_empty(), "{name}");
        if let Some(slo) = slo {
            let table = panel(slo, "SLOs");
            let expr = table["targets"][0]["expr"].as_str().unwrap();
            for s in &slos {
                assert!(expr.contains(&s.service), "{name}: {expr}");
            }
        }
    }
}

/// Service dashboards are filled into skeletons rendered once per shape; every one must be
/// byte-for-byte what a template run of its own prints, on every platform we have and on a
/// generated one with many shapes (pools, rate limits, SLO kinds, fixed replicas).
#[test]
fn service_dashboards_from_skeletons_equal_their_own_template_runs() {
    let platforms = common::all_compiled_and_generated(synthetic::platform(300, 7));
    let mut compared = 0;
    for (name, c) in &platforms {
        let renderer = grafana::Renderer::new(c).unwrap();
        for service in c.platform.services.values() {
            renderer.service_file(service).unwrap();
        }
        // One template run per shape, not one per service; the number of dependency links
        // is not part of the shape.
        let runs = renderer.template_runs();
        if name.starts_with("generated") {
            assert!(runs < 15, "{name}: {runs} template runs for 300 services");
        }
        for service in c.platform.services.values() {
            let fast = renderer.service_file(service).unwrap();
            let slow = renderer.service_by_template(service).unwrap();
            assert_eq!(fast.path, slow.path);
            assert_eq!(
                fast.contents,
                slow.text().unwrap(),
                "{name}: {} differs from its template run",
                fast.path
            );
            compared += 1;
        }
    }
    assert!(compared > 900, "only {compared} dashboards compared");
}

/// A `rate` metric is a counter: the adapter exposes its per-second rate under the name the
/// HPA asks for; a gauge is exposed as it is.
#[test]
fn a_rate_metric_is_exposed_as_the_counters_rate_under_its_own_name() {
    let fixtures = common::root().join("tests/fixtures/lint");
    let adapter = |fixture: &str| {
        let c = common::compile_env(&common::load(&fixtures.join(fixture)), None);
        let files = berrys::render::render(&c).unwrap();
        let f = files
            .iter()
            .find(|f| f.path == "prometheus/adapter-config.yaml")
            .unwrap();
        f.contents.clone()
    };
    let rate = adapter("br024-hpa-metric-is-counter.passes.toml");
    assert!(
        rate.contains("sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"),
        "{rate}"
    );
    assert!(rate.contains("as: http_requests_total"), "{rate}");
    let gauge = adapter("br024-hpa-metric-is-counter.fires.toml");
    assert!(gauge.contains("sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"));
    assert!(!gauge.contains("rate("));
}
