//! BR002 unknown-reference: found while resolving the model (src/model), which cannot
//! build a service whose tier, pool or dependency does not exist; the diagnostic is built
//! by `diagnostic::unknown_reference`.

use crate::diagnostic::codes::UNKNOWN_REFERENCE;
use crate::lint::{Check, Level, Rule};

pub const RULE: Rule = Rule {
    code: UNKNOWN_REFERENCE.code,
    name: UNKNOWN_REFERENCE.name,
    level: Level::Error,
    summary: "A dependency, tier, pool, datastore or environment override that does not exist (with \"did you mean\")",
    docs: DOCS,
    check: Check::Compile,
};

const DOCS: &str = r#"## What it checks
Every name that refers to something defined elsewhere in the file: `depends_on` and
`soft_depends_on` (services), `scaling` (a `[scaling.<tier>]`), `rate_limit` (a
`[rate_limits.<tier>]`), the keys and values of `datastores` (a `[datastores.<name>]` and a
`[pools.<profile>]`), the services of `[environments.<env>.services]`, and the rules,
services and environments named in `[lint]`. A misspelt name gets the closest defined one as
a suggestion.

## Why it matters
A reference to nothing cannot be rendered: there is no tier to size the HPA, no pool to size
connections, no service to open the NetworkPolicy to. Silently ignoring it would deploy
something other than what the file says. The platform cannot be compiled until it is fixed,
so this rule cannot be lowered or exempted.

## Example
```toml
[services.api]
depends_on = ["planing-system"]   # did you mean `planning-system`?
```

## How to fix
Correct the name (the help line suggests the closest one), or define what it refers to.
"#;
