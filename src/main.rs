use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use berrys::commands::{self, DiagnosticFormat, GraphFormat, Output};
use berrys::diagnostic::Severity;
use berrys::review;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum, ValueHint};

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
    /// When to colour diagnostics.
    #[arg(long, value_enum, global = true, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Print only problems: no "no problems", "wrote", "using" or "up to date" lines.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, validate, build the dependency graph and check policies.
    Lint {
        #[command(flatten)]
        file: FileArg,
        /// Lint only this environment (default: the base and every environment).
        #[arg(long)]
        env: Option<String>,
        /// How to print findings.
        #[arg(long, value_enum, default_value_t = LintFormat::Human)]
        format: LintFormat,
        /// Lowest severity that fails the run (default: `[lint] fail_on`, else error).
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Write the report to this file instead of the terminal (any format).
        #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        output: Option<PathBuf>,
    },
    /// Lint, then write Kubernetes manifests to the output directory.
    Render {
        #[command(flatten)]
        file: FileArg,
        /// Render this environment (default: the file as written, `base`).
        #[arg(long)]
        env: Option<String>,
        /// Output directory (default: rendered/<env> beside the platform file).
        #[arg(long, value_hint = ValueHint::DirPath)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 if the output directory is not what would be written.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the dependency graph and deploy waves.
    Graph {
        #[command(flatten)]
        file: FileArg,
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphArg::Dot)]
        format: GraphArg,
    },
    /// Replicas, CPU and memory, connections and rates at minimum and at peak.
    Capacity {
        #[command(flatten)]
        file: FileArg,
        /// Only this environment (default: the base and every environment).
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
    },
    /// What a change to the platform means: flows, capacity, budgets, alerts, findings.
    Diff {
        #[command(flatten)]
        file: FileArg,
        /// The revision to compare with, read with `git show REV:<file>`.
        #[arg(long, default_value = "HEAD", conflicts_with = "base_file")]
        base: String,
        /// A file to compare with instead of a revision.
        #[arg(long, value_hint = ValueHint::FilePath)]
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
    /// Write a commented starter platform.toml (never overwrites) and the schema it names.
    Init {
        #[arg(short, long, default_value = "platform.toml", value_hint = ValueHint::FilePath)]
        file: PathBuf,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `berrys man > berrys.1`.
    Man {
        /// Write berrys.1 and a page per subcommand (berrys-lint.1, ...) into this directory.
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct FileArg {
    /// The platform file; `-` reads standard input (default: platform.toml here or in the
    /// nearest parent directory).
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorArg {
    /// Colour when standard error is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
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
    /// GitLab Code Quality JSON.
    Gitlab,
    /// JUnit XML.
    Junit,
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
    let color = match cli.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let quiet = cli.quiet;
    let output = |format: Format| Output {
        format: match format {
            Format::Human => DiagnosticFormat::Human,
            Format::Concise => DiagnosticFormat::Concise,
            Format::Json => DiagnosticFormat::Json,
        },
        color,
        quiet,
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut locate = |arg: FileArg, err: &mut dyn std::io::Write| {
        commands::locate(arg.file.as_deref(), &cwd, quiet, err)
    };
    let code = match run(cli.command, &mut locate, output, &mut out, &mut err) {
        Ok(code) | Err(code) => code,
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

type Locate<'a> =
    dyn FnMut(FileArg, &mut dyn std::io::Write) -> Result<commands::PlatformFile, i32> + 'a;

/// Runs one subcommand; `Err` is an exit code decided before it ran (no platform file).
fn run(
    command: Command,
    locate: &mut Locate<'_>,
    output: impl Fn(Format) -> Output,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> Result<i32, i32> {
    Ok(match command {
        Command::Lint {
            file,
            env,
            format,
            fail_on,
            output: report_file,
        } => commands::lint(
            &commands::LintOptions {
                file: locate(file, err)?,
                env,
                report_file,
                output: Output {
                    format: match format {
                        LintFormat::Human => DiagnosticFormat::Human,
                        LintFormat::Concise => DiagnosticFormat::Concise,
                        LintFormat::Json => DiagnosticFormat::Json,
                        LintFormat::Sarif => DiagnosticFormat::Sarif,
                        LintFormat::Github => DiagnosticFormat::Github,
                        LintFormat::Gitlab => DiagnosticFormat::Gitlab,
                        LintFormat::Junit => DiagnosticFormat::Junit,
                    },
                    ..output(Format::Human)
                },
                fail_on: fail_on.map(FailOn::severity),
            },
            out,
            err,
        ),
        Command::Render {
            file,
            env,
            out: out_dir,
            check,
            format,
        } => commands::render(
            &commands::RenderOptions {
                file: locate(file, err)?,
                env,
                out_dir,
                check,
                output: output(format),
            },
            out,
            err,
        ),
        Command::Graph { file, env, format } => commands::graph(
            &commands::GraphOptions {
                file: locate(file, err)?,
                env,
                format: match format {
                    GraphArg::Dot => GraphFormat::Dot,
                    GraphArg::Mermaid => GraphFormat::Mermaid,
                    GraphArg::Json => GraphFormat::Json,
                },
                output: output(Format::Human),
            },
            out,
            err,
        ),
        Command::Capacity { file, env, format } => commands::capacity(
            &commands::CapacityOptions {
                file: locate(file, err)?,
                env,
                format: format.format(),
                output: output(Format::Human),
            },
            out,
            err,
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
                file: locate(file, err)?,
                base: match base_file {
                    Some(path) => commands::Base::File(path),
                    None => commands::Base::Revision(base),
                },
                env,
                format: format.format(),
                fail_on_new: fail_on_new.map(FailOn::severity),
                output: output(Format::Human),
            },
            out,
            err,
        ),
        Command::Rules { format } => commands::rules(matches!(format, Format::Json), out),
        Command::Explain { rule } => commands::explain(&rule, out, err),
        Command::Schema => commands::schema(out),
        Command::Init { file } => commands::init(&file, output(Format::Human).quiet, err),
        // Generated into memory first: clap_complete panics when its writer fails (a closed
        // pipe), and output errors are ignored like every other command's.
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "berrys", &mut script);
            let _ = out.write_all(&script);
            commands::EXIT_OK
        }
        Command::Man { dir: Some(dir) } => {
            match std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), &dir))
            {
                Ok(()) => commands::EXIT_OK,
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "error: cannot write the manual pages to {}: {e}",
                        dir.display()
                    );
                    commands::EXIT_ERROR
                }
            }
        }
        Command::Man { dir: None } => {
            let mut page = Vec::new();
            let _ = clap_mangen::Man::new(Cli::command()).render(&mut page);
            let _ = out.write_all(&page);
            commands::EXIT_OK
        }
    })
}
