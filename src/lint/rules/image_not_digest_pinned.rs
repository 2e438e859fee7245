use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR026",
    name: "image-not-digest-pinned",
    // Opt-in: an immutable tag (BR007) is the common standard; a digest is the strict one.
    level: Level::Allow,
    summary: "An image not pinned by digest (opt-in)",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Off unless enabled (`[lint] rules = { image-not-digest-pinned = "error" }`). Every
service's `image` must be pinned by digest: `api@sha256:<64 hex digits>` (a tag may stand
before it, `api:2.4.1@sha256:…`, and is then only informative).

## Why it matters
A tag is a name a registry may move: `api:2.4.1` can be pushed again, by mistake or by an
attacker with push rights, and every new pod then runs the new image without a change to a
manifest. A digest names the bytes, so the rendered manifest says exactly what runs, and
admission policies and scanners (checkov CKV_K8S_43) can rely on it. BR007 already rejects
`latest` and missing tags; this rule is for platforms that want the stronger guarantee.

## Example
```toml
[lint]
rules = { image-not-digest-pinned = "error" }

[services.api]
image = "api:2.4.1"
```

## How to fix
Resolve the tag once (`crane digest registry.example.com/api:2.4.1`, or
`docker buildx imagetools inspect`) and write `image = "api:2.4.1@sha256:<digest>"`;
let the tool that updates images (Renovate, Dependabot) keep the digest current.
"#;

/// Whether an image reference carries a well-formed sha256 digest.
fn has_digest(image: &str) -> bool {
    image.rsplit_once("@sha256:").is_some_and(|(_, digest)| {
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn check(c: &Compiled) -> Vec<Finding> {
    c.platform
        .services
        .values()
        .filter(|svc| !has_digest(svc.image.get_ref()))
        .map(|svc| {
            RULE.finding(
                Some(svc.name.get_ref()),
                format!(
                    "image `{}` of `{}` is not pinned by digest",
                    svc.image.get_ref(),
                    svc.name.get_ref()
                ),
                svc.image.span(),
                "a tag can be moved",
            )
            .help("append the digest the tag resolves to: `name:tag@sha256:<digest>`")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::has_digest;

    #[test]
    fn digests() {
        let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert!(has_digest(&format!("api@sha256:{digest}")));
        assert!(has_digest(&format!(
            "registry.example.com/api:2.4.1@sha256:{digest}"
        )));
        assert!(!has_digest("api:2.4.1"));
        assert!(!has_digest("api@sha256:abc"));
        assert!(!has_digest(&format!("api@sha512:{digest}")));
    }
}
