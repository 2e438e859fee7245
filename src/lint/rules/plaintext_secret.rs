use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR008",
    name: "plaintext-secret",
    level: Level::Error,
    summary: "An `env` value that looks like a credential, by its name (`*PASSWORD*`, `*TOKEN*`, `*_KEY`, …) or its value (a password in a URL, a private key, a token), or an alert webhook URL that carries one",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r##"## What it checks
The plain `env` variables of every service (after environment overrides), by name and by
value.

A name, upper-cased, that contains `PASSWORD`, `PASSWD`, `PASSPHRASE`, `TOKEN`, `SECRET`,
`CREDENTIAL` or `PRIVATE_KEY`, or ends in `_KEY`, `_PASS`, `_PWD` or `_APIKEY`.

A value that holds:
- a password in a URL's user information (`postgres://app:hunter2@db:5432/shop`; a URL
  with only a user name, or none, is fine);
- a private key (`-----BEGIN … PRIVATE KEY-----`);
- a token of a well-known shape: GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and 36
  letters or digits, `github_pat_…`), AWS access key ids (`AKIA` and 16 capitals or
  digits), Slack (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`), Stripe live keys
  (`sk_live_`, `rk_live_`), Google API keys (`AIza` and 35 characters), and JSON Web Tokens
  (three base64url parts, the first starting `eyJ`).

Names like `KEYCLOAK_URL`, `LOG_LEVEL` or `TOKEN_TTL_SECONDS`-style settings with ordinary
values are not findings on their value; plain URLs and hosts never are.

The `url` of every `[alerting.receivers.<name>] webhook`, for the same values, for a
credential in its query (`token`, `access_token`, `api_key`, `apikey`, `key`, `secret`,
`signature`, `sig`, `password`, `auth`), and for the webhook URLs whose path is the
credential: Slack incoming webhooks (`hooks.slack.com/services/…`), Discord
(`discord.com/api/webhooks/…`) and Microsoft Teams (`….webhook.office.com`).

## Why it matters
`env` values are written into the service's ConfigMap and the rendered YAML, which are
committed, reviewed in pull requests and readable by anyone who can read ConfigMaps. A
credential there is leaked to every clone of the repository and stays in its history after
it is removed. A webhook URL is written into `alertmanager/alertmanager.yaml` and the
AlertmanagerConfig the same way; whoever has a Slack or Teams webhook URL can post to the
channel.

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

For a Slack webhook use the Slack receiver, whose URL stays in a Secret:
`slack = { channel = "#alerts", api_url_secret = "alertmanager-slack/url" }`. For another
webhook keep the credential out of the URL: the Alertmanager berrys targets reads a webhook
URL only from its configuration.

Rotate the credential if it was ever committed. If the variable holds no secret
(`TOKEN_TTL_SECONDS`), exempt it with a reason.
"##;

/// Whether a variable name looks like it holds a credential.
pub fn looks_like_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "TOKEN",
        "SECRET",
        "CREDENTIAL",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|w| upper.contains(w))
        || ["_KEY", "_PASS", "_PWD", "_APIKEY"]
            .iter()
            .any(|end| upper.ends_with(end))
}

/// What kind of credential a value holds, if it holds one.
pub fn credential_in_value(value: &str) -> Option<&'static str> {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") {
        return Some("a private key");
    }
    if url_with_password(value) {
        return Some("a password in a URL");
    }
    value
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '=')
        .find_map(token_shape)
}

/// Whether `value` has a URL whose user information carries a password
/// (`scheme://user:password@host`).
fn url_with_password(value: &str) -> bool {
    value.match_indices("://").any(|(at, _)| {
        let rest = &value[at + 3..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                !host.is_empty()
                    && userinfo
                        .split_once(':')
                        .is_some_and(|(_, password)| !password.is_empty())
            }
            None => false,
        }
    })
}

/// The kind of a word that has the shape of a well-known token.
fn token_shape(word: &str) -> Option<&'static str> {
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let tail_of = |prefix: &str| word.strip_prefix(prefix);
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        if tail_of(prefix).is_some_and(|t| t.len() == 36 && alnum(t)) {
            return Some("a GitHub token");
        }
    }
    if tail_of("github_pat_").is_some_and(|t| t.len() >= 20) {
        return Some("a GitHub token");
    }
    if tail_of("AKIA").is_some_and(|t| {
        t.len() == 16
            && t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    }) {
        return Some("an AWS access key id");
    }
    for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"] {
        if tail_of(prefix).is_some_and(|t| t.len() >= 10) {
            return Some("a Slack token");
        }
    }
    for prefix in ["sk_live_", "rk_live_"] {
        if tail_of(prefix).is_some_and(|t| t.len() >= 16 && alnum(t)) {
            return Some("a Stripe live key");
        }
    }
    let url_safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if tail_of("AIza").is_some_and(|t| t.len() == 35 && url_safe(t)) {
        return Some("a Google API key");
    }
    let parts: Vec<&str> = word.split('.').collect();
    if parts.len() == 3
        && word.starts_with("eyJ")
        && parts.iter().all(|p| url_safe(p) && p.len() >= 8)
    {
        return Some("a JSON Web Token");
    }
    None
}

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, raw) in &c.platform.raw.services {
        for (var, value) in &raw.get_ref().env {
            let (var_name, svc) = (var.get_ref(), name.get_ref());
            let text = value.get_ref().as_str();
            let (message, label) = if let Some(kind) = credential_in_value(text) {
                (
                    format!("`{var_name}` of `{svc}` holds {kind} in plain text"),
                    format!("{kind}, written into the ConfigMap"),
                )
            } else if looks_like_credential(var_name) {
                (
                    format!("`{var_name}` of `{svc}` looks like a credential but is a plain value"),
                    "written into the ConfigMap in plain text".to_string(),
                )
            } else {
                continue;
            };
            out.push(
                RULE.finding(Some(svc), message, value.span(), label).help(format!(
                    "keep it in a Secret and reference it: `secrets = {{ {var_name} = \"<secret>/<key>\" }}`"
                )),
            );
        }
    }
    out.extend(webhook_findings(c));
    out
}

