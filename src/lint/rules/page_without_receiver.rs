use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::alerting::{NONE_RECEIVER, Severity};

pub const RULE: Rule = Rule {
    code: "BR022",
    name: "page-without-receiver",
    level: Level::Error,
    summary: "A critical service whose pages reach no one",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
When the platform has an `[alerting]` table: every service with `critical = true` must
have its page alerts routed to a receiver, by its team's `page` route or the platform's
`[alerting.routes] page`, and that receiver must not be the built-in `none`.

## Why it matters
A critical service is one whose outage needs an immediate response. Its ServiceDown and
fast burn-rate alerts are pages; routed to nobody, or to `none` (which drops them), they
fire on dashboards while nobody is woken, and the platform believes it has on-call
coverage it does not have.

## Example
```toml
[alerting.routes]
ticket = "tickets"        # no `page` route

[services.payments]
critical = true
```

## How to fix
Route pages to a receiver: `page = "oncall"` in `[alerting.routes]`, or in the service's
team (`[alerting.teams.<team>] page = "…"`). If the service does not need an immediate
response, it is not critical: set `critical = false`.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let Some(alerting) = &c.platform.alerting else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        if !*svc.critical.get_ref() {
            continue;
        }
        let team = svc.team.as_ref().map(|t| t.get_ref().as_str());
        let page = alerting.destination(team, Severity::Page);
        if page.receiver != NONE_RECEIVER {
            continue;
        }
        let name = svc.name.get_ref();
        let mut finding = RULE
            .finding(
                Some(name),
                format!("the pages of critical service `{name}` reach no receiver"),
                svc.critical.span(),
                "critical: its outage pages",
            )
            .help(match team {
                Some(team) => format!(
                    "set `page = \"<receiver>\"` in `[alerting.routes]` or `[alerting.teams.{team}]`"
                ),
                None => "set `page = \"<receiver>\"` in `[alerting.routes]`".to_string(),
            });
        finding = match page.span {
            Some(route) => finding.label(route, "pages go to `none`, which drops them"),
            None => finding.label(alerting.span.clone(), "no `page` route here"),
        };
        out.push(finding);
    }
    out
}
