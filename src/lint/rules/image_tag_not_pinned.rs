use crate::graph::Compiled;
use crate::lint::{Check, Finding, Level, Rule};

pub const RULE: Rule = Rule {
    code: "BR007",
    name: "image-tag-not-pinned",
    level: Level::Warning,
    summary: "An image without a tag, or tagged `latest`",
    docs: DOCS,
    check: Check::Platform(check),
};

const DOCS: &str = r#"## What it checks
Every service's `image`: it must carry a tag other than `latest` (`api:2.4.1`) or be pinned
by digest (`api@sha256:…`). A registry port (`localhost:5000/api`) is not a tag.

## Why it matters
Without a tag the runtime pulls `latest`, and `latest` moves: two pods of the same
Deployment can run different code, a rollback redeploys whatever is newest, and the rendered
manifests no longer say what runs. A pod template that does not change also does not roll
out when the image behind the tag does.

## Example
```toml
[services.api]
image = "api:latest"
```

## How to fix
Use an immutable tag (a version or a commit SHA), or pin the digest:
`image = "api@sha256:<digest>"`.
"#;

/// The tag of an image reference, if any (`None` for digests too).
fn tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return Some("@digest");
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t)
}

fn check(c: &Compiled) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in c.platform.services.values() {
        let image = svc.image.get_ref();
        let problem = match tag(image) {
            None => "has no tag, so it means `latest`",
            Some("latest") => "is tagged `latest`",
            Some(_) => continue,
        };
        out.push(
            RULE.finding(
                Some(svc.name.get_ref()),
                format!("image `{image}` of `{}` {problem}", svc.name.get_ref()),
                svc.image.span(),
                "not pinned",
            )
            .help("use an immutable tag (a version or commit) or a digest: `name@sha256:<digest>`"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tag;

    #[test]
    fn tags() {
        assert_eq!(tag("api:1.2"), Some("1.2"));
        assert_eq!(tag("localhost:5000/team/api"), None);
        assert_eq!(tag("localhost:5000/team/api:latest"), Some("latest"));
        assert_eq!(tag("api@sha256:abc"), Some("@digest"));
        assert_eq!(tag("api"), None);
    }
}