/// The alert webhooks whose URL carries a credential.
fn webhook_findings(c: &Compiled) -> Vec<Finding> {
    let Some(alerting) = &c.platform.raw.alerting else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, receiver) in &alerting.get_ref().receivers {
        let Some(webhook) = &receiver.get_ref().webhook else {
            continue;
        };
        let url = &webhook.get_ref().url;
        let Some(kind) =
            credential_in_value(url.get_ref()).or_else(|| credential_in_url(url.get_ref()))
        else {
            continue;
        };
        let help = if kind == SLACK_WEBHOOK {
            "use the Slack receiver, whose URL stays in a Secret: `slack = { channel = \"#…\", api_url_secret = \"<secret>/<key>\" }`".to_string()
        } else {
            "keep the credential out of the URL (Alertmanager reads a webhook URL only from its configuration); if the URL is not secret, exempt BR008 with a reason".to_string()
        };
        out.push(
            RULE.finding(
                None,
                format!(
                    "the webhook of receiver `{}` holds {kind} in plain text",
                    name.get_ref()
                ),
                url.span(),
                format!("{kind}, written into the Alertmanager configuration"),
            )
            .help(help),
        );
    }
    out
}

const SLACK_WEBHOOK: &str = "a Slack webhook URL";

/// Query parameters that carry a credential.
const CREDENTIAL_PARAMETERS: [&str; 10] = [
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "signature",
    "sig",
    "password",
    "auth",
];

/// What credential a webhook URL carries besides [`credential_in_value`]'s: one in its
/// query, or a path that is the credential itself.
pub fn credential_in_url(url: &str) -> Option<&'static str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = address.split_once('/').unwrap_or((address, ""));
    let host = host.to_ascii_lowercase();
    if host == "hooks.slack.com" && path.starts_with("services/") {
        return Some(SLACK_WEBHOOK);
    }
    if matches!(host.as_str(), "discord.com" | "discordapp.com")
        && path.starts_with("api/webhooks/")
    {
        return Some("a Discord webhook URL");
    }
    if host.ends_with(".webhook.office.com") {
        return Some("a Microsoft Teams webhook URL");
    }
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .any(|(key, value)| {
            !value.is_empty() && CREDENTIAL_PARAMETERS.contains(&key.to_ascii_lowercase().as_str())
        })
        .then_some("a credential in its query")
}

#[cfg(test)]
mod tests {
    use super::looks_like_credential as l;

    use super::credential_in_value as v;

    #[test]
    fn values() {
        assert_eq!(
            v("postgres://app:hunter2@db.internal:5432/shop"),
            Some("a password in a URL")
        );
        assert_eq!(
            v("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----"),
            Some("a private key")
        );
        assert_eq!(
            v(&format!("ghp_{}", "a1".repeat(18))),
            Some("a GitHub token")
        );
        assert_eq!(v("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key id"));
        assert_eq!(v("xoxb-1234567890-abcdef"), Some("a Slack token"));
        assert_eq!(
            v("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            Some("a Stripe live key")
        );
        assert_eq!(
            v(&format!("AIza{}", "x".repeat(35))),
            Some("a Google API key")
        );
        assert_eq!(
            v(
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
            ),
            Some("a JSON Web Token")
        );
    }

    #[test]
    fn ordinary_values_are_not_credentials() {
        for value in [
            "postgres://db.internal/shop",
            "https://user@example.com/path",
            "https://example.com/a:b@c",
            "http://model-orchestration:8080",
            "debug",
            "info",
            "AKIA",
            "ghp_short",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "a.b.c",
            "redis://cache:6379/0",
        ] {
            assert_eq!(v(value), None, "{value}");
        }
    }

    #[test]
    fn webhook_urls() {
        use super::credential_in_url as u;
        assert_eq!(
            u("https://hooks.slack.com/services/T000/B000/XXXXXXXX"),
            Some("a Slack webhook URL")
        );
        assert_eq!(
            u("https://discord.com/api/webhooks/1/abc"),
            Some("a Discord webhook URL")
        );
        assert_eq!(
            u("https://contoso.webhook.office.com/webhookb2/abc"),
            Some("a Microsoft Teams webhook URL")
        );
        assert_eq!(
            u("https://tickets.example.com/hook?team=a&Token=s3cr3t"),
            Some("a credential in its query")
        );
        for url in [
            "https://tickets.example.com/alertmanager",
            "https://tickets.example.com/hook?team=platform&token=",
            "https://tickets.example.com/hook#key=x",
            "https://hooks.slack.com/",
            "http://alert-bridge.monitoring.svc:9095/alert",
        ] {
            assert_eq!(u(url), None, "{url}");
        }
    }

    #[test]
    fn names() {
        assert!(l("DB_PASSWORD") && l("api_token") && l("CLIENT_SECRET") && l("STRIPE_KEY"));
        assert!(!l("KEYCLOAK_URL") && !l("LOG_LEVEL") && !l("KEY"));
        assert!(
            l("DB_PASS") && l("SMTP_PASSWD") && l("GCP_CREDENTIALS") && l("SSH_PRIVATE_KEY_PEM")
        );
        assert!(!l("PASSENGER_COUNT") && !l("COMPASS_URL"));
    }
}
