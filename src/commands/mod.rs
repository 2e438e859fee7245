//! The subcommands, as library functions: each takes its options and two writers and
//! returns the process exit code, so `main` stays a thin shell and tests call them directly.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::diagnostic::{self, Diagnostic, Severity};
use crate::graph::EdgeKind;
use crate::source::SourceFile;
use crate::{CompileError, Compiled, Envs, compile, render, validate};
use crate::{emit, report};

mod input;
mod review;
pub use input::{DEFAULT_FILE, PlatformFile, locate};
pub use review::{Base, CapacityOptions, DiffOptions, capacity, diff};

/// Everything compiled and clean (no lint findings at or above `fail_on`, output fresh).
pub const EXIT_OK: i32 = 0;
/// Lint findings at or above `fail_on`, or `render --check` found stale output.
pub const EXIT_FINDINGS: i32 = 1;
/// The input cannot be compiled, or the command line is wrong.
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticFormat {
    Human,
    /// One line per diagnostic, to standard output.
    Concise,
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// JUnit XML.
    Junit,
}

impl DiagnosticFormat {
    /// Every format, for tests and the fuzz target that must reach each of them.
    pub const ALL: [DiagnosticFormat; 7] = [
        DiagnosticFormat::Human,
        DiagnosticFormat::Concise,
        DiagnosticFormat::Json,
        DiagnosticFormat::Sarif,
        DiagnosticFormat::Github,
        DiagnosticFormat::Gitlab,
        DiagnosticFormat::Junit,
    ];
}

/// How diagnostics are shown.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: DiagnosticFormat,
    pub color: bool,
    /// Only problems are printed: no "no problems", "wrote", "up to date" or "using" lines.
    pub quiet: bool,
}

fn read_source(file: &PlatformFile, err: &mut dyn Write) -> Option<SourceFile> {
    file.read()
        .map_err(|e| {
            let _ = writeln!(err, "error: {e}");
        })
        .ok()
}

/// Prints diagnostics: human ones to `err`, every other format to `out`.
pub fn report(
    diags: &[Diagnostic],
    source: &SourceFile,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    match output.format {
        DiagnosticFormat::Human => {
            let _ = err.write_all(report::render_human(diags, source, output.color).as_bytes());
            if !diags.is_empty() {
                let _ = writeln!(err, "{}: {}", source.name, tally(diags));
            }
        }
        DiagnosticFormat::Concise => {
            let _ = out.write_all(report::to_concise(diags, source).as_bytes());
        }
        DiagnosticFormat::Json => {
            let json: Vec<_> = diags.iter().map(|d| report::to_json(d, source)).collect();
            let _ = serde_json::to_writer_pretty(&mut *out, &json);
            let _ = writeln!(out);
        }
        DiagnosticFormat::Sarif => {
            let _ = serde_json::to_writer_pretty(&mut *out, &report::to_sarif(diags, source));
            let _ = writeln!(out);
        }
        DiagnosticFormat::Github => {
            let _ = out.write_all(report::to_github(diags, source).as_bytes());
        }
        DiagnosticFormat::Gitlab => {
            let _ = serde_json::to_writer_pretty(&mut *out, &report::to_gitlab(diags, source));
            let _ = writeln!(out);
        }
        DiagnosticFormat::Junit => {
            let _ = out.write_all(report::to_junit(diags, source).as_bytes());
        }
    }
}

/// `3 error(s), 1 warning(s)`, and whether more were found than are shown.
fn tally(diags: &[Diagnostic]) -> String {
    let too_many = diagnostic::codes::TOO_MANY.code;
    let shown = diags.iter().filter(|d| d.code != too_many);
    let errors = shown
        .clone()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = shown.count() - errors;
    let more = if diags.iter().any(|d| d.code == too_many) {
        ", and more not shown"
    } else {
        ""
    };
    format!("{errors} error(s), {warnings} warning(s){more}")
}

