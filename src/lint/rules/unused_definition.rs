use std::collections::BTreeSet;

use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::Sp;
use crate::model::alerting::NONE_RECEIVER;
use crate::model::raw::{RawAlerting, RawDelivery, RawScaling};

pub const RULE: Rule = Rule {
    code: "BR017",
    name: "unused-definition",
    level: Level::Warning,
    summary: "A tier, pool, datastore, delivery profile, receiver or team nobody uses",
    docs: DOCS,
    check: Check::EveryEnvironment(check),
};

const DOCS: &str = r#"## What it checks
Every `[scaling.<tier>]`, `[rate_limits.<tier>]`, `[pools.<profile>]`,
`[datastores.<name>]`, `[delivery.<profile>]` and `[alerting.teams.<team>]`: at least one
service must use it. Every `[alerting.receivers.<name>]`, the platform's or an
environment's: at least one route of the file (`[alerting.routes]`, a team's, or an
environment's `alerting`) must name it.

A definition is reported only when it is unused in every environment linted: the file as
written and each environment with its overrides. A tier only production's
`services.api = { scaling = "large" }` uses is used. With `--env`, the environment named
is the only one judged.

## Why it matters
An unused definition is either dead configuration that readers must still understand and
keep consistent, or a sign of a typo elsewhere that happened to name another existing
definition. A datastore nobody uses still looks like capacity that is being accounted for;
a receiver no route names looks like someone is told when nobody is.

## Example
```toml
[pools.large]          # no service has `datastores = { … = "large" }`
max = 50
```

```toml
[alerting.receivers.oncall]     # no route says `page = "oncall"`
pagerduty = { routing_key_secret = "alertmanager-pagerduty/routing-key" }
```

## How to fix
Remove the definition, or use it where it was meant to be used.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let raw = &c.platform.raw;
    let mut tiers = BTreeSet::new();
    let mut limits = BTreeSet::new();
    let mut pools = BTreeSet::new();
    let mut datastores = BTreeSet::new();
    let mut deliveries = BTreeSet::new();
    for svc in raw.services.values() {
        let svc = svc.get_ref();
        match svc.delivery.as_ref().map(|d| d.get_ref()) {
            Some(RawDelivery::Profile(p)) => {
                deliveries.insert(p.as_str());
            }
            Some(RawDelivery::Inline(o)) => {
                if let Some(p) = &o.profile {
                    deliveries.insert(p.get_ref().as_str());
                }
            }
            None => {}
        }
        match svc.scaling.as_ref().map(|s| s.get_ref()) {
            Some(RawScaling::Tier(t)) => {
                tiers.insert(t.as_str());
            }
            Some(RawScaling::Inline(o)) => {
                tiers.insert(o.tier.get_ref().as_str());
            }
            None => {}
        }
        if let Some(r) = &svc.rate_limit {
            limits.insert(r.get_ref().as_str());
        }
        for (ds, pool) in &svc.datastores {
            datastores.insert(ds.get_ref().as_str());
            pools.insert(pool.get_ref().as_str());
        }
    }
    let mut out = Vec::new();
    let mut unused =
        |kind: &str, table: &str, key: &toml::Spanned<String>, used: &BTreeSet<&str>| {
            if used.contains(key.get_ref().as_str()) {
                return;
            }
            out.push(
                RULE.finding(
                    None,
                    format!("{kind} `{}` is not used by any service", key.get_ref()),
                    key.span(),
                    "unused",
                )
                .help(format!(
                    "remove `[{table}.{}]`, or refer to it from a service",
                    key.get_ref()
                )),
            );
        };
    for key in raw.scaling.keys() {
        unused("scaling tier", "scaling", key, &tiers);
    }
    for key in raw.rate_limits.keys() {
        unused("rate-limit tier", "rate_limits", key, &limits);
    }
    for key in raw.pools.keys() {
        unused("pool profile", "pools", key, &pools);
    }
    for key in raw.datastores.keys() {
        unused("datastore", "datastores", key, &datastores);
    }
    for key in raw.delivery.keys() {
        unused("delivery profile", "delivery", key, &deliveries);
    }
    if let Some(alerting) = &raw.alerting {
        let alerting = alerting.get_ref();
        let teams: BTreeSet<&str> = raw
            .services
            .values()
            .filter_map(|s| s.get_ref().team.as_ref())
            .map(|t| t.get_ref().as_str())
            .collect();
        for key in alerting.teams.keys() {
            unused("team", "alerting.teams", key, &teams);
        }
    }
    out.extend(unused_receivers(c));
    out
}

/// The receivers one `[alerting]` table, or an environment's partial one, routes to.
fn routed_by(alerting: &RawAlerting) -> impl Iterator<Item = &str> {
    alerting
        .routes
        .iter()
        .map(Sp::get_ref)
        .chain(alerting.teams.values().map(Sp::get_ref))
        .flat_map(|r| [&r.page, &r.ticket, &r.info])
        .flatten()
        .map(|name| name.get_ref().as_str())
}

/// Receivers that no route of the file names: the platform's `[alerting]` and every
/// environment's own, whichever environment is linted (each reports the same, so the
/// finding stands everywhere). A team's routes count whether or not a service is in the
/// team (the team itself is reported then).
fn unused_receivers(c: &Compiled) -> Vec<Finding> {
    let raw = &c.platform.base_raw;
    let tables: Vec<&RawAlerting> = raw
        .alerting
        .iter()
        .map(Sp::get_ref)
        .chain(
            raw.environments
                .values()
                .filter_map(|e| e.get_ref().alerting.as_ref().map(Sp::get_ref)),
        )
        .collect();
    let routed: BTreeSet<&str> = tables.iter().flat_map(|a| routed_by(a)).collect();
    tables
        .iter()
        .flat_map(|a| a.receivers.keys())
        .filter(|k| k.get_ref() != NONE_RECEIVER && !routed.contains(k.get_ref().as_str()))
        .map(|key| {
            RULE.finding(
                None,
                format!("receiver `{}` is not named by any route", key.get_ref()),
                key.span(),
                "unused",
            )
            .help(format!(
                "remove `[alerting.receivers.{}]`, or route a severity to it in `[alerting.routes]` or a team",
                key.get_ref()
            ))
        })
        .collect()
}
