//! Deploy waves over random acyclic platforms, and cycle reports over random cyclic ones.

use berrys::source::SourceFile;
use berrys::{CompileError, Envs, compile};
use proptest::prelude::*;

/// A platform whose service `s{i}` hard-depends on the listed earlier services.
fn platform(deps: &[Vec<usize>], back_edge: Option<(usize, usize)>) -> String {
    let mut text = String::from("[platform]\nname = \"g\"\n");
    for (i, d) in deps.iter().enumerate() {
        let mut list: Vec<String> = d.iter().map(|j| format!("\"s{j}\"")).collect();
        if let Some((from, to)) = back_edge
            && from == i
        {
            list.push(format!("\"s{to}\""));
        }
        list.sort();
        list.dedup();
        text.push_str(&format!(
            "[services.s{i}]\nimage = \"s:1\"\nport = 80\ndepends_on = [{}]\n",
            list.join(", ")
        ));
    }
    text
}

fn dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..25).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                if i == 0 {
                    Just(Vec::new()).boxed()
                } else {
                    prop::collection::vec(0..i, 0..4).boxed()
                }
            })
            .collect::<Vec<_>>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn waves_follow_dependencies(deps in dag()) {
        let source = SourceFile::new("platform.toml", platform(&deps, None));
        let compiled = compile(&source, Envs::One(None)).expect("a DAG compiles");
        let graph = &compiled[0].graph;
        for (i, d) in deps.iter().enumerate() {
            let wave = graph.wave(&format!("s{i}"));
            let expected = d.iter().map(|j| graph.wave(&format!("s{j}")) + 1).max().unwrap_or(0);
            prop_assert_eq!(wave, expected, "s{} with deps {:?}", i, d);
        }
    }

    #[test]
    fn a_back_edge_is_reported_as_a_cycle_with_its_path(deps in dag(), pick in any::<prop::sample::Index>()) {
        // Find a dependency path s_to ← … ← s_from and close it with s_to → s_from.
        let edges: Vec<(usize, usize)> = deps.iter().enumerate()
            .flat_map(|(i, d)| d.iter().map(move |j| (i, *j))).collect();
        prop_assume!(!edges.is_empty());
        let (from, to) = edges[pick.index(edges.len())];
        let source = SourceFile::new("platform.toml", platform(&deps, Some((to, from))));
        match compile(&source, Envs::One(None)) {
            Err(CompileError::Diagnostics(d)) => {
                let cycle = d.iter().find(|d| d.code == "BR001").expect("a BR001 diagnostic");
                let path: Vec<&str> = cycle.message.trim_start_matches("dependency cycle: ").split(" → ").collect();
                prop_assert_eq!(path.first(), path.last());
                let (from, to) = (format!("s{from}"), format!("s{to}"));
                prop_assert!(path.contains(&from.as_str()));
                prop_assert!(path.contains(&to.as_str()));
                // One label per edge of the cycle.
                prop_assert_eq!(cycle.secondary.len() + 1, path.len() - 1);
            }
            other => prop_assert!(false, "expected a cycle, got {:?}", other.map(|c| c.len())),
        }
    }
}
