//! `berrys capacity` and `berrys diff`: the reports of [`crate::review`], for the
//! platform file and, for diff, its base revision.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Output, PlatformFile, compile_and_report};
use crate::diagnostic::Severity;
use crate::review::{self, Format};
use crate::source::SourceFile;
use crate::{CompileError, Envs, Linted, render};

pub struct CapacityOptions {
    pub file: PlatformFile,
    pub env: Option<String>,
    pub format: Format,
    pub output: Output,
}

fn envs(env: &Option<String>) -> Envs<'_> {
    match env {
        Some(e) => Envs::One(Some(e)),
        None => Envs::All,
    }
}

fn print_json(value: &impl serde::Serialize, out: &mut dyn Write) {
    let _ = serde_json::to_writer_pretty(&mut *out, value);
    let _ = writeln!(out);
}

/// `berrys capacity`: replicas, resources, connections and rates at minimum and at peak.
pub fn capacity(opts: &CapacityOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let (source, compiled) =
        match compile_and_report(&opts.file, envs(&opts.env), opts.output, out, err) {
            Ok(c) => c,
            Err(code) => return code,
        };
    let report = review::capacity::report(&source.name, &compiled);
    match opts.format {
        Format::Json => print_json(&report, out),
        f => {
            let _ = out.write_all(review::capacity::text(&report, f).as_bytes());
        }
    }
    EXIT_OK
}

/// Where the base of a diff comes from.
#[derive(Debug, Clone)]
pub enum Base {
    /// `git show REV:<file>`, from the repository the file is in.
    Revision(String),
    File(PathBuf),
}

pub struct DiffOptions {
    pub file: PlatformFile,
    pub base: Base,
    pub env: Option<String>,
    pub format: Format,
    /// Exit 1 when the change introduces findings at or above this severity.
    pub fail_on_new: Option<Severity>,
    pub output: Output,
}

/// The base's text: a file, or the platform file at a revision through `git show`.
fn base_source(opts: &DiffOptions) -> Result<SourceFile, String> {
    let rev = match &opts.base {
        Base::File(path) => return crate::source::read(path).map_err(|e| e.to_string()),
        Base::Revision(rev) => rev,
    };
    let Some(file) = opts.file.path() else {
        return Err(format!(
            "a platform read from standard input has no revision `{rev}` to compare with; pass the base with `--base-file FILE`"
        ));
    };
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| super::DEFAULT_FILE.to_string());
    let label = format!("{rev}:{}", file.display());
    // `./` makes the path relative to `dir` rather than to the repository's root.
    let shown = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["show", "--no-textconv", &format!("{rev}:./{name}")])
        .output()
        .map_err(|e| format!("cannot run git to read the base {label}: {e}"))?;
    if !shown.status.success() {
        let why = String::from_utf8_lossy(&shown.stderr);
        return Err(format!(
            "cannot read the base {label} with `git show`: {}; pass `--base REV` or `--base-file FILE`",
            why.trim()
        ));
    }
    crate::source::decode(label, shown.stdout).map_err(|e| e.to_string())
}

/// One side compiled and linted; `Ok(None)` when `--env` names an environment the side
/// does not declare (the base of a change that adds it).
fn check_side(
    which: &str,
    source: &SourceFile,
    opts: &DiffOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Option<Linted>, i32> {
    match crate::check(source, envs(&opts.env), &crate::lint::today()) {
        Ok(linted) => Ok(Some(linted)),
        Err(CompileError::UnknownEnvironment { .. }) if which == "base" => Ok(None),
        Err(e) => {
            let _ = super::compile_failed(e, source, opts.output, out, err);
            let _ = writeln!(
                err,
                "error: the {which} ({}) does not compile; nothing to compare",
                source.name
            );
            Err(EXIT_ERROR)
        }
    }
}

/// Each environment's rendered files and alerting rules.
type Rendered = Vec<(
    Vec<crate::output::OutputFile>,
    Vec<render::prometheus::Rule>,
)>;

fn render_side(which: &str, linted: &Linted, err: &mut dyn Write) -> Result<Rendered, i32> {
    let mut out = Vec::new();
    for c in &linted.compiled {
        let rendered = render::render(c).and_then(|files| {
            let alerts = render::prometheus::rule_groups(c)?
                .into_iter()
                .flat_map(|g| g.rules)
                .filter(|r| r.alert.is_some())
                .collect();
            Ok((files, alerts))
        });
        match rendered {
            Ok(r) => out.push(r),
            Err(e) => {
                let _ = writeln!(
                    err,
                    "error: the {which} does not render (environment `{}`): {e}",
                    c.platform.env
                );
                return Err(EXIT_ERROR);
            }
        }
    }
    Ok(out)
}

fn side<'a>(
    source: &'a SourceFile,
    linted: Option<&'a Linted>,
    rendered: &'a Rendered,
) -> review::diff::Side<'a> {
    review::diff::Side {
        source,
        findings: linted.map(|l| l.findings.as_slice()).unwrap_or_default(),
        envs: linted
            .map(|l| l.compiled.as_slice())
            .unwrap_or_default()
            .iter()
            .zip(rendered)
            .map(|(compiled, (files, alerts))| review::diff::EnvSide {
                compiled,
                files,
                alerts: alerts.clone(),
            })
            .collect(),
    }
}

/// `berrys diff`: what the change from the base to the working copy means.
pub fn diff(opts: &DiffOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let head_source = match opts.file.read() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    let base_source = match base_source(opts) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    let base = match check_side("base", &base_source, opts, out, err) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let head = match check_side("head", &head_source, opts, out, err) {
        Ok(Some(h)) => h,
        Ok(None) | Err(_) => return EXIT_ERROR,
    };
    let rendered = (|| {
        let b = match &base {
            Some(l) => render_side("base", l, err)?,
            None => Vec::new(),
        };
        Ok::<_, i32>((b, render_side("head", &head, err)?))
    })();
    let (base_rendered, head_rendered) = match rendered {
        Ok(r) => r,
        Err(code) => return code,
    };
    let report = review::diff::diff(
        &side(&base_source, base.as_ref(), &base_rendered),
        &side(&head_source, Some(&head), &head_rendered),
    );
    match opts.format {
        Format::Json => print_json(&report, out),
        f => {
            let _ = out.write_all(review::diff::text(&report, f).as_bytes());
        }
    }
    let introduced = report
        .environments
        .iter()
        .flat_map(|e| &e.findings.introduced)
        .filter(|f| opts.fail_on_new.is_some_and(|level| f.severity >= level))
        .count();
    if introduced > 0 {
        let _ = writeln!(
            err,
            "error: the change introduces {introduced} finding(s) at or above `--fail-on-new`"
        );
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
