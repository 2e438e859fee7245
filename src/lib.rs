//! berrys: a declarative platform compiler and policy linter.
//!
//! One `platform.toml` goes through the phases below, one module each, each using only
//! the ones above it (docs/architecture.md has the picture and the CI test that keeps it):
//!
//! 1. [`parse`]: TOML text → spanned document tree (all syntax errors at once);
//! 2. [`validate`]: JSON Schema validation of that tree, errors at their spans;
//! 3. [`model`]: the typed model of each environment, references resolved;
//! 4. [`graph`]: the dependency graph, cycles rejected, deploy waves derived;
//! 5. [`lint`]: policies over the whole platform (the rule registry);
//! 6. [`render`]: the files berrys writes, made from typed values;
//! 7. [`emit`]: the files written atomically, or compared (`--check`).
//!
//! Beneath them: [`source`] and [`diagnostic`] (what every phase reports), [`units`],
//! [`parallel`] (the scheduler), [`yaml`] (the YAML writer), [`output`] (the files render
//! makes and emit writes) and [`markers`]. Above them: [`report`] (the output formats of
//! diagnostics) and [`commands`], the only place where render is joined to emit.
//!
//! Every phase returns all of its diagnostics; a phase runs only when the ones before it
//! succeeded, because its input would otherwise be partial, with one exception: past
//! schema errors, the model and graph still run on the document without the parts that
//! were wrong ([`beyond_schema_errors`]), so one run reports the problems of every phase.

// What every phase stands on.
pub mod diagnostic;
pub mod markers;
pub mod output;
pub mod parallel;
pub mod source;
pub mod units;
pub mod yaml;

// Phase 1: TOML text to a spanned tree.
pub mod parse;
// Phase 2: the tree against the JSON Schema.
pub mod validate;
// Phase 3: the typed model of each environment.
pub mod model;
// Phase 4: the dependency graph.
pub mod graph;
// Phase 5: the policies.
pub mod lint;
// Phase 6: the files, as values.
pub mod render;
// Phase 7: the files, on disk.
pub mod emit;

// The output formats, the reports for reviewers, and the command layer.
pub mod commands;
pub mod report;
pub mod review;

use std::sync::Arc;

use serde::Deserialize;

use diagnostic::Diagnostic;
pub use graph::Compiled;
use model::{BASE_ENV, RawDocument};
use source::SourceFile;

/// Which environments to compile.
#[derive(Debug, Clone, Copy)]
pub enum Envs<'a> {
    /// The file as written and every environment it declares.
    All,
    /// One environment (`base` or `None`: the file as written).
    One(Option<&'a str>),
}

/// A compilation that failed: every diagnostic, and whether the problem is the environment
/// asked for on the command line rather than the file.
#[derive(Debug)]
pub enum CompileError {
    Diagnostics(Vec<Diagnostic>),
    UnknownEnvironment { name: String, known: Vec<String> },
}

