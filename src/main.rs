use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use berrys::commands::{self, DiagnosticFormat, GraphFormat, Output};
use berrys::diagnostic::Severity;
use berrys::review;
use clap::{Parser, Subcommand, ValueEnum};

// Rendering allocates many small values on every core, where glibc malloc took a fifth of
// the run (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Declarative platform compiler and policy linter.
#[derive(Parser)]
#[command(name = "berrys", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, validate, build the dependency graph and check policies.
    Lint {
        /// The platform file.
        #[arg(short, long, default_value = "platform.toml")]
        file: PathBuf,
        /// Lint only this environment (default: the base and every environment).
        #[arg(long)]
        env: Option<String>,
        /// How to print findings.
        #[arg(long, value_enum, default_value_t = LintFormat::Human)]
        format: LintFormat,
        /// Lowest severity that fails the run (default: `[lint] fail_on`, else error).
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
    },
    /// Lint, then write Kubernetes manifests to the output directory.
    Render {
        #[arg(short, long, default_value = "platform.toml")]
        file: PathBuf,
        /// Render this environment (default: the file as written, `base`).
        #[arg(long)]
        env: Option<String>,
        /// Output directory (default: rendered/<env>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 if the output directory is not what would be written.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the dependency graph and deploy waves.
    Graph {
        #[arg(short, long, default_value = "platform.toml")]
        file: PathBuf,
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphArg::Dot)]
        format: GraphArg,
    },
    /// Replicas, CPU and memory, connections and rates at minimum and at peak.
    Capacity {
        #[arg(short, long, default_value = "platform.toml")]
        file: PathBuf,
        /// Only this environment (default: the base and every environment).
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
    },
    /// What a change to the platform means: flows, capacity, budgets, alerts, findings.
    Diff {
        #[arg(short, long, default_value = "platform.toml")]
        file: PathBuf,
        /// The revision to compare with, read with `git show REV:<file>`.
        #[arg(long, default_value = "HEAD", conflicts_with = "base_file")]
        base: String,
        /// A file to compare with instead of a revision.
        #[arg(long)]
        base_file: Option<PathBuf>,
        /// Only this environment (default: the base and every environment).
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
        /// Exit 1 when the change introduces findings at or above this severity.
        #[arg(long, value_enum)]
        fail_on_new: Option<FailOn>,
    },
    /// List every lint rule: code, name, default level, summary.
    Rules {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print a lint rule's documentation.
    Explain {
        /// Rule code (`BR003`) or name (`pool-overcommit`).
        rule: String,
    },
    /// Print the JSON Schema of platform.toml.
    Schema,
    /// Write a commented starter platform.toml (never overwrites).
    Init {
        #[arg(short, long, default_value = "platform.toml")]
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    /// One line per diagnostic: `file:line:col: CODE [level] name: message`.
    Concise,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    Human,
    /// One line per finding: `file:line:col: CODE [level] name: message`.
    Concise,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Human,
    /// GitHub-flavoured Markdown, to post on a pull request.
    Markdown,
    Json,
}

impl ReportFormat {
    fn format(self) -> review::Format {
        match self {
            ReportFormat::Human => review::Format::Human,
            ReportFormat::Markdown => review::Format::Markdown,
            ReportFormat::Json => review::Format::Json,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Error,
    Warning,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphArg {
    Dot,
    Mermaid,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; every other parse failure is bad usage.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    let output = |format: Format| Output {
        format: match format {
            Format::Human => DiagnosticFormat::Human,
            Format::Concise => DiagnosticFormat::Concise,
            Format::Json => DiagnosticFormat::Json,
        },
        color,
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code = match cli.command {
        Command::Lint {
            file,
            env,
            format,
            fail_on,
        } => commands::lint(
            &commands::LintOptions {
                file,
                env,
                output: Output {
                    format: match format {
                        LintFormat::Human => DiagnosticFormat::Human,
                        LintFormat::Concise => DiagnosticFormat::Concise,
                        LintFormat::Json => DiagnosticFormat::Json,
                        LintFormat::Sarif => DiagnosticFormat::Sarif,
                        LintFormat::Github => DiagnosticFormat::Github,
                    },
                    color,
                },
                fail_on: fail_on.map(FailOn::severity),
            },
            &mut out,
            &mut err,
        ),
        Command::Render {
            file,
            env,
            out: out_dir,
            check,
            format,
        } => commands::render(
            &commands::RenderOptions {
                file,
                env,
                out_dir,
                check,
                output: output(format),
            },
            &mut out,
            &mut err,
        ),
        Command::Graph { file, env, format } => commands::graph(
            &commands::GraphOptions {
                file,
                env,
                format: match format {
                    GraphArg::Dot => GraphFormat::Dot,
                    GraphArg::Mermaid => GraphFormat::Mermaid,
                    GraphArg::Json => GraphFormat::Json,
                },
                output: output(Format::Human),
            },
            &mut out,
            &mut err,
        ),
        Command::Capacity { file, env, format } => commands::capacity(
            &commands::CapacityOptions {
                file,
                env,
                format: format.format(),
                output: output(Format::Human),
            },
            &mut out,
            &mut err,
        ),
        Command::Diff {
            file,
            base,
            base_file,
            env,
            format,
            fail_on_new,
        } => commands::diff(
            &commands::DiffOptions {
                file,
                base: match base_file {
                    Some(path) => commands::Base::File(path),
                    None => commands::Base::Revision(base),
                },
                env,
                format: format.format(),
                fail_on_new: fail_on_new.map(FailOn::severity),
                output: output(Format::Human),
            },
            &mut out,
            &mut err,
        ),
        Command::Rules { format } => commands::rules(matches!(format, Format::Json), &mut out),
        Command::Explain { rule } => commands::explain(&rule, &mut out, &mut err),
        Command::Schema => commands::schema(&mut out),
        Command::Init { file } => commands::init(&file, &mut err),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
