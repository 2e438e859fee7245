use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR012",
    name: "criticality-inversion",
    level: Level::Warning,
    summary: "A critical service with a hard dependency that is not critical",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every `depends_on` entry of a service with `critical = true`: the service it names must be
critical too. Soft dependencies are not checked.

## Why it matters
A critical service cannot be more available than what it hard-depends on. If a dependency is
not critical it gets no PodDisruptionBudget by default, may run one replica, and its alerts
open tickets instead of paging: the critical path has a weak link that nobody is woken up
for.

## Example
```toml
[services.checkout]
critical = true
depends_on = ["pricing"]

[services.pricing]              # not critical
```

## How to fix
Mark the dependency `critical = true` (and give it the replicas and SLO that come with it),
or, if the critical service can work without it, make it a `soft_depends_on`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let p = &c.platform;
    let mut out = Vec::new();
    for svc in p.services.values() {
        if !*svc.critical.get_ref() {
            continue;
        }
        for dep in &svc.depends_on {
            let Some(target) = p.services.get(dep.get_ref()) else {
                continue;
            };
            if *target.critical.get_ref() {
                continue;
            }
            out.push(
                RULE.finding(
                    Some(svc.name.get_ref()),
                    format!(
                        "critical service `{}` depends on `{}`, which is not critical",
                        svc.name.get_ref(),
                        dep.get_ref()
                    ),
                    dep.span(),
                    "not critical",
                )
                .label(svc.critical.span(), "critical")
                .label(target.name.span(), format!("`{}` is defined here", dep.get_ref()))
                .help(format!(
                    "mark `{}` as `critical = true`, or make it a `soft_depends_on` if `{}` works without it",
                    dep.get_ref(),
                    svc.name.get_ref()
                )),
            );
        }
    }
    out
}
