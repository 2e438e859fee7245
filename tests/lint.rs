//! The policy linter: the registry is consistent and documented, every rule fires on the
//! smallest change that violates it and stays quiet without it, configuration and
//! exemptions work, and the machine formats are valid.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use berrys::diagnostic::{Diagnostic, Severity};
use berrys::lint::{Check, Level, RULES};
use berrys::source::SourceFile;
use berrys::{CompileError, Envs, check};

/// Exemption expiry is decided against this date in tests, not the clock.
const TODAY: &str = "2026-11-22";

fn lint_dir() -> PathBuf {
    common::root().join("tests/fixtures/lint")
}

/// Findings, or the compile errors when the file does not compile.
fn diagnostics(source: &SourceFile) -> Vec<Diagnostic> {
    match check(source, Envs::All, TODAY) {
        Ok(linted) => linted.findings,
        Err(CompileError::Diagnostics(d)) => d,
        Err(e) => panic!("{e:?}"),
    }
}

fn text(source: &str) -> SourceFile {
    SourceFile::new("platform.toml", source)
}

fn codes(diags: &[Diagnostic]) -> BTreeSet<String> {
    diags.iter().map(|d| d.code.clone()).collect()
}

fn fixture(rule: &berrys::lint::Rule, kind: &str) -> PathBuf {
    lint_dir().join(format!(
        "{}-{}.{kind}.toml",
        rule.code.to_lowercase(),
        rule.name
    ))
}

// ---- the registry ------------------------------------------------------------------------

#[test]
fn codes_are_sequential_and_names_unique_kebab_case() {
    let mut names = BTreeSet::new();
    let expected = (1..=28).map(|n| format!("BR{n:03}"));
    for (rule, code) in RULES.iter().zip(expected) {
        assert_eq!(rule.code, code, "the table is ordered by code");
        assert!(names.insert(rule.name), "duplicate name {}", rule.name);
        assert!(
            rule.name.split('-').all(|w| !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())),
            "{} is not kebab-case",
            rule.name
        );
        assert!(!rule.summary.is_empty() && !rule.summary.ends_with('.'));
        assert!(
            rule.level != Level::Allow || rule.summary.ends_with("(opt-in)"),
            "{} is off by default but does not say it is opt-in",
            rule.code
        );
    }
    assert_eq!(RULES.len(), 28);
}

#[test]
fn every_rule_documents_the_four_sections_in_order() {
    let sections = [
        "## What it checks\n",
        "## Why it matters\n",
        "## Example\n",
        "## How to fix\n",
    ];
    for rule in RULES {
        let mut at = 0;
        for s in sections {
            let found = rule.docs[at..]
                .find(s)
                .unwrap_or_else(|| panic!("{} lacks `{}` (in order)", rule.code, s.trim()));
            at += found + s.len();
            let body = rule.docs[at..].split("\n## ").next().unwrap_or("");
            assert!(
                body.trim().len() > 20,
                "{}: `{}` is empty",
                rule.code,
                s.trim()
            );
        }
        assert!(
            rule.docs.contains("```toml"),
            "{}: no TOML example",
            rule.code
        );
    }
}

