//! Alert annotations from `templates/alerts.txt`: minijinja with strict undefined, and a
//! plain path for templates that only substitute names.

use std::collections::{BTreeMap, HashMap};

use crate::render::error::RenderError;

/// Renders alert annotations from `templates/alerts.txt`.
pub struct Annotations {
    env: minijinja::Environment<'static>,
    /// Templates that are only text and `{{ name }}` substitutions, split once, so each of
    /// the thousands of alerts of a large platform is a concatenation, not a template run.
    /// Anything else in a template (a filter, a block, whitespace control) leaves it to
    /// minijinja.
    plain: HashMap<String, Vec<Piece>, foldhash::fast::FixedState>,
    runbook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(String),
}

/// The pieces of a template made only of text and `{{ name }}`, or `None`.
fn plain_pieces(source: &str) -> Option<Vec<Piece>> {
    if source.contains("{%") || source.contains("{#") {
        return None;
    }
    let mut pieces = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let (text, after) = rest.split_at(open);
        let close = after.find("}}")?;
        let name = after[2..close].trim();
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name || after[2..close].starts_with('-') || after[2..close].ends_with('-') {
            return None;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        pieces.push(Piece::Var(name.to_string()));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return None;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Some(pieces)
}

const ALERT_TEMPLATES: &str = include_str!("../../../templates/alerts.txt");

impl Annotations {
    pub fn new(runbook_url: Option<String>) -> Result<Annotations, RenderError> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut plain = HashMap::default();
        let mut name: Option<&str> = None;
        let mut body = String::new();
        let mut add = |name: Option<&str>, body: &str| -> Result<(), RenderError> {
            if let Some(n) = name {
                let source = body.trim_end();
                env.add_template_owned(n.to_string(), source.to_string())
                    .map_err(template_error)?;
                if let Some(pieces) = plain_pieces(source) {
                    plain.insert(n.to_string(), pieces);
                }
            }
            Ok(())
        };
        for line in ALERT_TEMPLATES.lines() {
            if let Some(header) = line.strip_prefix("## ") {
                add(name, &body)?;
                body.clear();
                // Lines with spaces after `## ` are comments of the file.
                name = (!header.contains(' ')).then_some(header);
            } else {
                body.push_str(line);
                body.push('\n');
            }
        }
        add(name, &body)?;
        Ok(Annotations {
            env,
            plain,
            runbook_url,
        })
    }

    /// Whether every annotation of `alert` is text and `{{ name }}` substitutions, which put
    /// a value in as it is (what the rule-group patterns of `super::reuse` rely on).
    pub fn is_plain(&self, alert: &str) -> bool {
        ["summary", "description"]
            .iter()
            .all(|key| self.plain.contains_key(&format!("{alert}.{key}")))
    }

    pub fn render(
        &self,
        alert: &str,
        service: &str,
        ctx: &BTreeMap<&str, String>,
    ) -> Result<BTreeMap<String, String>, RenderError> {
        let mut out = BTreeMap::new();
        let mut name = String::with_capacity(alert.len() + 12);
        for key in ["summary", "description"] {
            name.clear();
            name.push_str(alert);
            name.push('.');
            name.push_str(key);
            let text = match self.plain.get(&name) {
                Some(pieces) => fill(pieces, ctx).ok_or_else(|| RenderError::Serialise {
                    kind: "alert annotation".to_string(),
                    message: format!("{name}: a variable of the template is not defined"),
                })?,
                None => self
                    .env
                    .get_template(&name)
                    .and_then(|t| t.render(ctx))
                    .map_err(template_error)?,
            };
            out.insert(key.to_string(), text);
        }
        if let Some(url) = &self.runbook_url {
            out.insert(
                "runbook_url".to_string(),
                url.replace("{service}", service).replace("{alert}", alert),
            );
        }
        Ok(out)
    }
}

/// A plain template with its variables from `ctx`; `None` when one is missing (what strict
/// undefined makes an error).
fn fill(pieces: &[Piece], ctx: &BTreeMap<&str, String>) -> Option<String> {
    let mut out = String::with_capacity(128);
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => out.push_str(ctx.get(v.as_str())?),
        }
    }
    Some(out)
}

fn template_error(e: minijinja::Error) -> RenderError {
    RenderError::serialise("alert annotation", e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_alert_templates_print_what_minijinja_prints() {
        let a = Annotations::new(None).unwrap();
        // Every template of alerts.txt is plain today; a filter or a block would move it
        // back to minijinja, and this test would show which.
        assert!(a.plain.len() >= 16, "{} plain templates", a.plain.len());
        let odd = [
            "a \"quoted\" {x}",
            "<&>'",
            "ünï",
            "",
            "100",
            "{{ not a var }}",
        ];
        for (i, value) in odd.iter().enumerate() {
            for (name, pieces) in &a.plain {
                let mut ctx: BTreeMap<&str, String> = BTreeMap::new();
                for p in pieces {
                    if let Piece::Var(v) = p {
                        ctx.insert(v.as_str(), format!("{value}{i}"));
                    }
                }
                let by_minijinja = a.env.get_template(name).unwrap().render(&ctx).unwrap();
                assert_eq!(fill(pieces, &ctx).unwrap(), by_minijinja, "{name}");
            }
        }
    }

    #[test]
    fn only_text_and_names_are_plain() {
        assert_eq!(
            plain_pieces("a {{ b }}c{{d}}"),
            Some(vec![
                Piece::Text("a ".into()),
                Piece::Var("b".into()),
                Piece::Text("c".into()),
                Piece::Var("d".into())
            ])
        );
        for source in [
            "{{ b|upper }}",
            "{% if b %}x{% endif %}",
            "{{- b }}",
            "{{ b -}}",
            "{# c #}",
            "{{ b",
            "b }}",
            "{{ b.c }}",
        ] {
            assert_eq!(plain_pieces(source), None, "{source}");
        }
        let ctx: BTreeMap<&str, String> = BTreeMap::new();
        assert_eq!(fill(&[Piece::Var("missing".into())], &ctx), None);
    }
}
