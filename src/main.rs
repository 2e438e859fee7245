use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use berrys::commands::{self, DiagnosticFormat, GraphFormat, Output};
use berrys::diagnostic::Severity;
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
enum FailOn {
    Error,
    Warning,
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
                fail_on: fail_on.map(|f| match f {
                    FailOn::Error => Severity::Error,
                    FailOn::Warning => Severity::Warning,
                }),
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
        Command::Rules { format } => commands::rules(matches!(format, Format::Json), &mut out),
        Command::Explain { rule } => commands::explain(&rule, &mut out, &mut err),
        Command::Schema => commands::schema(&mut out),
        Command::Init { file } => commands::init(&file, &mut err),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