#[test]
fn readme_rule_table_matches_the_registry() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let rows: Vec<Vec<String>> = readme
        .lines()
        .filter(|l| l.starts_with("| BR"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let expected: Vec<Vec<String>> = RULES
        .iter()
        .map(|r| {
            vec![
                r.code.to_string(),
                format!("`{}`", r.name),
                r.level.as_str().to_string(),
                r.summary.to_string(),
            ]
        })
        .collect();
    assert_eq!(
        rows, expected,
        "README.md's rule table disagrees with the registry"
    );
}

// ---- each rule, both ways ------------------------------------------------------------------

/// The lines two fixtures differ in (they are the same length or one line apart).
fn changed_lines(a: &str, b: &str) -> usize {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().skip(1).collect(), b.lines().skip(1).collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (a.len() - prefix - suffix).max(b.len() - prefix - suffix)
}

#[test]
fn every_rule_fires_on_its_fixture_and_only_there() {
    for rule in RULES {
        let fires_path = fixture(rule, "fires");
        let passes_path = fixture(rule, "passes");
        let fires = common::load(&fires_path);
        let passes = common::load(&passes_path);
        assert!(
            changed_lines(&fires.text, &passes.text) <= 2,
            "{}: the fixtures must differ in the smallest change that violates the rule",
            rule.code
        );
        let found = diagnostics(&fires);
        assert_eq!(
            codes(&found),
            BTreeSet::from([rule.code.to_string()]),
            "{} fires alone on {}",
            rule.code,
            fires_path.display()
        );
        assert!(
            diagnostics(&passes).is_empty(),
            "{}: {} must lint clean",
            rule.code,
            passes_path.display()
        );
        let compile_time = matches!(rule.check, Check::Compile);
        let expected = if compile_time || rule.level == Level::Error {
            Severity::Error
        } else {
            Severity::Warning
        };
        // A rule with a milder form (BR003 above 80 %, BR023 for a service that is not
        // critical) may show it too, but its own level at least once.
        assert!(
            found.iter().any(|d| d.severity == expected),
            "{} fires at its level",
            rule.code
        );
        for d in &found {
            assert_eq!(d.name, rule.name);
            assert!(d.severity <= expected, "{}", rule.code);
            assert!(
                d.help.is_some(),
                "{}: a finding says how to fix it",
                rule.code
            );
        }
    }
}

#[test]
fn human_output_of_every_rule() {
    for rule in RULES {
        let source = common::load(&fixture(rule, "fires"));
        let shown = berrys::report::render_human(&diagnostics(&source), &source, false);
        insta::with_settings!({
            snapshot_path => "snapshots/lint",
            prepend_module_to_snapshot => false,
            description => format!("berrys lint -f {}", source.name),
        }, {
            insta::assert_snapshot!(format!("{}-{}", rule.code.to_lowercase(), rule.name), shown);
        });
    }
}

#[test]
fn environments_are_named_and_identical_findings_merged() {
    let source = common::load(&lint_dir().join("environments.toml"));
    let found = diagnostics(&source);
    let envs: Vec<(String, Vec<String>)> = found
        .iter()
        .map(|d| (d.code.clone(), d.envs.clone()))
        .collect();
    assert!(envs.contains(&(
        "BR007".to_string(),
        vec!["base".to_string(), "dev".to_string(), "staging".to_string()]
    )));
    assert_eq!(
        found.iter().filter(|d| d.code == "BR007").count(),
        1,
        "one finding, one entry"
    );
    let shown = berrys::report::render_human(&found, &source, false);
    insta::with_settings!({
        snapshot_path => "snapshots/lint",
        prepend_module_to_snapshot => false,
        description => "berrys lint -f tests/fixtures/lint/environments.toml",
    }, {
        insta::assert_snapshot!("environments", shown);
    });
}

// ---- the numbers in findings ------------------------------------------------------------------

fn br003_with_capacity(max_connections: u32) -> Vec<Diagnostic> {
    let passes = std::fs::read_to_string(fixture(&RULES[2], "passes")).unwrap();
    diagnostics(&text(&passes.replace(
        "max_connections = 200",
        &format!("max_connections = {max_connections}"),
    )))
}

#[test]
fn pool_overcommit_labels_every_pool_with_its_share() {
    let found = br003_with_capacity(90);
    let d = &found[0];
    assert_eq!(d.severity, Severity::Error);
    let labels: Vec<&str> = d.secondary.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        labels,
        [
            "api: 10 × (4 + 1) = 50 of 90",
            "orders: 10 × (4 + 1) = 50 of 90"
        ]
    );
}

#[test]
fn pool_overcommit_warns_above_80_percent_and_not_at_it() {
    // 100 connections of 120 is 83 %.
    let found = br003_with_capacity(120);
    assert_eq!(codes(&found), BTreeSet::from(["BR003".to_string()]));
    assert_eq!(found[0].severity, Severity::Warning);
    // 100 of 125 is exactly 80 %.
    assert!(br003_with_capacity(125).is_empty());
    // 100 of 100 is full, not over.
    assert_eq!(br003_with_capacity(100)[0].severity, Severity::Warning);
    assert_eq!(br003_with_capacity(99)[0].severity, Severity::Error);
}