/// Phases 1–4 for the selected environments. All problems of all environments are returned
/// together, each listing the environments it was found in.
pub fn compile(source: &SourceFile, envs: Envs<'_>) -> Result<Vec<Compiled>, CompileError> {
    // 1. Parse, while the schema is compiled.
    let mut scratch = String::new();
    let ((), doc) = parallel::beside(validate::prepare, || parse::parse(source, &mut scratch));
    let doc = doc.map_err(CompileError::Diagnostics)?;

    // 2. Validate against the schema, while the tree is deserialised: the raw model is used
    //    only when the schema accepted the document.
    let (base_raw, schema) = parallel::beside(
        || deserialize(&doc, &source.text),
        || validate::check(&doc, &source.text),
    );
    if !schema.is_valid() {
        return Err(CompileError::Diagnostics(beyond_schema_errors(
            &doc,
            &source.text,
            schema,
            envs,
        )));
    }
    let base_raw = Arc::new(base_raw.map_err(|d| CompileError::Diagnostics(vec![*d]))?);
    let selected = selected_environments(&base_raw, envs)?;

    // 3–4. The model and graph of each environment, each on a thread of its own; an
    //    environment that overrides services has a document of its own, every other one
    //    shares the base document. Meanwhile this thread frees the spanned tree, which
    //    allocated it: at 10,000 services it is the largest thing in memory.
    let env_raws = parallel::each(&selected, |env| match env.as_deref() {
        Some(e) if model::has_overrides(&doc, e) => {
            deserialize(&model::apply_environment(&doc, e), &source.text).map(Arc::new)
        }
        _ => Ok(Arc::clone(&base_raw)),
    });
    let jobs: Vec<_> = selected
        .iter()
        .map(Option::as_deref)
        .zip(env_raws)
        .collect();
    let results = parallel::each_meanwhile(
        &jobs,
        |(env, env_raw)| compile_env(&base_raw, *env, env_raw),
        move || drop(doc),
    );

    let mut diags = Vec::new();
    let mut compiled = Vec::new();
    for (c, d) in results {
        compiled.extend(c);
        diags.extend(d);
    }
    if diags.is_empty() {
        Ok(compiled)
    } else {
        let mut diags = diagnostic::merge_and_sort(diags);
        diagnostic::mark_everywhere(&mut diags, selected.len());
        Err(CompileError::Diagnostics(diagnostic::capped(
            diags,
            "model",
            diagnostic::Omitted::Counted(0),
        )))
    }
}

/// The schema's diagnostics, then those the model and graph find in the rest of the
/// document: each wrong part is left out (a named entry such as `[services.api]`, or an
/// optional top-level table), and a reference to an entry left out is not reported again
/// as unknown. When a wrong part cannot be left out (in `[platform]`), or the schema
/// stopped describing errors, only the schema's diagnostics are returned.
pub fn beyond_schema_errors<'a>(
    doc: &parse::Document<'a>,
    text: &'a str,
    schema: validate::Checked,
    envs: Envs<'_>,
) -> Vec<Diagnostic> {
    let mut diags = schema.diagnostics;
    if !schema.counted_all {
        return diags;
    }
    let mut pruned = doc.clone();
    let mut left_out: Vec<String> = Vec::new();
    for at in &schema.invalid {
        let Some(section) = at.first() else {
            return diags;
        };
        let table = pruned.get_mut();
        match at.get(1) {
            // A section of named entries (`[services.<name>]`, as the schema declares it):
            // an entry with a schema error is left out, and the rest still resolve.
            Some(name) if validate::is_named_section(section) => {
                if let Some(toml::de::DeValue::Table(entries)) =
                    table.get_mut(section.as_str()).map(toml::Spanned::get_mut)
                {
                    entries.remove(name.as_str());
                }
                left_out.push(name.clone());
            }
            _ if section == "platform" => return diags,
            _ => {
                // A misspelled section (`[pool.default]`) names what it would have defined.
                if let Some(toml::de::DeValue::Table(entries)) = table
                    .remove(section.as_str())
                    .map(toml::Spanned::into_inner)
                {
                    left_out.extend(entries.keys().map(|k| k.get_ref().to_string()));
                }
                left_out.push(section.clone());
            }
        }
    }
    let Ok(raw) = deserialize(&pruned, text) else {
        return diags;
    };
    let raw = Arc::new(raw);
    let Ok(selected) = selected_environments(&raw, envs) else {
        return diags;
    };
    let mut later = Vec::new();
    for env in selected.iter().map(Option::as_deref) {
        let env_raw = match env {
            Some(e) if model::has_overrides(&pruned, e) => {
                deserialize(&model::apply_environment(&pruned, e), text).map(Arc::new)
            }
            _ => Ok(Arc::clone(&raw)),
        };
        later.extend(compile_env(&raw, env, &env_raw).1);
    }
    // An unknown reference to an entry left out is the schema error's echo.
    later.retain(|d| {
        d.code != diagnostic::codes::UNKNOWN_REFERENCE.code
            || !left_out
                .iter()
                .any(|name| d.message.ends_with(&format!(" `{name}`")))
    });
    let mut later = diagnostic::merge_and_sort(later);
    diagnostic::mark_everywhere(&mut later, selected.len());
    diags.extend(diagnostic::capped(
        later,
        "model",
        diagnostic::Omitted::Counted(0),
    ));
    diags
}

