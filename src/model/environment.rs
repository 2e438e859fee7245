//! Environments: their service and alerting overrides merged over the document tree, and
//! their names.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::RawDocument;

/// The `environments.<env>` table.
fn env_entry<'d, 'a>(doc: &'d Spanned<DeTable<'a>>, env: &str) -> Option<&'d DeTable<'a>> {
    doc.get_ref()
        .get("environments")
        .and_then(|e| e.get_ref().as_table())
        .and_then(|envs| envs.get(env))
        .and_then(|e| e.get_ref().as_table())
}

/// A table of `environments.<env>` (`services`, `alerting`), if the environment has it.
fn env_table<'d, 'a>(
    doc: &'d Spanned<DeTable<'a>>,
    env: &str,
    key: &str,
) -> Option<&'d DeTable<'a>> {
    env_entry(doc, env)
        .and_then(|e| e.get(key))
        .and_then(|s| s.get_ref().as_table())
}

/// Whether an environment overrides a service or the alerting (its document differs from
/// the base one).
pub fn has_overrides(doc: &Spanned<DeTable<'_>>, env: &str) -> bool {
    env_table(doc, env, "services").is_some_and(|s| !s.is_empty())
        || env_table(doc, env, "alerting").is_some()
}

/// Merges `environments.<env>.services.<svc>` tables over `services.<svc>`, and
/// `environments.<env>.alerting` over `alerting`, in the document tree: tables merge by
/// key, scalars and arrays replace. Values keep the spans of the place they were written,
/// so diagnostics in an environment point at the override.
pub fn apply_environment<'a>(doc: &Spanned<DeTable<'a>>, env: &str) -> Spanned<DeTable<'a>> {
    let mut root = doc.clone();
    let overrides: Vec<(Spanned<std::borrow::Cow<'a, str>>, Spanned<DeValue<'a>>)> =
        env_table(doc, env, "services")
            .map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
    if let Some(services) = root
        .get_mut()
        .get_mut("services")
        .and_then(|s| match s.get_mut() {
            DeValue::Table(t) => Some(t),
            _ => None,
        })
    {
        for (name, value) in overrides {
            // An override of a service that does not exist is reported by the base check.
            if let Some(target) = services.get_mut(name.get_ref().as_ref()) {
                merge_value(target, value);
            }
        }
    }
    let alerting = env_entry(doc, env)
        .and_then(|e| e.get_key_value("alerting"))
        .filter(|(_, v)| v.get_ref().as_table().is_some())
        .map(|(k, v)| (k.clone(), v.clone()));
    if let Some((key, value)) = alerting {
        let table = root.get_mut();
        match table.get_mut("alerting") {
            Some(target) => merge_value(target, value),
            None => {
                table.insert(key, value);
            }
        }
    }
    root
}

fn merge_value<'a>(target: &mut Spanned<DeValue<'a>>, value: Spanned<DeValue<'a>>) {
    let span = value.span();
    match (target.get_mut(), value.into_inner()) {
        (DeValue::Table(base), DeValue::Table(over)) => {
            for (k, v) in over {
                match base.get_mut(k.get_ref().as_ref()) {
                    Some(existing) => merge_value(existing, v),
                    None => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (_, other) => *target = Spanned::new(span, other),
    }
}

/// Names of the environments, in file order of their names (sorted).
pub fn environment_names(raw: &RawDocument) -> Vec<String> {
    raw.environments
        .keys()
        .map(|k| k.get_ref().clone())
        .collect()
}
