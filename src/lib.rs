//! berrys: a declarative platform compiler and policy linter.
//!
//! One `platform.toml` goes through the phases below, one module each:
//!
//! 1. [`parse`]: TOML text → spanned document tree (all syntax errors at once);
//! 2. [`validate`]: JSON Schema validation of that tree, errors at their spans;
//! 3. [`model`]: the typed model of each environment, references resolved;
//! 4. [`graph`]: the dependency graph, cycles rejected, deploy waves derived;
//! 5. [`lint`]: policies over the whole platform (the rule registry);
//! 6. [`render`]: Kubernetes objects as typed values;
//! 7. [`emit`]: deterministic YAML, written atomically or compared (`--check`).
//!
//! Every phase returns all of its diagnostics; a phase runs only when the ones before it
//! succeeded, because its input would otherwise be partial.

pub mod commands;
pub mod diagnostic;
pub mod emit;
pub mod graph;
pub mod lint;
pub mod model;
pub mod parse;
pub mod render;
pub mod source;
pub mod units;
pub mod validate;

use std::sync::Arc;

use serde::Deserialize;

use diagnostic::Diagnostic;
use model::{BASE_ENV, Platform, RawDocument};
use source::SourceFile;

/// One environment, compiled: the model and its dependency graph.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub platform: Platform,
    pub graph: graph::Graph,
}

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
    let mut scratch = String::new();
    let doc = std::thread::scope(|scope| {
        scope.spawn(validate::prepare);
        parse::parse(source, &mut scratch)
    })
    .map_err(CompileError::Diagnostics)?;
    // Schema validation and deserialisation are independent; the model is used only when the
    // schema accepted the document.
    let (schema_errors, base_raw) = std::thread::scope(|scope| {
        let raw = scope.spawn(|| deserialize(&doc));
        let errors = validate::check(&doc);
        (errors, raw.join())
    });
    if !schema_errors.is_empty() {
        return Err(CompileError::Diagnostics(diagnostic::merge_and_sort(
            schema_errors,
        )));
    }
    let base_raw = base_raw.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let base_raw = Arc::new(base_raw.map_err(|d| CompileError::Diagnostics(vec![*d]))?);
    let env_names = model::environment_names(&base_raw);
    let selected: Vec<Option<String>> = match envs {
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
    };

    // An environment that overrides services has a document of its own; every other one
    // shares the base document.
    let env_raws = parallel_each(&selected, |env| match env.as_deref() {
        Some(e) if model::has_service_overrides(&doc, e) => {
            deserialize(&model::apply_environment(&doc, e)).map(Arc::new)
        }
        _ => Ok(Arc::clone(&base_raw)),
    });

    // Environments are independent: each resolves and builds its graph on a thread of its
    // own. Meanwhile this thread, which allocated the spanned tree, frees it: it is not
    // needed any more, and at 10,000 services it is the largest thing in memory.
    let jobs: Vec<_> = selected
        .iter()
        .map(Option::as_deref)
        .zip(env_raws)
        .collect();
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(env, env_raw)| scope.spawn(|| compile_env(&base_raw, *env, env_raw)))
            .collect();
        drop(doc);
        join_all(handles)
    });
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
        Err(CompileError::Diagnostics(diags))
    }
}

/// The cores this process may use, asked once: the standard library reads the cgroup's
/// CPU quota from files on every call, and a run asks a dozen times.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` over `items` on as many threads as the machine has cores, results in input order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
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

/// The results of scoped threads, in order; a thread's panic is the caller's.
fn join_all<R>(handles: Vec<std::thread::ScopedJoinHandle<'_, R>>) -> Vec<R> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect()
}

/// `f` over `items`, each on a thread of its own, results in input order: for a few large,
/// equal jobs (the environments), where sharing the cores evenly finishes them sooner than
/// taking them in turns on fewer threads (three on two cores: 1.5 jobs' time, not 2).
pub fn parallel_each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 || cores() <= 1 {
        return items.iter().map(f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        join_all(
            items
                .iter()
                .map(|item| scope.spawn(move || f(item)))
                .collect(),
        )
    })
}

/// `f(0)`, `f(1)`, … `f(n - 1)` on as many threads as the machine has cores, each thread
/// taking the next index when it is free, so indices finish roughly in order. Stops at the
/// first error and returns it.
pub fn parallel_for<E: Send>(n: usize, f: impl Fn(usize) -> Result<(), E> + Sync) -> Result<(), E> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let threads = cores().min(n);
    if threads <= 1 {
        return (0..n).try_for_each(f);
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<(), E> {
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            if let Err(e) = f(i) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        let mut result = Ok(());
        for h in handles {
            let r = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
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
fn deserialize(doc: &parse::Document<'_>) -> Result<RawDocument, Box<Diagnostic>> {
    RawDocument::deserialize(toml::de::Deserializer::from(doc.clone())).map_err(|e| {
        Box::new(Diagnostic::error(
            "invalid",
            "invalid-value",
            format!("invalid value: {}", e.message().trim()),
            e.span().unwrap_or(0..0),
            "here",
        ))
    })
}