/// Compiles and lints; reports compile errors or findings. `Err` carries the exit code (2).
fn check_and_report(
    file: &PlatformFile,
    envs: Envs<'_>,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(SourceFile, crate::Linted), i32> {
    let source = read_source(file, err).ok_or(EXIT_ERROR)?;
    match crate::check(&source, envs, &crate::lint::today()) {
        Ok(linted) => {
            report(&linted.findings, &source, output, out, err);
            Ok((source, linted))
        }
        Err(e) => Err(compile_failed(e, &source, output, out, err)),
    }
}

/// Reports why the input did not compile; the exit code is always 2.
pub(crate) fn compile_failed(
    e: CompileError,
    source: &SourceFile,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match e {
        CompileError::Diagnostics(diags) => report(&diags, source, output, out, err),
        CompileError::UnknownEnvironment { name, known } => {
            unknown_environment(source, &name, &known, err)
        }
    }
    EXIT_ERROR
}

fn unknown_environment(source: &SourceFile, name: &str, known: &[String], err: &mut dyn Write) {
    let suggestion = diagnostic::suggest(name, known.iter().map(String::as_str))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let list = if known.is_empty() {
        "none is defined".to_string()
    } else {
        format!("defined: base, {}", known.join(", "))
    };
    let _ = writeln!(
        err,
        "error: unknown environment `{name}`{suggestion}; {list} in {}",
        source.name
    );
}

/// Compiles and reports; `None` means the exit code is already decided (2).
pub(crate) fn compile_and_report(
    file: &PlatformFile,
    envs: Envs<'_>,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(SourceFile, Vec<Compiled>), i32> {
    let source = read_source(file, err).ok_or(EXIT_ERROR)?;
    match compile(&source, envs) {
        Ok(compiled) => {
            if output.format != DiagnosticFormat::Human {
                report(&[], &source, output, out, err);
            }
            Ok((source, compiled))
        }
        Err(e) => Err(compile_failed(e, &source, output, out, err)),
    }
}

pub struct LintOptions {
    pub file: PlatformFile,
    pub env: Option<String>,
    pub output: Output,
    /// Overrides `[lint] fail_on`.
    pub fail_on: Option<Severity>,
    /// `-o FILE`: the report goes to this file instead of the terminal.
    pub report_file: Option<PathBuf>,
}

/// The command's large results, left to the process's exit instead of freed: the models
/// of a 10,000-service platform are millions of small allocations, and freeing them one by
/// one took 45–75 ms of a 0.5 s `lint` (docs/performance.md). The commands are called once
/// per process; tests that call them many times leak what a fixture compiles to.
fn exiting_with<T>(value: T) {
    std::mem::forget(value);
}

/// `berrys lint`: every phase up to the policies, for the base and every environment (or
/// the one named). With `-o FILE` the report, in any format, is written to that file whole
/// (the human one without colour), and the exit code is the same.
pub fn lint(opts: &LintOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let Some(path) = &opts.report_file else {
        return lint_to(opts, opts.output, out, err);
    };
    let mut report = Vec::new();
    let human = opts.output.format == DiagnosticFormat::Human;
    let code = if human {
        let output = Output {
            color: false,
            ..opts.output
        };
        lint_to(opts, output, out, &mut report)
    } else {
        lint_to(opts, opts.output, &mut report, err)
    };
    // Why the platform could not be checked is shown where the user is looking, too (the
    // other formats print it on stderr already).
    if human && code == EXIT_ERROR {
        let _ = err.write_all(&report);
    }
    match emit::write_whole(path, &report) {
        Ok(()) => {
            if !opts.output.quiet {
                let _ = writeln!(err, "wrote the report to {}", path.display());
            }
            code
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "error: cannot write the report to {}: {e}",
                path.display()
            );
            EXIT_ERROR
        }
    }
}

fn lint_to(opts: &LintOptions, output: Output, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let envs = match &opts.env {
        Some(e) => Envs::One(Some(e)),
        None => Envs::All,
    };
    match check_and_report(&opts.file, envs, output, out, err) {
        Ok((source, linted)) => {
            if output.format == DiagnosticFormat::Human
                && linted.findings.is_empty()
                && !output.quiet
            {
                let envs: Vec<&str> = linted
                    .compiled
                    .iter()
                    .map(|c| c.platform.env.as_str())
                    .collect();
                let _ = writeln!(err, "{}: no problems ({})", source.name, envs.join(", "));
            }
            let fail_on = opts.fail_on.unwrap_or(linted.config.fail_on);
            let code = if crate::lint::fails(&linted.findings, fail_on) {
                EXIT_FINDINGS
            } else {
                EXIT_OK
            };
            exiting_with(linted);
            code
        }
        Err(code) => code,
    }
}

