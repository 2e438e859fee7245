use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR008",
    name: "plaintext-secret",
    level: Level::Error,
    summary: "An `env` value whose name looks like a credential (`*PASSWORD*`, `*TOKEN*`, `*SECRET*`, `*_KEY`)",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
The plain `env` variables of every service (after environment overrides): a variable whose
name, upper-cased, contains `PASSWORD`, `TOKEN` or `SECRET`, or ends in `_KEY`.

## Why it matters
`env` values are written into the service's ConfigMap and the rendered YAML, which are
committed, reviewed in pull requests and readable by anyone who can read ConfigMaps. A
credential there is leaked to every clone of the repository and stays in its history after
it is removed.

## Example
```toml
[services.api]
env = { DATABASE_PASSWORD = "hunter2" }
```

## How to fix
Store the value in a Kubernetes Secret and reference it; berrys renders a `secretKeyRef`:

```toml
[services.api]
secrets = { DATABASE_PASSWORD = "api-db/password" }   # Secret `api-db`, key `password`
```

Rotate the credential if it was ever committed. If the variable holds no secret
(`TOKEN_TTL_SECONDS`), exempt it with a reason.
"#;

/// Whether a variable name looks like it holds a credential.
pub fn looks_like_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "TOKEN", "SECRET"]
        .iter()
        .any(|w| upper.contains(w))
        || upper.ends_with("_KEY")
}

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, raw) in &c.platform.raw.services {
        for (var, value) in &raw.get_ref().env {
            if !looks_like_credential(var.get_ref()) {
                continue;
            }
            out.push(
                RULE.finding(
                    Some(name.get_ref()),
                    format!(
                        "`{}` of `{}` looks like a credential but is a plain value",
                        var.get_ref(),
                        name.get_ref()
                    ),
                    value.span(),
                    "written into the ConfigMap in plain text",
                )
                .help(format!(
                    "keep it in a Secret and reference it: `secrets = {{ {} = \"<secret>/<key>\" }}`",
                    var.get_ref()
                )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::looks_like_credential as l;

    #[test]
    fn names() {
        assert!(l("DB_PASSWORD") && l("api_token") && l("CLIENT_SECRET") && l("STRIPE_KEY"));
        assert!(!l("KEYCLOAK_URL") && !l("LOG_LEVEL") && !l("KEY"));
    }
}
