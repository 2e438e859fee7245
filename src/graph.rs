//! Phase 4: the service dependency graph.
//!
//! Hard dependencies (`depends_on`) order deployment and must be acyclic; every cycle is
//! reported once with its whole path and the place of each edge (BR001). Deploy waves follow:
//! a service's wave is one more than the highest wave of its hard dependencies.

use std::collections::BTreeMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::diagnostic::{Diagnostic, codes};
use crate::model::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    Hard,
    Soft,
}

/// One environment, compiled: the model and its dependency graph.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub platform: Platform,
    pub graph: Graph,
}

#[derive(Debug, Clone)]
pub struct Graph {
    /// Services in name order; node `i` of `graph` is `services[i]`.
    pub services: Vec<String>,
    pub graph: DiGraph<usize, (EdgeKind, std::ops::Range<usize>)>,
    /// Deploy wave of each service (0: depends on nothing), by index in `services` (which
    /// is also the platform's service order).
    pub wave_by_index: Vec<u32>,
}

impl Graph {
    fn index(&self, name: &str) -> Option<NodeIndex> {
        self.services
            .binary_search_by(|s| s.as_str().cmp(name))
            .ok()
            .map(NodeIndex::new)
    }

    /// Services that depend on `name` (hard or soft), in name order.
    pub fn dependents(&self, name: &str) -> Vec<&str> {
        let Some(ix) = self.index(name) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = self
            .graph
            .neighbors_directed(ix, petgraph::Direction::Incoming)
            .map(|n| self.services[n.index()].as_str())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn wave(&self, name: &str) -> u32 {
        self.index(name)
            .and_then(|ix| self.wave_by_index.get(ix.index()))
            .copied()
            .unwrap_or(0)
    }

    /// Every service with its deploy wave, by name.
    pub fn waves(&self) -> impl Iterator<Item = (&str, u32)> {
        self.services
            .iter()
            .map(String::as_str)
            .zip(self.wave_by_index.iter().copied())
    }

    /// Edges as (from, to, kind), sorted.
    pub fn edges(&self) -> Vec<(&str, &str, EdgeKind)> {
        let mut out: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some((
                    self.services[a.index()].as_str(),
                    self.services[b.index()].as_str(),
                    self.graph[e].0,
                ))
            })
            .collect();
        out.sort_by(|a, b| {
            (a.0, a.1, a.2 == EdgeKind::Soft).cmp(&(b.0, b.1, b.2 == EdgeKind::Soft))
        });
        out
    }
}

impl Graph {
    /// For every service (by index), the services that depend on it through hard
    /// dependencies, directly or through others, as sorted indices. The hard graph is
    /// acyclic (or the graph was not built), so taking services by falling deploy wave
    /// meets every dependent before what it depends on.
    pub fn hard_dependents_closure(&self) -> Vec<Vec<usize>> {
        let n = self.services.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.wave_by_index[i]));
        let mut closure: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in order {
            let mut all: Vec<usize> = Vec::new();
            for e in self
                .graph
                .edges_directed(NodeIndex::new(i), petgraph::Direction::Incoming)
            {
                if e.weight().0 != EdgeKind::Hard {
                    continue;
                }
                let dependent = e.source().index();
                all.push(dependent);
                all.extend_from_slice(&closure[dependent]);
            }
            all.sort_unstable();
            all.dedup();
            closure[i] = all;
        }
        closure
    }
}

pub fn build(platform: &Platform) -> Result<Graph, Vec<Diagnostic>> {
    let services: Vec<String> = platform.services.keys().cloned().collect();
    let mut graph = DiGraph::with_capacity(services.len(), services.len() * 2);
    for i in 0..services.len() {
        graph.add_node(i);
    }
    let index_of = |name: &str| services.binary_search_by(|s| s.as_str().cmp(name)).ok();
    for (i, svc) in platform.services.values().enumerate() {
        let edges = svc
            .depends_on
            .iter()
            .map(|d| (d, EdgeKind::Hard))
            .chain(svc.soft_depends_on.iter().map(|d| (d, EdgeKind::Soft)));
        for (dep, kind) in edges {
            // Unknown names were reported by the model.
            if let Some(j) = index_of(dep.get_ref()) {
                graph.add_edge(NodeIndex::new(i), NodeIndex::new(j), (kind, dep.span()));
            }
        }
    }

    let hard = graph.filter_map(
        |_, n| Some(*n),
        |_, e| (e.0 == EdgeKind::Hard).then(|| e.1.clone()),
    );
    let mut diags = Vec::new();
    for scc in tarjan_scc(&hard) {
        let is_cycle = scc.len() > 1 || hard.find_edge(scc[0], scc[0]).is_some();
        if is_cycle {
            diags.push(cycle_diagnostic(&hard, &services, &scc));
        }
    }
    if !diags.is_empty() {
        for d in &mut diags {
            d.envs = vec![platform.env.clone()];
        }
        return Err(diags);
    }

    // tarjan_scc yields components in reverse topological order: dependencies first.
    let mut waves = vec![0u32; services.len()];
    for scc in tarjan_scc(&hard) {
        let n = scc[0];
        waves[n.index()] = hard
            .neighbors(n)
            .map(|d| waves[d.index()] + 1)
            .max()
            .unwrap_or(0);
    }
    Ok(Graph {
        services,
        graph,
        wave_by_index: waves,
    })
}

/// One cycle through a strongly connected component, starting at its smallest name.
fn cycle_diagnostic(
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
    let mut d = Diagnostic::new(
        codes::DEPENDENCY_CYCLE,
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
