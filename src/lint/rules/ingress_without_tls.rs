use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR023",
    name: "ingress-without-tls",
    level: Level::Error,
    summary: "A service exposed through an Ingress without `tls_secret` (an error for critical services, a warning otherwise)",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every service with an `ingress` must name the Secret holding its certificate in
`tls_secret`. For a critical service the finding is an error; for any other, a warning
(raise or lower it in `[lint.rules]` like any rule; the milder form stays a warning).

## Why it matters
Without `tls_secret` the rendered Ingress has no `tls` section: the host is served over
plain HTTP, so credentials, session cookies and API tokens cross the internet in clear
text, and browsers mark the site insecure. Ingress controllers do not add TLS on their
own.

## Example
```toml
[services.api-gateway]
critical = true
ingress = { host = "api.example.com", path = "/" }
```

## How to fix
Create a `kubernetes.io/tls` Secret (by hand, with cert-manager, or from your secret
store) and name it:

```toml
ingress = { host = "api.example.com", path = "/", tls_secret = "api-example-com-tls" }
```

If TLS really ends before the cluster (a load balancer that terminates it), exempt the
service with that reason.
"#;

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let Some(ingress) = &svc.ingress else {
            continue;
        };
        if ingress.tls_secret.is_some() {
            continue;
        }
        let critical = *svc.critical.get_ref();
        let mut finding = RULE
            .finding(
                Some(svc.name.get_ref()),
                format!(
                    "`{}` is exposed at `{}` without TLS",
                    svc.name.get_ref(),
                    ingress.host.get_ref()
                ),
                ingress.host.span(),
                "served over plain HTTP",
            )
            .help(
                "add `tls_secret = \"<secret>\"` to `ingress`, naming a kubernetes.io/tls Secret with the host's certificate",
            );
        finding.at_most_warning = !critical;
        out.push(finding);
    }
    out
}
