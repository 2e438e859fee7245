use std::collections::{BTreeMap, VecDeque};

use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule, percent};

pub const RULE: Rule = Rule {
    code: "BR004",
    name: "slo-unachievable",
    level: Level::Warning,
    summary: "A service's availability SLO above the product of the SLOs of its transitive hard dependencies",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
For every service with an availability SLO, the availability objectives of all services it
depends on through `depends_on`, directly or transitively (each counted once). If its own
objective is higher than their product, the finding labels every dependency's objective with
the chain that leads to it and gives the product.

## Why it matters
A request that needs every hard dependency succeeds at most as often as all of them succeed
together: 99.95 % × 99.99 % × 99.9 % ≈ 99.84 %. An objective above that is a promise the
architecture cannot keep; its error budget is spent by the dependencies alone and its alerts
page for problems the service cannot fix.

## Example
```toml
[services.api]
depends_on = ["orders"]
slo = { availability = 99.99 }

[services.orders]
slo = { availability = 99.9 }      # api can be at most 99.9 % available
```

## How to fix
Lower the service's objective to at most the product, raise the dependencies' objectives,
or make a dependency soft (`soft_depends_on`) if the service degrades gracefully without it
(a cache, a recommendation), so it no longer counts.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let p = &c.platform;
    let names: Vec<&str> = p.services.keys().map(String::as_str).collect();
    let index = |name: &str| names.binary_search(&name).ok();
    let hard: Vec<Vec<usize>> = p
        .services
        .values()
        .map(|s| {
            s.depends_on
                .iter()
                .filter_map(|d| index(d.get_ref()))
                .collect()
        })
        .collect();

    let availability: Vec<Option<f64>> = p
        .services
        .values()
        .map(|s| {
            s.slo
                .as_ref()
                .and_then(|slo| slo.availability.as_ref())
                .map(|a| *a.get_ref())
        })
        .collect();

    // The transitive hard dependencies of every service that have an availability SLO, as
    // sorted index lists, built once in deploy-wave order (dependencies first) by merging
    // the direct dependencies' lists: work in proportion to the lists themselves, no
    // closure per service and no set as wide as the platform.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| c.graph.wave_by_index.get(i).copied().unwrap_or(0));
    let mut reach: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for &i in &order {
        let mut set: Vec<usize> = Vec::new();
        for &d in &hard[i] {
            if availability[d].is_some() {
                set.push(d);
            }
            set.extend_from_slice(&reach[d]);
        }
        set.sort_unstable();
        set.dedup();
        reach[i] = set;
    }

    let mut out = Vec::new();
    for (i, svc) in p.services.values().enumerate() {
        let Some(own) = availability[i] else { continue };
        let deps = &reach[i];
        let product: f64 = deps
            .iter()
            .filter_map(|&d| availability[d])
            .map(|a| a / 100.0)
            .product();
        if deps.is_empty() || own / 100.0 <= product + 1e-12 {
            continue;
        }
        let via = chains(i, &hard);
        let terms: Vec<String> = deps
            .iter()
            .filter_map(|&d| availability[d].map(|a| format!("{}%", percent(a / 100.0))))
            .collect();
        let Some(own_span) = availability_span(svc) else {
            continue;
        };
        let mut f = RULE
            .finding(
                Some(svc.name.get_ref()),
                format!(
                    "`{}` promises {}% availability, but its hard dependencies together allow at most {}%",
                    svc.name.get_ref(),
                    percent(own / 100.0),
                    percent(product)
                ),
                own_span,
                format!("above {}%", percent(product)),
            )
            .help(if terms.len() == 1 {
                "lower this objective to at most its dependency's, raise the dependency's, or make it a `soft_depends_on` if it is not needed for every request".to_string()
            } else {
                format!(
                    "{} = {}%: lower this objective, raise the dependencies', or make a dependency that is not needed for every request a `soft_depends_on`",
                    terms.join(" × "),
                    percent(product)
                )
            });
        for &d in deps {
            let Some(span) = availability_span(&p.services[names[d]]) else {
                continue;
            };
            let chain: Vec<&str> = via
                .get(&d)
                .map(|path| path.iter().map(|&n| names[n]).collect())
                .unwrap_or_default();
            f = f.label(
                span,
                format!(
                    "{}% ({})",
                    percent(availability[d].unwrap_or(100.0) / 100.0),
                    chain.join(" → ")
                ),
            );
        }
        out.push(f);
    }
    out
}

fn availability_span(svc: &crate::model::Service) -> Option<std::ops::Range<usize>> {
    svc.slo
        .as_ref()
        .and_then(|s| s.availability.as_ref())
        .map(|a| a.span())
}

/// The shortest chain of hard dependencies from `from` to every service it reaches.
fn chains(from: usize, hard: &[Vec<usize>]) -> BTreeMap<usize, Vec<usize>> {
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(n) = queue.pop_front() {
        for &d in &hard[n] {
            if d != from && !prev.contains_key(&d) {
                prev.insert(d, n);
                queue.push_back(d);
            }
        }
    }
    prev.keys()
        .map(|&d| {
            let mut path = vec![d];
            let mut n = d;
            while let Some(&p) = prev.get(&n) {
                path.push(p);
                n = p;
                if p == from {
                    break;
                }
            }
            path.reverse();
            (d, path)
        })
        .collect()
}