/// The environments `envs` selects: `None` for the file as written, then the names.
fn selected_environments(
    raw: &RawDocument,
    envs: Envs<'_>,
) -> Result<Vec<Option<String>>, CompileError> {
    let env_names = model::environment_names(raw);
    Ok(match envs {
        Envs::All => std::iter::once(None)
            .chain(env_names.iter().cloned().map(Some))
            .collect(),
        Envs::One(None) => vec![None],
        Envs::One(Some(e)) if e == BASE_ENV => vec![None],
        Envs::One(Some(e)) => {
            if !env_names.iter().any(|n| n == e) {
                return Err(CompileError::UnknownEnvironment {
                    name: e.to_string(),
                    known: env_names,
                });
            }
            vec![Some(e.to_string())]
        }
    })
}

/// One environment's model and graph, and the diagnostics of both.
fn compile_env(
    base_raw: &Arc<RawDocument>,
    env: Option<&str>,
    env_raw: &Result<Arc<RawDocument>, Box<Diagnostic>>,
) -> (Option<Compiled>, Vec<Diagnostic>) {
    let env_raw = match env_raw {
        Ok(raw) => Arc::clone(raw),
        Err(d) => return (None, vec![(**d).clone()]),
    };
    let mut diags = Vec::new();
    let (platform, model_diags) = model::resolve(base_raw, env_raw, env);
    let model_ok = model_diags.is_empty();
    diags.extend(model_diags);
    match graph::build(&platform) {
        Ok(graph) if model_ok => (Some(Compiled { platform, graph }), diags),
        Ok(_) => (None, diags),
        Err(d) => {
            diags.extend(d);
            (None, diags)
        }
    }
}

/// A platform compiled and linted.
#[derive(Debug)]
pub struct Linted {
    pub compiled: Vec<Compiled>,
    /// Lint findings of every environment, merged and sorted.
    pub findings: Vec<Diagnostic>,
    pub config: lint::Config,
}

/// Phases 1–5: compile the selected environments, then lint them with the file's `[lint]`
/// table. `today` (`YYYY-MM-DD`) decides which exemptions have expired.
pub fn check(source: &SourceFile, envs: Envs<'_>, today: &str) -> Result<Linted, CompileError> {
    let compiled = compile(source, envs)?;
    let Some(first) = compiled.first() else {
        return Ok(Linted {
            compiled,
            findings: Vec::new(),
            config: lint::Config::default(),
        });
    };
    let config = lint::config(&first.platform.raw)
        .map_err(|d| CompileError::Diagnostics(diagnostic::merge_and_sort(d)))?;
    let findings = lint::lint(&compiled, &config, today);
    Ok(Linted {
        compiled,
        findings,
        config,
    })
}

/// Deserialises the (schema-valid) tree into the raw model. A failure means the schema
/// accepted something the model cannot hold; it is still reported at its place.
fn deserialize<'a>(
    doc: &parse::Document<'a>,
    text: &'a str,
) -> Result<RawDocument, Box<Diagnostic>> {
    let doc = model::raw::as_the_schema_reads(doc.clone(), text);
    RawDocument::deserialize(toml::de::Deserializer::from(doc)).map_err(|e| {
        Box::new(Diagnostic::new(
            crate::diagnostic::codes::INVALID_VALUE,
            format!("invalid value: {}", e.message().trim()),
            e.span().unwrap_or(0..0),
            "here",
        ))
    })
}
