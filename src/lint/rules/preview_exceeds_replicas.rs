use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};
use crate::model::Strategy;

pub const RULE: Rule = Rule {
    code: "BR028",
    name: "preview-exceeds-replicas",
    level: Level::Warning,
    summary: "A blue-green preview with more replicas than the service ever runs",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
For every service with a blue-green delivery profile, `preview_replicas` (the pods of the
new version before the switch) against the service's maximum replicas.

## Why it matters
The preview exists to try the new version on a few pods before it takes the traffic; after
the switch the new version runs at the service's own size. A preview larger than the
largest the service ever runs is almost always a slip (a count for the whole platform, or
a digit too many): every release then asks the cluster for more pods than the service is
sized for, beside the old version still running at full size. BR003 and BR011 count those
pods, so the finding often comes with a quota or connection finding.

## Example
```toml
[delivery.blue-green]
strategy = "blue-green"
preview_replicas = 12

[services.billing]
replicas = 3            # the preview runs 12 pods beside the 3 of the old version
delivery = "blue-green"
```

## How to fix
Lower `preview_replicas` to at most the maximum replicas, or leave it out: the preview then
runs at full size.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(Strategy::BlueGreen(blue_green)) = svc.delivery.as_ref().map(|d| &d.strategy)
        else {
            continue;
        };
        let Some(preview) = &blue_green.preview_replicas else {
            continue;
        };
        let max = svc.replicas.max();
        let count = *preview.get_ref();
        if count <= max {
            continue;
        }
        let name = svc.name.get_ref();
        out.push(
            RULE.finding(
                Some(name),
                format!(
                    "the preview of `{name}` runs {count} replicas, more than the {max} it runs at most"
                ),
                preview.span(),
                format!("{count} preview pods"),
            )
            .label(
                crate::lint::max_replicas_span(svc),
                format!("{max} replicas at most"),
            )
            .help(format!(
                "set `preview_replicas` to at most {max}, or leave it out so the preview runs at full size"
            )),
        );
    }
    out
}
