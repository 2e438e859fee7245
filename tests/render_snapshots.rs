//! Every file rendered for the reference platform, in each environment, is a reviewed
//! snapshot: any change to what berrys emits shows up as a snapshot diff.

mod common;

use berrys::render::render;

/// Each of `files` as a snapshot in `tests/<dir>`, named by environment and path.
fn snapshot_files<'a>(
    dir: &str,
    command: &str,
    env: &str,
    files: impl Iterator<Item = &'a berrys::output::OutputFile>,
) {
    for file in files {
        let name = format!("{env}__{}", file.path.replace('/', "__"));
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            description => format!("{command} --env {env}: {}", file.path),
        }, {
            insta::assert_snapshot!(name, file.contents);
        });
    }
}

fn snapshot_environment(env: Option<&str>) {
    let source = common::reference();
    let compiled = common::compile_env(&source, env);
    let files = render(&compiled).expect("reference renders");
    assert!(
        files.len() >= 11,
        "one file per service plus platform and kustomization"
    );
    let env = env.unwrap_or("base");
    snapshot_files("snapshots/reference", "berrys render", env, files.iter());
}

#[test]
fn reference_base() {
    snapshot_environment(None);
}

#[test]
fn reference_local() {
    snapshot_environment(Some("local"));
}

#[test]
fn reference_production() {
    snapshot_environment(Some("production"));
}

/// The fixture with every key a real cluster needs: its manifests in each environment
/// (pull secrets, IDs, scheduling, probe timings, egress exceptions, ingress class,
/// dependency URLs, ExternalSecrets).
#[test]
fn real_cluster_fixture() {
    let source = common::load(&common::root().join("tests/fixtures/valid/real-cluster.toml"));
    for env in [None, Some("local"), Some("production")] {
        let compiled = common::compile_env(&source, env);
        let files = render(&compiled).expect("the fixture renders");
        snapshot_files(
            "snapshots/real-cluster",
            "berrys render -f real-cluster.toml",
            env.unwrap_or("base"),
            files.iter().filter(|f| f.path.starts_with("kubernetes/")),
        );
    }
}

/// The fixture with a canary through nginx, a canary weighted by replicas and a
/// blue-green service: their manifests, the analysis tests and a delivery service's
/// dashboard; `local` turns progressive delivery off.
#[test]
fn progressive_delivery_fixture() {
    let source =
        common::load(&common::root().join("tests/fixtures/valid/progressive-delivery.toml"));
    for env in [None, Some("local")] {
        let compiled = common::compile_env(&source, env);
        let files = render(&compiled).expect("the fixture renders");
        snapshot_files(
            "snapshots/progressive-delivery",
            "berrys render -f progressive-delivery.toml",
            env.unwrap_or("base"),
            files.iter().filter(|f| {
                f.path.starts_with("kubernetes/")
                    || f.path == "prometheus/analysis.test.yaml"
                    || f.path == "grafana/services/storefront.json"
                    || f.path == "grafana/platform-overview.json"
            }),
        );
    }
}

/// The reference with `[alerting]`: the Alertmanager configuration, the AlertmanagerConfig,
/// the routing tests, the kustomization that lists the AlertmanagerConfig, and the rules
/// whose alerts carry a team.
#[test]
fn alerting_fixture() {
    let source = common::load(&common::root().join("tests/fixtures/valid/alerting.toml"));
    let compiled = common::compile_env(&source, None);
    let files = render(&compiled).expect("the fixture renders");
    snapshot_files(
        "snapshots/alerting",
        "berrys render -f alerting.toml",
        "base",
        files.iter().filter(|f| {
            f.path.starts_with("alertmanager/")
                || f.path == "kustomization.yaml"
                || f.path == "prometheus/rules.yaml"
        }),
    );
}

/// Without `[alerting]`, nothing of Alertmanager is rendered and the alerts are the same
/// but for the team label.
#[test]
fn without_alerting_no_alertmanager_file_is_rendered() {
    let files = render(&common::compile_env(&common::reference(), None)).unwrap();
    assert!(!files.iter().any(|f| f.path.starts_with("alertmanager/")));
    let with = common::load(&common::root().join("tests/fixtures/valid/alerting.toml"));
    let with = render(&common::compile_env(&with, None)).unwrap();
    let rules = |files: &[berrys::output::OutputFile]| {
        files
            .iter()
            .find(|f| f.path == "prometheus/rules.yaml")
            .unwrap()
            .contents
            .replace("      team: agents\n", "")
    };
    assert_eq!(rules(&files), rules(&with));
}

/// Without progressive delivery nothing of Argo Rollouts is rendered: Deployments,
/// ServiceMonitors, no analysis tests.
#[test]
fn progressive_delivery_off_renders_plain_deployments() {
    let source =
        common::load(&common::root().join("tests/fixtures/valid/progressive-delivery.toml"));
    let base = render(&common::compile_env(&source, None)).unwrap();
    let local = render(&common::compile_env(&source, Some("local"))).unwrap();
    let all = |files: &[berrys::output::OutputFile]| -> String {
        files
            .iter()
            .filter(|f| f.path.starts_with("kubernetes/"))
            .map(|f| f.contents.as_str())
            .collect()
    };
    let (base_text, local_text) = (all(&base), all(&local));
    assert_eq!(base_text.matches("\nkind: Rollout\n").count(), 3);
    assert_eq!(base_text.matches("kind: PodMonitor").count(), 3);
    for argo in [
        "argoproj.io/v1alpha1",
        "kind: PodMonitor",
        "-canary",
        "-preview",
    ] {
        assert!(!local_text.contains(argo), "local renders {argo}");
    }
    assert_eq!(local_text.matches("kind: Deployment").count(), 3);
    assert!(
        base.iter()
            .any(|f| f.path == "prometheus/analysis.test.yaml")
    );
    assert!(
        !local
            .iter()
            .any(|f| f.path == "prometheus/analysis.test.yaml")
    );
}

#[test]
fn rendering_is_deterministic() {
    let source = common::reference();
    let first = render(&common::compile_env(&source, None)).unwrap();
    let second = render(&common::compile_env(&source, None)).unwrap();
    assert_eq!(first, second);
}

#[test]
fn every_valid_fixture_renders_in_every_environment() {
    for entry in std::fs::read_dir(common::root().join("tests/fixtures/valid")).unwrap() {
        let path = entry.unwrap().path();
        let source = common::load(&path);
        let all = berrys::compile(&source, berrys::Envs::All)
            .unwrap_or_else(|e| panic!("{} does not compile: {e:?}", path.display()));
        for compiled in &all {
            let files = render(compiled).unwrap();
            assert!(files.iter().any(|f| f.path == "kustomization.yaml"));
        }
    }
}

/// The local environment turns autoscaling off: fixed replicas, no HPA anywhere.
#[test]
fn local_has_fixed_replicas_and_no_hpa() {
    let source = common::reference();
    let files = render(&common::compile_env(&source, Some("local"))).unwrap();
    for f in files
        .iter()
        .filter(|f| f.path.starts_with("kubernetes/") && f.path != "kubernetes/platform.yaml")
    {
        assert!(
            !f.contents.contains("kind: HorizontalPodAutoscaler"),
            "{}",
            f.path
        );
        assert!(f.contents.contains("\n  replicas: 1\n"), "{}", f.path);
    }
}
