//! Alert routing, proven by the real tools: every rendered `alertmanager.yaml` passes
//! `amtool check-config`; every case of `routing-tests.yaml` reaches its receiver through
//! `amtool config routes test`, and a broken route makes a case fail; and a real
//! Alertmanager, started on 127.0.0.1, inhibits the dependents' pages while a dependency
//! is down, and not the cause, an unrelated service or a soft dependent.
//!
//! amtool and Alertmanager ship in Debian's `prometheus-alertmanager`; CI installs it and
//! sets `BERRYS_REQUIRE_ALERTMANAGER=1`, so there a missing tool fails instead of skipping.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const FIXTURE: &str = "tests/fixtures/valid/alerting.toml";

fn available(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("BERRYS_REQUIRE_ALERTMANAGER").is_none(),
            "{tool} is required here (BERRYS_REQUIRE_ALERTMANAGER is set)"
        );
        eprintln!("{tool} not found: the alert routing tests are not run");
    }
    found
}

/// The rendered files of every environment of `path`, by environment.
fn rendered(path: &Path) -> Vec<(String, Vec<berrys::output::OutputFile>)> {
    let source = common::load(path);
    berrys::compile(&source, berrys::Envs::All)
        .unwrap()
        .iter()
        .map(|c| (c.platform.env.clone(), berrys::render::render(c).unwrap()))
        .collect()
}

fn file<'a>(files: &'a [berrys::output::OutputFile], path: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.contents.as_str())
}

/// Every valid fixture with `[alerting]`, rendered: (origin, alertmanager.yaml, routing tests).
fn alerting_outputs() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(common::root().join("tests/fixtures/valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        for (env, files) in rendered(&path) {
            let Some(config) = file(&files, "alertmanager/alertmanager.yaml") else {
                continue;
            };
            let tests = file(&files, "alertmanager/routing-tests.yaml")
                .expect("routing tests beside the configuration");
            out.push((
                format!("{} --env {env}", path.display()),
                config.to_string(),
                tests.to_string(),
            ));
        }
    }
    assert!(!out.is_empty(), "no valid fixture has [alerting]");
    out
}

fn amtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("amtool").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs every case of `tests` through `amtool config routes test` against `config`;
/// the cases that failed, with amtool's words.
fn failing_cases(dir: &Path, config: &str, tests: &str) -> (usize, Vec<String>) {
    let config_path = dir.join("alertmanager.yaml");
    std::fs::write(&config_path, config).unwrap();
    let tests: Value = serde_saphyr::from_str(tests).unwrap();
    let cases = tests["tests"].as_array().expect("a list of tests");
    let mut failed = Vec::new();
    for case in cases {
        let receiver = case["receiver"].as_str().unwrap();
        let labels: Vec<String> = case["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        let mut args = vec![
            "config".to_string(),
            "routes".to_string(),
            "test".to_string(),
            format!("--config.file={}", config_path.display()),
            format!("--verify.receivers={receiver}"),
        ];
        args.extend(labels);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = amtool(&args);
        if !ok {
            failed.push(format!(
                "{} {}: expected {receiver}, amtool: {}",
                case["service"].as_str().unwrap(),
                case["severity"].as_str().unwrap(),
                text.trim()
            ));
        }
    }
    (cases.len(), failed)
}

#[test]
fn every_rendered_configuration_passes_amtool_check_config() {
    if !available("amtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (origin, config, _) in alerting_outputs() {
        let path = dir.path().join("alertmanager.yaml");
        std::fs::write(&path, &config).unwrap();
        let (ok, text) = amtool(&["check-config", path.to_str().unwrap()]);
        assert!(ok, "{origin}: amtool check-config failed:\n{text}");
        assert!(text.contains("SUCCESS"), "{origin}: {text}");
    }
}

#[test]
fn every_routing_test_reaches_its_receiver() {
    if !available("amtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (origin, config, tests) in alerting_outputs() {
        let (cases, failed) = failing_cases(dir.path(), &config, &tests);
        assert!(cases >= 3, "{origin}: {cases} routing tests");
        assert!(failed.is_empty(), "{origin}:\n{}", failed.join("\n"));
    }
}