#[test]
fn burn_rate_unreachable_names_an_explicit_gate_alone() {
    // A budget of 0.5 %: every alert condition is reachable, a gate at 250 × is 125 %.
    let rule = berrys::lint::lookup("BR027").unwrap();
    let passes = std::fs::read_to_string(fixture(rule, "passes")).unwrap();
    let found = diagnostics(&text(
        &passes.replace("pause = \"5m\"\n", "pause = \"5m\"\nmax_burn_rate = 250\n"),
    ));
    assert_eq!(codes(&found), BTreeSet::from(["BR027".to_string()]));
    let d = &found[0];
    assert!(
        d.message
            .ends_with("the release gate (125 %) would need more than every request to fail"),
        "{}",
        d.message
    );
    assert_eq!(d.secondary[0].text, "fails above 250 × the budget");
    let help = d.help.as_deref().unwrap();
    assert!(
        help.starts_with("set `max_burn_rate` below 200 for the gate"),
        "{help}"
    );
    // At 200 × the gate fails only when every request does: still unreachable; below, not.
    let at = |rate: &str| {
        diagnostics(&text(&passes.replace(
            "pause = \"5m\"\n",
            &format!("pause = \"5m\"\nmax_burn_rate = {rate}\n"),
        )))
    };
    assert_eq!(codes(&at("200")), BTreeSet::from(["BR027".to_string()]));
    assert!(at("199.9").is_empty());
}

#[test]
fn a_preview_larger_than_the_service_is_counted_in_the_quota() {
    // api and orders at (4 + 1) × 250m, search's preview of 12 beside its 4: 6.5 cores of 6.
    let rule = berrys::lint::lookup("BR028").unwrap();
    let fires = std::fs::read_to_string(fixture(rule, "fires")).unwrap();
    let found = diagnostics(&text(&fires.replace(
        "quota = { cpu = \"16\", memory = \"32Gi\" }",
        "quota = { cpu = \"6\", memory = \"32Gi\" }",
    )));
    assert_eq!(
        codes(&found),
        BTreeSet::from(["BR011".to_string(), "BR028".to_string()])
    );
    let quota = found.iter().find(|d| d.code == "BR011").unwrap();
    assert!(
        quota
            .secondary
            .iter()
            .any(|l| l.text.contains("(4 + 12 blue-green)")),
        "{:?}",
        quota.secondary
    );
}

#[test]
fn plaintext_secret_reads_alert_webhook_urls() {
    let alerting =
        std::fs::read_to_string(common::root().join("tests/fixtures/valid/alerting.toml")).unwrap();
    let with_url = |url: &str| {
        diagnostics(&text(
            &alerting.replace("https://tickets.example.com/alertmanager", url),
        ))
        .into_iter()
        .filter(|d| d.code == "BR008")
        .collect::<Vec<_>>()
    };
    assert!(with_url("https://tickets.example.com/alertmanager").is_empty());
    let slack = with_url("https://hooks.slack.com/services/T000/B000/XXXXXXXX");
    assert_eq!(slack.len(), 1);
    assert_eq!(
        slack[0].message,
        "the webhook of receiver `tickets` holds a Slack webhook URL in plain text"
    );
    assert!(slack[0].help.as_deref().unwrap().contains("api_url_secret"));
    let query = with_url("https://tickets.example.com/hook?token=s3cr3t");
    assert_eq!(
        query[0].primary.text,
        "a credential in its query, written into the Alertmanager configuration"
    );
    let password = with_url("https://bot:hunter2@tickets.example.com/hook");
    assert!(password[0].message.contains("a password in a URL"));
}