pub struct RenderOptions {
    pub file: PlatformFile,
    pub env: Option<String>,
    pub out_dir: Option<PathBuf>,
    pub check: bool,
    pub output: Output,
}

/// `berrys render`: lint, then write (or with `--check`, compare) the output directory.
pub fn render(opts: &RenderOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let env_name = opts.env.as_deref().unwrap_or(crate::model::BASE_ENV);
    let dir = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| opts.file.dir().join("rendered").join(env_name));
    std::thread::scope(|scope| {
        // The previous output's other files are carried into a staging directory while the
        // platform is read and linted (parsing leaves a core idle). Only over an existing
        // output: a render that stops at lint creates no directory.
        let early =
            (!opts.check && dir.is_dir()).then(|| scope.spawn(|| emit::Stage::prepare(&dir)));
        let target = lint_for_render(opts, env_name, out, err);
        let target = match target {
            Ok(target) => target,
            Err(code) => {
                match early.map(|h| h.join()) {
                    Some(Ok(Ok(stage))) => stage.discard(),
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    Some(Ok(Err(_))) | None => {}
                }
                return code;
            }
        };
        if opts.check {
            return check_rendered(opts, &dir, &target, out, err);
        }
        let stage = match early {
            Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            None => emit::Stage::prepare(&dir),
        };
        // Files stream to the staging directory as they are rendered.
        let written = stage.and_then(|stage| stage.write(|sink| render::render_to(&target, sink)));
        exiting_with(target);
        match written {
            Ok(written) => {
                for note in &written.notes {
                    let _ = writeln!(err, "warning: {note}");
                }
                if !opts.output.quiet {
                    let _ = writeln!(err, "wrote {} files to {}", written.files, dir.display());
                }
                EXIT_OK
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                if !matches!(e, emit::EmitError::Misplaced { .. }) {
                    let _ = writeln!(
                        err,
                        "  note: nothing was written; {} is as it was",
                        dir.display()
                    );
                }
                EXIT_ERROR
            }
        }
    })
}