/// An environment's own `[alerting]` routes its alerts: local sends the platform's pages to
/// the ticket webhook, the team keeps its own page route, and every other environment still
/// pages on call; amtool agrees with the routing tests of each, and nothing is unused.
#[test]
fn an_environment_routes_its_own_pages() {
    let text = format!(
        "{}\n[environments.local.alerting.routes]\npage = \"tickets\"\n",
        std::fs::read_to_string(common::root().join(FIXTURE)).unwrap()
    );
    let source = berrys::source::SourceFile::new("platform.toml", &text);
    let linted = berrys::check(&source, berrys::Envs::All, "2026-11-22").unwrap();
    assert!(linted.findings.is_empty(), "{:?}", linted.findings);
    let local_only =
        berrys::check(&source, berrys::Envs::One(Some("local")), "2026-11-22").unwrap();
    assert!(local_only.findings.is_empty(), "{:?}", local_only.findings);
    let dir = tempfile::tempdir().unwrap();
    for compiled in &linted.compiled {
        let env = compiled.platform.env.as_str();
        let files = berrys::render::render(compiled).unwrap();
        let tests = file(&files, "alertmanager/routing-tests.yaml").unwrap();
        let cases: Value = serde_saphyr::from_str(tests).unwrap();
        let page_of = |service: &str| {
            cases["tests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["service"] == service && c["severity"] == "page")
                .map(|c| c["receiver"].as_str().unwrap().to_string())
                .unwrap()
        };
        let expected = if env == "local" { "tickets" } else { "oncall" };
        assert_eq!(page_of("api-gateway"), expected, "{env}");
        assert_eq!(page_of("agent-orchestrator"), "agents-oncall", "{env}");
        if available("amtool") {
            let config = file(&files, "alertmanager/alertmanager.yaml").unwrap();
            let (_, failed) = failing_cases(dir.path(), config, tests);
            assert!(failed.is_empty(), "{env}:\n{}", failed.join("\n"));
        }
    }
}

/// The routing tests can fail: with the team's page route sent elsewhere, the team's
/// page cases fail and only those.
#[test]
fn a_broken_route_fails_the_routing_tests() {
    if !available("amtool") {
        return;
    }
    let files = &rendered(&common::root().join(FIXTURE))[0].1;
    let config = file(files, "alertmanager/alertmanager.yaml").unwrap();
    let tests = file(files, "alertmanager/routing-tests.yaml").unwrap();
    let broken = config.replacen("receiver: agents-oncall", "receiver: oncall", 1);
    assert_ne!(broken, config, "the fixture's team pages its own receiver");
    let dir = tempfile::tempdir().unwrap();
    let (_, failed) = failing_cases(dir.path(), &broken, tests);
    assert_eq!(failed.len(), 2, "{failed:#?}");
    for f in &failed {
        assert!(f.contains(" page: expected agents-oncall"), "{f}");
    }
    // And a tree without its severity routes sends pages to the ticket receiver.
    let start = config
        .find("  - matchers:\n    - severity=~\"page|critical\"")
        .unwrap();
    let end = start + config[start..].find("    receiver: oncall\n").unwrap() + 21;
    let without_pages = format!("{}{}", &config[..start], &config[end..]);
    let (_, failed) = failing_cases(dir.path(), &without_pages, tests);
    assert!(
        failed.iter().any(|f| f.contains(" page: expected oncall")),
        "{failed:#?}"
    );
}

// ---- a real Alertmanager -------------------------------------------------------------------

/// An Alertmanager on 127.0.0.1 with `config`, killed when dropped.
struct Alertmanager {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Alertmanager {
    fn start(config: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("alertmanager.yaml");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager starts");
        let am = Alertmanager {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while am.http("GET", "/-/ready", "").is_none_or(|(s, _)| s != 200) {
            assert!(Instant::now() < deadline, "Alertmanager did not get ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    /// One HTTP/1.0 request (the server closes the connection and sends no chunks):
    /// status and body, or `None` when nothing listens yet.
    fn http(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    fn post(&self, alerts: &[BTreeMap<String, String>]) {
        let body: Vec<Value> = alerts
            .iter()
            .map(|labels| serde_json::json!({ "labels": labels }))
            .collect();
        let (status, text) = self
            .http("POST", "/api/v2/alerts", &Value::from(body).to_string())
            .expect("Alertmanager answers");
        assert_eq!(status, 200, "posting alerts: {text}");
    }

    /// Alert name and service → whether it is inhibited, once every posted alert is
    /// known and the inhibitions have settled (the inhibitor learns of alerts on its own
    /// schedule).
    fn inhibited(
        &self,
        expected: usize,
        settled: impl Fn(&BTreeMap<String, bool>) -> bool,
    ) -> BTreeMap<String, bool> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = self.http("GET", "/api/v2/alerts", "").unwrap();
            let alerts: Vec<Value> = serde_json::from_str(&body).unwrap();
            let state: BTreeMap<String, bool> = alerts
                .iter()
                .map(|a| {
                    let labels = &a["labels"];
                    let key = format!(
                        "{} {} {}",
                        labels["alertname"].as_str().unwrap(),
                        labels["service"].as_str().unwrap(),
                        labels["sloth_slo"].as_str().unwrap_or("-")
                    );
                    let by = a["status"]["inhibitedBy"].as_array().map_or(0, Vec::len);
                    (key, by > 0)
                })
                .collect();
            if (state.len() == expected && settled(&state)) || Instant::now() > deadline {
                return state;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The labels of the fixture's alert `alert` of `service` (its first, or the one of the
/// SLO `slo`), with `alertname`: as Prometheus would send it.
fn alert(
    groups: &[berrys::render::prometheus::RuleGroup],
    alert: &str,
    service: &str,
    slo: Option<&str>,
) -> BTreeMap<String, String> {
    let rule = groups
        .iter()
        .flat_map(|g| &g.rules)
        .find(|r| {
            r.alert.as_deref() == Some(alert)
                && r.labels.get("service").map(String::as_str) == Some(service)
                && slo.is_none_or(|s| r.labels.get("sloth_slo").map(String::as_str) == Some(s))
        })
        .unwrap_or_else(|| panic!("no {alert} for {service}"));
    let mut labels = rule.labels.clone();
    labels.insert("alertname".to_string(), alert.to_string());
    labels
}

struct Scenario {
    config: String,
    groups: Vec<berrys::render::prometheus::RuleGroup>,
}

fn scenario() -> Option<Scenario> {
    scenario_of(&std::fs::read_to_string(common::root().join(FIXTURE)).unwrap())
}

fn scenario_of(text: &str) -> Option<Scenario> {
    if !available("prometheus-alertmanager") {
        return None;
    }
    let source = berrys::source::SourceFile::new("alerting.toml", text);
    let compiled = common::compile_env(&source, None);
    let files = berrys::render::render(&compiled).unwrap();
    Some(Scenario {
        config: file(&files, "alertmanager/alertmanager.yaml")
            .unwrap()
            .to_string(),
        groups: berrys::render::prometheus::rule_groups(&compiled).unwrap(),
    })
}

/// model-orchestration is down: agent-orchestrator (hard, direct) and api-gateway (hard,
/// through agent-orchestrator) page for nothing of their own and are inhibited; the cause
/// and web-dashboard (unrelated) are not.
#[test]
fn a_dependency_down_inhibits_its_transitive_hard_dependents_only() {
    let Some(s) = scenario() else { return };
    let am = Alertmanager::start(&s.config);
    let fast = berrys::render::prometheus::PAGE_ALERT;
    am.post(&[
        alert(&s.groups, "ServiceDown", "model-orchestration", None),
        alert(&s.groups, fast, "agent-orchestrator", Some("availability")),
        alert(&s.groups, fast, "api-gateway", Some("availability")),
        alert(&s.groups, fast, "web-dashboard", Some("availability")),
        alert(&s.groups, "ServiceDown", "agent-orchestrator", None),
    ]);
    let state = am.inhibited(5, |s| s.values().filter(|i| **i).count() >= 3);
    let expected = BTreeMap::from([
        (format!("{fast} agent-orchestrator availability"), true),
        (format!("{fast} api-gateway availability"), true),
        (format!("{fast} web-dashboard availability"), false),
        ("ServiceDown agent-orchestrator -".to_string(), true),
        ("ServiceDown model-orchestration -".to_string(), false),
    ]);
    assert_eq!(state, expected);
}

/// The inhibition is what silences them: with `inhibit_dependents = false`, the same
/// alerts all notify.
#[test]
fn without_inhibit_dependents_every_page_notifies() {
    let text = std::fs::read_to_string(common::root().join(FIXTURE)).unwrap();
    let off = text.replacen("inhibit_dependents = true", "inhibit_dependents = false", 1);
    assert_ne!(off, text);
    let Some(s) = scenario_of(&off) else { return };
    let am = Alertmanager::start(&s.config);
    let fast = berrys::render::prometheus::PAGE_ALERT;
    am.post(&[
        alert(&s.groups, "ServiceDown", "model-orchestration", None),
        alert(&s.groups, fast, "agent-orchestrator", Some("availability")),
        alert(&s.groups, fast, "api-gateway", Some("availability")),
    ]);
    std::thread::sleep(Duration::from_secs(2));
    let state = am.inhibited(3, |_| true);
    assert_eq!(state.len(), 3, "{state:?}");
    assert!(state.values().all(|i| !i), "{state:?}");
}

/// api-gateway only soft-depends on web-dashboard: web-dashboard down does not silence
/// api-gateway's page.
#[test]
fn a_soft_dependency_down_inhibits_nothing() {
    let Some(s) = scenario() else { return };
    let am = Alertmanager::start(&s.config);
    let fast = berrys::render::prometheus::PAGE_ALERT;
    am.post(&[
        alert(&s.groups, "ServiceDown", "web-dashboard", None),
        alert(&s.groups, fast, "api-gateway", Some("availability")),
    ]);
    // Nothing is to be inhibited: wait the inhibitor a moment before believing it.
    std::thread::sleep(Duration::from_secs(2));
    let state = am.inhibited(2, |_| true);
    assert_eq!(
        state,
        BTreeMap::from([
            (format!("{fast} api-gateway availability"), false),
            ("ServiceDown web-dashboard -".to_string(), false),
        ])
    );
}

/// A page inhibits the ticket of the same SLO, not the ticket of the service's other SLO.
#[test]
fn a_page_inhibits_the_ticket_of_its_own_slo() {
    let Some(s) = scenario() else { return };
    let am = Alertmanager::start(&s.config);
    let (fast, slow) = (
        berrys::render::prometheus::PAGE_ALERT,
        berrys::render::prometheus::TICKET_ALERT,
    );
    am.post(&[
        alert(&s.groups, fast, "agent-orchestrator", Some("availability")),
        alert(&s.groups, slow, "agent-orchestrator", Some("availability")),
        alert(&s.groups, slow, "agent-orchestrator", Some("latency")),
    ]);
    let state = am.inhibited(3, |s| s.values().any(|i| *i));
    assert_eq!(
        state,
        BTreeMap::from([
            (format!("{fast} agent-orchestrator availability"), false),
            (format!("{slow} agent-orchestrator availability"), true),
            (format!("{slow} agent-orchestrator latency"), false),
        ])
    );
}

/// The fixture is the reference with `[alerting]` and two services' `team`: kept so, it
/// follows every change of the reference.
#[test]
fn the_fixture_is_the_reference_with_alerting() {
    let fixture = std::fs::read_to_string(common::root().join(FIXTURE)).unwrap();
    let reference = std::fs::read_to_string(common::root().join("platform.toml")).unwrap();
    let body = |text: &str| -> Vec<String> {
        let text = &text[text.find("[platform]").unwrap()..];
        let mut lines = Vec::new();
        let mut in_alerting = false;
        for line in text.lines() {
            if line.starts_with('[') {
                in_alerting = line.starts_with("[alerting");
            }
            let comment_of_alerting = line.starts_with('#') && in_alerting;
            if in_alerting || comment_of_alerting || line.starts_with("team = ") {
                continue;
            }
            lines.push(line.to_string());
        }
        lines.retain(|l| !l.is_empty());
        lines
    };
    let (f, r) = (body(&fixture), body(&reference));
    // The comment that introduces [alerting] sits before its table, in the table above.
    let f: Vec<String> = f
        .into_iter()
        .filter(|l| !l.starts_with("# Who is told") && !l.starts_with("# agents team pages"))
        .collect();
    assert_eq!(
        f, r,
        "tests/fixtures/valid/alerting.toml drifted from platform.toml"
    );
}
