//! The real tools on a rendered environment written to a temporary directory:
//! `kubectl kustomize`, `promtool check rules` and `promtool test rules`, `amtool
//! check-config`, and `kubernetes-validate` when `BERRYS_KUBERNETES_VALIDATE` names it.
//! They run on a sample of the cases only: each takes a process start and some hundred
//! milliseconds, the in-process checks a few milliseconds.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::Violation;

/// Which tools this machine has; a missing one is skipped with a message, unless the
/// variable that requires it is set (as in tests/rule_tests.rs and tests/alerting.rs).
pub struct Tools {
    kubectl: bool,
    promtool: bool,
    amtool: bool,
    kubernetes_validate: Option<String>,
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).output().is_ok()
}

pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let required = |var: &str, found: bool, what: &str| {
            if !found {
                assert!(
                    std::env::var_os(var).is_none(),
                    "{what} is required ({var} is set)"
                );
                eprintln!("{what} not found: its checks are skipped");
            }
            found
        };
        Tools {
            kubectl: required(
                "BERRYS_REQUIRE_KUBECTL",
                runs("kubectl", "version"),
                "kubectl",
            ),
            promtool: required(
                "BERRYS_REQUIRE_PROMTOOL",
                runs("promtool", "--version"),
                "promtool",
            ),
            amtool: required(
                "BERRYS_REQUIRE_ALERTMANAGER",
                runs("amtool", "--version"),
                "amtool",
            ),
            kubernetes_validate: std::env::var("BERRYS_KUBERNETES_VALIDATE").ok(),
        }
    })
}

/// Runs `program args` in `dir`: its success and its output.
fn run(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run {program}: {e}")),
    }
}

/// The first lines of a tool's output, enough to tell what failed.
fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    lines.join("\n")
}

/// Every tool on one rendered environment.
pub fn check(files: &[berrys::output::OutputFile], out: &mut Vec<Violation>) {
    let tools = tools();
    let dir = tempfile::tempdir().expect("a temporary directory");
    for f in files {
        let path = dir.path().join(&f.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &f.contents).unwrap();
    }
    let exists = |p: &str| dir.path().join(p).exists();
    let mut fail = |check: &str, text: &str| out.push(Violation::new(check, excerpt(text)));
    if tools.kubectl {
        let (ok, text) = run(dir.path(), "kubectl", &["kustomize", "."]);
        if !ok {
            fail("kubectl kustomize", &text);
        } else if let Some(kv) = &tools.kubernetes_validate {
            kubernetes_validate(dir.path(), kv, &text, &mut fail);
        }
    }
    let prometheus = dir.path().join("prometheus");
    if tools.promtool && exists("prometheus/rules.yaml") {
        let (ok, text) = run(&prometheus, "promtool", &["check", "rules", "rules.yaml"]);
        if !ok {
            fail("promtool check rules", &text);
        }
        for tests in ["rules.test.yaml", "analysis.test.yaml"] {
            if exists(&format!("prometheus/{tests}")) {
                let (ok, text) = run(&prometheus, "promtool", &["test", "rules", tests]);
                if !ok {
                    fail(&format!("promtool test rules {tests}"), &text);
                }
            }
        }
    }
    if tools.amtool && exists("alertmanager/alertmanager.yaml") {
        let args = ["check-config", "alertmanager/alertmanager.yaml"];
        let (ok, text) = run(dir.path(), "amtool", &args);
        if !ok || !text.contains("SUCCESS") {
            fail("amtool check-config", &text);
        }
    }
}

/// `kubernetes-validate --strict -k 1.33 --quiet` on the kustomized output, failing on
/// its warnings about kinds without a schema except the custom resources berrys renders
/// on purpose, as .ci/run does.
fn kubernetes_validate(
    dir: &Path,
    program: &str,
    kustomized: &str,
    fail: &mut impl FnMut(&str, &str),
) {
    let file = dir.join("kustomized.yaml");
    std::fs::write(&file, kustomized).unwrap();
    let file = file.to_string_lossy().into_owned();
    let (ok, text) = run(dir, program, &["--strict", "-k", "1.33", "--quiet", &file]);
    let crd = [
        "monitoring.coreos.com/",
        "external-secrets.io/",
        "argoproj.io/",
    ];
    let unknown_kind = text.lines().any(|l| {
        l.starts_with("WARN ") && !crd.iter().any(|c| l.contains(&format!("api version {c}")))
    });
    if !ok || unknown_kind {
        fail("kubernetes-validate --strict", &text);
    }
}