/// The lint half of `render`: the environment to render, or the exit code when lint
/// reports errors or the environment does not compile.
fn lint_for_render(
    opts: &RenderOptions,
    env_name: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<crate::Compiled, i32> {
    let envs = match &opts.env {
        Some(e) => Envs::One(Some(e)),
        None => Envs::All,
    };
    let (_, linted) = check_and_report(&opts.file, envs, opts.output, out, err)?;
    // Render is blocked by exactly what fails `lint`: `[lint] fail_on = "warning"` makes
    // warnings block it too, so output that CI would reject is never written.
    let fail_on = linted.config.fail_on;
    if crate::lint::fails(&linted.findings, fail_on) {
        let blocking = linted
            .findings
            .iter()
            .filter(|d| d.severity == Severity::Error || fail_on == Severity::Warning)
            .count();
        let what = match fail_on {
            Severity::Error => "lint error(s) block",
            Severity::Warning => "lint finding(s) block (`[lint] fail_on = \"warning\"`)",
        };
        let _ = writeln!(
            err,
            "error: {blocking} {what} rendering; nothing was written"
        );
        return Err(EXIT_FINDINGS);
    }
    // Only the rendered environment is needed from here on; the others are freed now.
    let Some(target) = linted
        .compiled
        .into_iter()
        .find(|c| c.platform.env == env_name)
    else {
        let _ = writeln!(err, "error: environment `{env_name}` was not compiled");
        return Err(EXIT_ERROR);
    };
    Ok(target)
}

/// `render --check`: the output directory compared with what would be written.
fn check_rendered(
    opts: &RenderOptions,
    dir: &Path,
    target: &crate::Compiled,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let files = match render::render(target) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    let report = emit::check(dir, &files);
    if report.is_clean() {
        if !opts.output.quiet {
            let _ = writeln!(
                err,
                "{} is up to date ({} files)",
                dir.display(),
                files.len() + 1
            );
        }
        return EXIT_OK;
    }
    for (what, paths) in [
        ("stale", &report.stale),
        ("missing", &report.missing),
        ("extra", &report.extra),
    ] {
        for p in paths {
            let _ = writeln!(out, "{what}: {}", dir.join(p).display());
        }
    }
    let mut fix = "berrys render".to_string();
    if let Some(file) = opts.file.as_arg() {
        fix.push_str(&format!(" -f {file}"));
    }
    if let Some(e) = &opts.env {
        fix.push_str(&format!(" --env {e}"));
    }
    if let Some(d) = &opts.out_dir {
        fix.push_str(&format!(" --out {}", d.display()));
    }
    let _ = writeln!(
        err,
        "error: {} is out of date ({} stale, {} missing, {} extra); run `{fix}` and commit the result",
        dir.display(),
        report.stale.len(),
        report.missing.len(),
        report.extra.len(),
    );
    EXIT_FINDINGS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

impl GraphFormat {
    pub const ALL: [GraphFormat; 3] = [GraphFormat::Dot, GraphFormat::Mermaid, GraphFormat::Json];
}

pub struct GraphOptions {
    pub file: PlatformFile,
    pub env: Option<String>,
    pub format: GraphFormat,
    pub output: Output,
}

/// `berrys graph`: the dependency graph and deploy waves.
pub fn graph(opts: &GraphOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let output = Output {
        format: DiagnosticFormat::Human,
        ..opts.output
    };
    let (_, compiled) =
        match compile_and_report(&opts.file, Envs::One(opts.env.as_deref()), output, out, err) {
            Ok(c) => c,
            Err(code) => return code,
        };
    let Some(c) = compiled.first() else {
        return EXIT_ERROR;
    };
    let _ = out.write_all(graph_text(c, opts.format).as_bytes());
    EXIT_OK
}

/// The dependency graph of one compiled environment, as `berrys graph` prints it.
pub fn graph_text(c: &Compiled, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => graph_dot(c),
        GraphFormat::Mermaid => graph_mermaid(c),
        GraphFormat::Json => graph_json(c),
    }
}

fn graph_dot(c: &Compiled) -> String {
    let mut s = format!("digraph \"{}\" {{\n  rankdir=LR;\n", c.platform.name);
    for (name, wave) in c.graph.waves() {
        s.push_str(&format!("  \"{name}\" [label=\"{name}\\nwave {wave}\"];\n"));
    }
    for (from, to, kind) in c.graph.edges() {
        let style = match kind {
            EdgeKind::Hard => "",
            EdgeKind::Soft => " [style=dashed]",
        };
        s.push_str(&format!("  \"{from}\" -> \"{to}\"{style};\n"));
    }
    s.push_str("}\n");
    s
}

fn graph_mermaid(c: &Compiled) -> String {
    let mut s = "flowchart LR\n".to_string();
    for (name, wave) in c.graph.waves() {
        s.push_str(&format!("  {name}[\"{name} (wave {wave})\"]\n"));
    }
    for (from, to, kind) in c.graph.edges() {
        let arrow = match kind {
            EdgeKind::Hard => "-->",
            EdgeKind::Soft => "-.->",
        };
        s.push_str(&format!("  {from} {arrow} {to}\n"));
    }
    s
}

fn graph_json(c: &Compiled) -> String {
    #[derive(serde::Serialize)]
    struct Edge<'a> {
        from: &'a str,
        to: &'a str,
        kind: EdgeKind,
    }
    #[derive(serde::Serialize)]
    struct Wave<'a> {
        wave: u32,
        services: Vec<&'a str>,
    }
    let mut by_wave: std::collections::BTreeMap<u32, Vec<&str>> = Default::default();
    for (name, wave) in c.graph.waves() {
        by_wave.entry(wave).or_default().push(name);
    }
    let waves: Vec<Wave> = by_wave
        .into_iter()
        .map(|(wave, services)| Wave { wave, services })
        .collect();
    let edges: Vec<Edge> = c
        .graph
        .edges()
        .into_iter()
        .map(|(from, to, kind)| Edge { from, to, kind })
        .collect();
    let value = serde_json::json!({
        "platform": c.platform.name,
        "environment": c.platform.env,
        "services": c.graph.services,
        "edges": edges,
        "waves": waves,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// `berrys rules`: the rule table, or its JSON form.
pub fn rules(json: bool, out: &mut dyn Write) -> i32 {
    let rules = crate::lint::RULES;
    if json {
        let list: Vec<_> = rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "code": r.code,
                    "name": r.name,
                    "level": r.level.as_str(),
                    "summary": r.summary,
                })
            })
            .collect();
        let _ = serde_json::to_writer_pretty(&mut *out, &list);
        let _ = writeln!(out);
        return EXIT_OK;
    }
    let width = rules.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in rules {
        let _ = writeln!(
            out,
            "{}  {:width$}  {:7}  {}",
            r.code,
            r.name,
            r.level.as_str(),
            r.summary
        );
    }
    EXIT_OK
}

