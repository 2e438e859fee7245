use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::capacity;

pub const RULE: Rule = Rule {
    code: "BR003",
    name: "pool-overcommit",
    level: Level::Error,
    summary: "A datastore's pools at maximum replicas plus the pods a release adds (surge, blue-green) exceed its connections (warning above 80 %)",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
For every datastore, the connections its clients can open at once: for each service that
uses it, the pool profile's `max` × (the service's maximum replicas + the pods its release
strategy adds). A rolling update, and a canary weighted by replicas, add the `maxSurge` of
25 % at maximum replicas, rounded up; a blue-green release runs both versions at full size
during the switch (`(8 + 8 blue-green)`); an nginx canary runs the canary at its weight
while the stable version is scaled for the rest, and an abort scales the stable version back
to full size before the canary goes (`(8 + 6 canary)` for steps up to 75 %). With
autoscaling off the maximum is the fixed replica count. The sum is compared with
`max_connections − reserved_connections`: above it is an error, above 80 % of it a warning.
Each contributing pool is labelled with its share, e.g. `agent-orchestrator: 20 × (8 + 2) =
200 of 990`.
`berrys capacity` prints the same figures for every datastore, at minimum and at peak.

## Why it matters
Every pod opens up to its pool's maximum. When the autoscaler reaches its maximum during a
rollout, the sum arrives at the database at once; beyond its limit new connections are
refused and requests fail across every service that shares it, not just the one that grew.
A platform sized for rolling updates can overcommit its database the day a service turns
blue-green: the switch doubles that service's pods, and every pod holds its pool.
Below 100 % but above 80 % there is no headroom for a manual scale-up, a migration job or a
second rollout.

## Example
```toml
[pools.default]
max = 20

[datastores.postgres]
max_connections = 200

[services.api]
scaling = { tier = "standard", max_replicas = 8 }   # 20 × (8 + 2) = 200 of 200
datastores = { postgres = "default" }
```

## How to fix
Lower the pool `max` (a pool larger than a pod's concurrency only holds idle connections),
lower `max_replicas`, put a connection pooler (PgBouncer) in front and count its limit as
`max_connections`, or raise `max_connections`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for load in capacity::datastore_loads(&c.platform) {
        if load.users.is_empty() || !load.low_headroom() {
            continue;
        }
        let (ds, total, capacity) = (load.datastore, load.at_peak, load.usable);
        let name = ds.name.get_ref();
        let message = if load.exceeds() {
            format!(
                "datastore `{name}` can be asked for {total} connections but accepts {capacity}"
            )
        } else {
            format!(
                "datastore `{name}` can be asked for {total} of its {capacity} connections ({}%), above 80%",
                load.peak_percent()
            )
        };
        let mut f = RULE
            .finding(
                None,
                message,
                ds.max_connections.span(),
                format!(
                    "max_connections {} − reserved {} = {capacity}",
                    ds.max_connections.get_ref(),
                    ds.reserved_connections
                ),
            )
            .help(
                "each pod opens up to its pool's `max`, at maximum replicas plus the pods a release adds (25% surge; blue-green: both versions): lower pool `max` or `max_replicas`, or raise `max_connections`",
            );
        f.at_most_warning = !load.exceeds();
        for user in &load.users {
            f = f.label(
                user.span.clone(),
                format!(
                    "{}: {} × {} = {} of {capacity}",
                    user.service.name.get_ref(),
                    user.pool_max,
                    user.peak.formula(),
                    user.at_peak()
                ),
            );
        }
        out.push(f);
    }
    out
}
