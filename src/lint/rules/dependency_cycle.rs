//! BR001 dependency-cycle: found while building the graph (src/graph.rs), which cannot
//! order deployment around a cycle.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::Diagnostic;
use crate::lint::{Check, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR001",
    name: "dependency-cycle",
    level: Level::Error,
    summary: "A cycle of `depends_on` edges; prints the whole path",
    docs: DOCS,
    check: Check::Compile,
};

const DOCS: &str = r#"## What it checks
The hard dependencies (`depends_on`) of all services, as a graph: any cycle in it. The
finding prints the whole cycle (`a → b → c → a`) and labels every edge of it in the file.

## Why it matters
Hard dependencies order deployment (each service's Argo CD sync wave comes after its
dependencies') and compose SLOs. A cycle has no first service: nothing can be deployed first,
and the SLO arithmetic has no base. The platform cannot be compiled until it is broken, so this
rule cannot be lowered or exempted.

## Example
```toml
[services.orders]
depends_on = ["billing"]

[services.billing]
depends_on = ["orders"]    # orders → billing → orders
```

## How to fix
Remove one edge of the cycle. If a service only needs to reach another over the network (a
callback, an optional feature), declare it in `soft_depends_on`: soft dependencies open the
NetworkPolicy but do not order deployment.
"#;

/// One cycle through a strongly connected component, starting at its smallest name.
pub fn diagnostic(
    hard: &DiGraph<usize, std::ops::Range<usize>>,
    services: &[String],
    scc: &[NodeIndex],
) -> Diagnostic {
    let in_scc = |n: NodeIndex| scc.contains(&n);
    let start = *scc.iter().min_by_key(|n| n.index()).unwrap_or(&scc[0]);
    // Breadth-first search inside the component for the shortest way back to `start`.
    let mut prev: BTreeMap<NodeIndex, (NodeIndex, petgraph::graph::EdgeIndex)> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(n) = queue.pop_front() {
        let mut next: Vec<_> = hard
            .edges(n)
            .map(|e| {
                (
                    petgraph::visit::EdgeRef::target(&e),
                    petgraph::visit::EdgeRef::id(&e),
                )
            })
            .filter(|(t, _)| in_scc(*t))
            .collect();
        next.sort_by_key(|(t, _)| t.index());
        for (t, e) in next {
            if t == start {
                closing = Some((n, e));
                break 'search;
            }
            if let std::collections::btree_map::Entry::Vacant(v) = prev.entry(t) {
                v.insert((n, e));
                queue.push_back(t);
            }
        }
    }
    let mut path_edges = Vec::new();
    if let Some((mut n, e)) = closing {
        path_edges.push(e);
        while n != start {
            let Some(&(p, e)) = prev.get(&n) else { break };
            path_edges.push(e);
            n = p;
        }
    }
    path_edges.reverse();
    let mut names = vec![services[hard[start]].clone()];
    for e in &path_edges {
        if let Some((_, t)) = hard.edge_endpoints(*e) {
            names.push(services[hard[t]].clone());
        }
    }
    let path = names.join(" → ");
    let first = path_edges.first().map(|e| hard[*e].clone()).unwrap_or(0..0);
    let mut d = Diagnostic::error(
        RULE.code,
        RULE.name,
        format!("dependency cycle: {path}"),
        first,
        format!("`{}` depends on `{}`", names[0], names.get(1).unwrap_or(&names[0])),
    )
    .with_help(
        "hard dependencies (`depends_on`) must form no cycle: they order deployment. Remove one edge, or make it a `soft_depends_on` if it only needs network access",
    );
    for (i, e) in path_edges.iter().enumerate().skip(1) {
        d = d.with_secondary(
            hard[*e].clone(),
            format!("`{}` depends on `{}`", names[i], names[i + 1]),
        );
    }
    d
}