/// `berrys explain <rule>`: a rule's documentation.
pub fn explain(id: &str, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match crate::lint::lookup(id) {
        Some(r) => {
            let _ = writeln!(
                out,
                "# {} {}

{}

Default level: {}. Configure it in `[lint.rules]` by code or name.

{}",
                r.code,
                r.name,
                r.summary,
                r.level.as_str(),
                r.docs.trim_end()
            );
            EXIT_OK
        }
        None => {
            let names = crate::lint::RULES.iter().flat_map(|r| [r.code, r.name]);
            let hint = diagnostic::suggest(id, names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            let _ = writeln!(
                err,
                "error: no rule `{id}`{hint}; `berrys rules` lists them all"
            );
            EXIT_ERROR
        }
    }
}

/// `berrys schema`: the JSON Schema of platform.toml.
pub fn schema(out: &mut dyn Write) -> i32 {
    let _ = out.write_all(validate::SCHEMA_TEXT.as_bytes());
    EXIT_OK
}

/// The commented starter written by `berrys init`.
pub const STARTER: &str = include_str!("../../templates/starter.platform.toml");

/// Where the starter's `#:schema` line points, relative to the platform file.
pub const STARTER_SCHEMA: &str = "schemas/platform.schema.json";

/// `berrys init`: writes a starter platform.toml, never over an existing file, and beside it
/// the JSON Schema its `#:schema` line names, so editors (taplo, Even Better TOML) check and
/// complete the file from the first keystroke. The schema is berrys's own: an older copy is
/// replaced.
pub fn init(file: &Path, quiet: bool, err: &mut dyn Write) -> i32 {
    let dir = file.parent().unwrap_or(Path::new(""));
    let created = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(file)
            .and_then(|mut f| f.write_all(STARTER.as_bytes()))
    });
    match created {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = writeln!(
                err,
                "error: {} already exists; berrys init never overwrites a file (remove it, or pass another path with -f)",
                file.display()
            );
            return EXIT_ERROR;
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot write {}: {e}", file.display());
            return EXIT_ERROR;
        }
    }
    let schema = dir.join(STARTER_SCHEMA);
    let wanted = validate::SCHEMA_TEXT.as_bytes();
    let before = std::fs::read(&schema).ok();
    let current = before.as_deref() == Some(wanted);
    if !current {
        let written = std::fs::create_dir_all(schema.parent().unwrap_or(Path::new("")))
            .and_then(|()| emit::write_whole(&schema, wanted));
        if let Err(e) = written {
            let _ = writeln!(
                err,
                "error: wrote {}, but cannot write the schema its `#:schema` line names, {}: {e}",
                file.display(),
                schema.display()
            );
            return EXIT_ERROR;
        }
    }
    if !quiet {
        let (file, schema) = (file.display(), schema.display());
        let what = match (before, current) {
            (None, _) => format!("wrote {file} and {schema}, the schema its `#:schema` line names"),
            (Some(_), true) => format!("wrote {file} ({schema} is already this version's)"),
            (Some(_), false) => {
                format!("wrote {file} and updated {schema} to this version's schema")
            }
        };
        let _ = writeln!(err, "{what}; next: `berrys lint` and `berrys render`");
    }
    EXIT_OK
}
