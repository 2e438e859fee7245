//! BR001 dependency-cycle: found while building the graph (src/graph.rs, which builds the
//! diagnostic), because deployment cannot be ordered around a cycle.

use crate::diagnostic::codes::DEPENDENCY_CYCLE;
use crate::lint::{Check, Level, Rule};

pub const RULE: Rule = Rule {
    code: DEPENDENCY_CYCLE.code,
    name: DEPENDENCY_CYCLE.name,
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