#[test]
fn a_tier_only_an_environment_uses_is_not_unused() {
    let rule = berrys::lint::lookup("BR017").unwrap();
    let passes = std::fs::read_to_string(fixture(rule, "passes")).unwrap();
    let large = "\n[scaling.large]\nmin_replicas = 3\nmax_replicas = 4\ncpu_target = 70\nscale_down = { stabilization = \"300s\", max_percent = 50, period = \"60s\" }\n";
    let unused = format!("{passes}{large}");
    let found = diagnostics(&text(&unused));
    assert_eq!(codes(&found), BTreeSet::from(["BR017".to_string()]));
    // production moves api to the tier: used there, so nowhere unused.
    let used =
        format!("{unused}\n[environments.production]\nservices.api = {{ scaling = \"large\" }}\n");
    assert!(
        diagnostics(&text(&used)).is_empty(),
        "{:?}",
        diagnostics(&text(&used))
    );
    // Linted alone, the file as written does not use it.
    let base_only = match check(&text(&used), Envs::One(None), TODAY) {
        Ok(linted) => linted.findings,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(codes(&base_only), BTreeSet::from(["BR017".to_string()]));
}

#[test]
fn a_receiver_only_an_environment_defines_and_nobody_routes_to_is_unused() {
    let alerting =
        std::fs::read_to_string(common::root().join("tests/fixtures/valid/alerting.toml")).unwrap();
    let with = |extra: &str| diagnostics(&text(&format!("{alerting}\n{extra}")));
    let spare = "[environments.local.alerting.receivers.spare]\nwebhook = { url = \"https://spare.example.com/hook\" }\n";
    let found = with(spare);
    assert_eq!(codes(&found), BTreeSet::from(["BR017".to_string()]));
    assert_eq!(
        found[0].message,
        "receiver `spare` is not named by any route"
    );
    assert!(
        found[0].everywhere,
        "the file's receivers are judged once for all environments"
    );
    let routed = format!("{spare}[environments.local.alerting.routes]\ninfo = \"spare\"\n");
    assert!(with(&routed).is_empty(), "{:?}", with(&routed));
}

#[test]
fn reference_pool_accounting_matches_the_documented_example() {
    // agent-orchestrator: pool `default` (max 20) at 8 replicas + 2 surge, postgres 1000 − 10.
    let reference = common::reference();
    let squeezed = reference
        .text
        .replace("max_connections = 1000", "max_connections = 700");
    let found = diagnostics(&text(&squeezed));
    let d = found
        .iter()
        .find(|d| d.code == "BR003")
        .expect("BR003 fires");
    assert!(
        d.secondary
            .iter()
            .any(|l| l.text == "agent-orchestrator: 20 × (8 + 2) = 200 of 690"),
        "{:?}",
        d.secondary
    );
}

#[test]
fn slo_unachievable_shows_the_chain_and_the_product() {
    let reference = common::reference();
    // api-gateway depends on agent-orchestrator, which depends on model-orchestration.
    let raised = reference.text.replace(
        "slo = { availability = 99.5, latency = { threshold = \"500ms\"",
        "slo = { availability = 99.9, latency = { threshold = \"500ms\"",
    );
    let found = diagnostics(&text(&raised));
    let d = found
        .iter()
        .find(|d| d.code == "BR004")
        .expect("BR004 fires");
    assert!(
        d.message.contains("`api-gateway` promises 99.9%"),
        "{}",
        d.message
    );
    assert!(d.message.contains("at most 99.6803%"), "{}", d.message);
    let labels: Vec<&str> = d.secondary.iter().map(|l| l.text.as_str()).collect();
    assert!(
        labels.contains(&"99.99% (api-gateway → agent-orchestrator → model-orchestration)"),
        "{labels:?}"
    );
    assert!(d.help.as_deref().unwrap().contains(" × "));
}

// ---- configuration ----------------------------------------------------------------------------

fn with_lint(rule: &berrys::lint::Rule, lint: &str) -> Vec<Diagnostic> {
    let fires = std::fs::read_to_string(fixture(rule, "fires")).unwrap();
    diagnostics(&text(&format!("{fires}\n{lint}")))
}

#[test]
fn levels_are_set_by_code_or_name() {
    let br007 = &RULES[6];
    assert_eq!(
        with_lint(br007, "[lint.rules]\nBR007 = \"allow\"\n"),
        vec![]
    );
    let raised = with_lint(br007, "[lint.rules]\nimage-tag-not-pinned = \"error\"\n");
    assert_eq!(raised[0].severity, Severity::Error);
    let lowered = with_lint(&RULES[2], "[lint.rules]\npool-overcommit = \"warning\"\n");
    assert_eq!(lowered[0].severity, Severity::Warning);
}

#[test]
fn unknown_or_unconfigurable_rules_are_errors_with_a_suggestion() {
    let found = with_lint(&RULES[6], "[lint.rules]\nimage-tag-not-pined = \"allow\"\n");
    assert_eq!(found[0].code, "BR002");
    assert_eq!(
        found[0].help.as_deref(),
        Some("did you mean `image-tag-not-pinned`?")
    );

    let found = with_lint(&RULES[6], "[lint.rules]\ndependency-cycle = \"warning\"\n");
    assert!(found[0].message.contains("cannot be lowered"), "{found:?}");

    let found = with_lint(
        &RULES[6],
        "[[lint.exempt]]\nrule = \"BR007\"\nreason = \"r\"\nexpires = \"2027-02-30\"\n",
    );
    assert!(found[0].message.contains("is not a date"), "{found:?}");

    let found = with_lint(
        &RULES[6],
        "[lint.rules]\nBR007 = \"allow\"\nimage-tag-not-pinned = \"warning\"\n",
    );
    assert!(found[0].message.contains("configured twice"), "{found:?}");
}

#[test]
fn exemptions_match_rule_service_and_environment() {
    let br006 = &RULES[5];
    let exempt = |extra: &str| {
        with_lint(
            br006,
            &format!(
                "[[lint.exempt]]\nrule = \"critical-single-replica\"\nreason = \"staging\"\n{extra}"
            ),
        )
    };
    assert_eq!(exempt("service = \"orders\"\n"), vec![]);
    assert_eq!(exempt("env = \"base\"\n"), vec![]);
    // Another service: the finding stays and the exemption is unused.
    let found = exempt("service = \"api\"\n");
    assert_eq!(
        codes(&found),
        BTreeSet::from(["BR006".to_string(), "BR018".to_string()])
    );
}

#[test]
fn expired_exemptions_stop_applying_and_are_reported() {
    let found = with_lint(
        &RULES[5],
        "[[lint.exempt]]\nrule = \"BR006\"\nreason = \"until the node pool grows\"\nexpires = \"2026-11-21\"\n",
    );
    assert_eq!(
        codes(&found),
        BTreeSet::from(["BR006".to_string(), "BR018".to_string()])
    );
    let expired = found.iter().find(|d| d.code == "BR018").unwrap();
    assert!(expired.message.contains("expired on 2026-11-21"));
    // Valid through its last day.
    let found = with_lint(
        &RULES[5],
        "[[lint.exempt]]\nrule = \"BR006\"\nreason = \"until the node pool grows\"\nexpires = \"2026-11-22\"\n",
    );
    assert_eq!(found, vec![]);
}

#[test]
fn an_exemption_for_an_environment_not_linted_is_not_unused() {
    let source = common::reference();
    let linted = check(&source, Envs::One(Some("production")), TODAY).unwrap();
    assert!(linted.findings.is_empty(), "{:?}", linted.findings);
}

#[test]
fn the_reference_lints_clean_with_fail_on_warning() {
    let source = common::reference();
    let linted = check(&source, Envs::All, TODAY).unwrap();
    assert_eq!(linted.config.fail_on, Severity::Warning);
    assert_eq!(linted.findings, vec![]);
    assert_eq!(linted.compiled.len(), 3);
}

// ---- machine formats ----------------------------------------------------------------------------

fn sarif_validator() -> jsonschema::Validator {
    let path = common::root().join("tests/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

fn all_lint_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(lint_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let validator = sarif_validator();
    let mut sources: Vec<SourceFile> = all_lint_fixtures()
        .iter()
        .map(|p| common::load(p))
        .collect();
    sources.push(common::reference());
    sources.push(common::load(Path::new(
        &common::root().join("tests/fixtures/invalid/syntax-unclosed-string.toml"),
    )));
    for source in sources {
        let diags = diagnostics(&source);
        let log = berrys::report::to_sarif(&diags, &source);
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}:\n{}", source.name, errors.join("\n"));
        let run = &log["runs"][0];
        assert_eq!(run["results"].as_array().unwrap().len(), diags.len());
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            RULES.len()
        );
        for (result, d) in run["results"].as_array().unwrap().iter().zip(&diags) {
            assert_eq!(result["ruleId"], d.code.as_str());
            if let Some(i) = result["ruleIndex"].as_u64() {
                assert_eq!(
                    run["tool"]["driver"]["rules"][i as usize]["id"],
                    d.code.as_str()
                );
            }
        }
    }
}

#[test]
fn sarif_check_rejects_a_broken_log() {
    let validator = sarif_validator();
    let source = common::load(&fixture(&RULES[2], "fires"));
    let mut log = berrys::report::to_sarif(&diagnostics(&source), &source);
    log["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&log));
}

#[test]
fn github_annotations() {
    let source = common::load(&lint_dir().join("environments.toml"));
    let shown = berrys::report::to_github(&diagnostics(&source), &source);
    for line in shown.lines() {
        assert!(line.starts_with("::error file=") || line.starts_with("::warning file="));
        assert!(!line.contains('\n') && line.contains(",title=BR"));
    }
    insta::with_settings!({
        snapshot_path => "snapshots/lint",
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!("github", shown);
    });
}

#[test]
fn explain_prints_every_rules_documentation() {
    for rule in RULES {
        for id in [rule.code, rule.name, &rule.code.to_lowercase()] {
            let mut out = Vec::new();
            let mut err = Vec::new();
            assert_eq!(berrys::commands::explain(id, &mut out, &mut err), 0);
            let out = String::from_utf8(out).unwrap();
            assert!(out.starts_with(&format!("# {} {}", rule.code, rule.name)));
            assert!(out.contains(rule.docs.trim_end()));
        }
    }
    let mut out = Vec::new();
    let mut err = Vec::new();
    assert_eq!(
        berrys::commands::explain("pool-overcomit", &mut out, &mut err),
        2
    );
    assert!(
        String::from_utf8(err)
            .unwrap()
            .contains("did you mean `pool-overcommit`?")
    );
}

// ---- release strategies in capacity ---------------------------------------------------------

#[test]
fn a_platform_sized_for_rolling_updates_overcommits_once_a_service_goes_blue_green() {
    let load = |name: &str| common::load(&lint_dir().join(name));
    let rolling = load("blue-green-capacity.rolling.toml");
    assert!(diagnostics(&rolling).is_empty());
    let blue_green = diagnostics(&load("blue-green-capacity.blue-green.toml"));
    assert_eq!(
        codes(&blue_green),
        BTreeSet::from(["BR003".to_string(), "BR011".to_string()])
    );
    let labels = |code: &str| -> Vec<String> {
        let d = blue_green.iter().find(|d| d.code == code).unwrap();
        assert_eq!(d.severity, Severity::Error, "{code}");
        d.secondary.iter().map(|l| l.text.clone()).collect()
    };
    assert_eq!(
        labels("BR003"),
        [
            "api: 10 × (4 + 1) = 50 of 125",
            "orders: 10 × (4 + 4 blue-green) = 80 of 125"
        ]
    );
    assert!(
        labels("BR011").contains(&"orders: 250m × (4 + 4 blue-green) = 2".to_string()),
        "{:?}",
        labels("BR011")
    );
}

#[test]
fn a_blue_green_scale_down_delay_shorter_than_the_analysis_is_reported() {
    let passes =
        std::fs::read_to_string(lint_dir().join("br021-analysis-interval-too-short.passes.toml"))
            .unwrap();
    let blue_green = passes.replace(
        "strategy = \"canary\"\nsteps = [33, 67]\n",
        "strategy = \"blue-green\"\nscale_down_delay = \"1m\"\n",
    );
    assert_ne!(blue_green, passes);
    let found = diagnostics(&text(&blue_green));
    assert_eq!(codes(&found), BTreeSet::from(["BR021".to_string()]));
    assert!(
        found[0]
            .message
            .contains("scales its old version down 1m after the switch"),
        "{}",
        found[0].message
    );
    let kept = diagnostics(&text(
        &blue_green.replace("scale_down_delay = \"1m\"", "scale_down_delay = \"5m\""),
    ));
    assert!(kept.is_empty(), "{kept:?}");
}
