//! The command line: arguments, and what each command does with the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apiflow_import::Destination;
use clap::{Parser, Subcommand, ValueEnum};

use apiflow::ExitCode;
use apiflow::batch::load_run::LoadFlags;
use apiflow::batch::profile::{Rate, Schedule, Stage};
use apiflow::batch::{self, Console, Shard};
use apiflow::check::confine::FileAccess;
use apiflow::check::inputs::{InputSources, parse_env_file, parse_var};
use apiflow::diagnostic::Diagnostic;
use apiflow::http::cookie_file::JarFile;
use apiflow::http::identity::Identity;
use apiflow::http::proxy::ProxyOptions;
use apiflow::http::{Client, ClientOptions, DEFAULT_MAX_BODY};
use apiflow::report::Format;
use apiflow::runner::{OpenapiChecks, Settings};

use crate::arazzo::{ArazzoArgs, ChecksArg, Loaded};
use crate::collection::{Checked, Scopes};

/// Runs declarative YAML workflows of HTTP steps.
#[derive(Debug, Parser)]
#[command(name = "apiflow", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate workflows, then run them.
    Run(Box<RunArgs>),
    /// Print each step's request as far as it can be rendered, and the data flow; sends nothing.
    Plan {
        /// The workflow file, or a Postman collection.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Set an input: NAME=VALUE.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Let the workflow read files under DIR, not only under its own folder.
        #[arg(long, value_name = "DIR")]
        file_root: Option<PathBuf>,
        #[command(flatten)]
        postman: PostmanArgs,
        #[command(flatten)]
        arazzo: ArazzoArgs,
    },
    /// Print the JSON Schema of the workflow format.
    Schema,
    /// Write a commented starter workflow to NAME.yaml.
    Init {
        /// The new workflow's name (file NAME.yaml unless it ends in .yaml/.yml).
        name: String,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Check workflows (or Postman collections) without sending anything.
    Validate {
        /// Workflow files, or Postman collections.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Let workflows read files under DIR, not only under their own folder.
        #[arg(long, value_name = "DIR")]
        file_root: Option<PathBuf>,
        #[command(flatten)]
        arazzo: ArazzoArgs,
        /// When to colour output.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Serve a local emulator of an API.
    Emulate {
        /// Which API.
        #[arg(value_enum)]
        api: EmulatedApi,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Seed for deterministic ids, secrets and tokens.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Convert another tool's files into workflows.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Work on reports already written: `merge` the JSON reports of a load test's shards.
    Report {
        #[command(subcommand)]
        command: crate::report_cmd::ReportCommand,
    },
}

/// Postman's scopes and folders, for `run` and `plan`.
#[derive(Debug, clap::Args)]
struct PostmanArgs {
    /// Read input values from a Postman environment export (below `--env-file` and the OS
    /// environment, above defaults).
    #[arg(short = 'e', long, value_name = "FILE")]
    environment: Option<PathBuf>,
    /// Read input values from a Postman globals export (below defaults).
    #[arg(short = 'g', long, value_name = "FILE")]
    globals: Option<PathBuf>,
    /// Run only the requests of this folder of a Postman collection, its subfolders included
    /// (repeatable).
    #[arg(long = "folder", value_name = "NAME")]
    folders: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Workflow files or directories, or Postman collections.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    postman: PostmanArgs,
    #[command(flatten)]
    arazzo: ArazzoArgs,
    /// How responses are checked against their OpenAPI operation: a response the description
    /// does not allow fails its step (`error`), is a warning (`warn`), or is not checked (`off`).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ChecksArg::Error)]
    openapi_checks: ChecksArg,
    /// Follow no redirect in any step: a 3xx response is the step's response.
    #[arg(long)]
    ignore_redirects: bool,
    /// Set an input: NAME=VALUE (repeatable; highest priority).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Read inputs from a dotenv file.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// Let workflows read files under DIR, not only under their own folder.
    #[arg(long, value_name = "DIR")]
    file_root: Option<PathBuf>,
    /// Write the files of `save:` under DIR (default: the current folder).
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Print every request and response.
    #[arg(short, long)]
    verbose: bool,
    /// Stop sending after this long (e.g. `2m`); `finally` steps still run.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    timeout: Option<Duration>,
    /// Largest response body read, in bytes (suffixes K, M, G allowed).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "16M")]
    max_body: usize,
    /// Time allowed to connect.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "10s")]
    connect_timeout: Duration,
    /// Accept any TLS certificate (prints a warning).
    #[arg(long)]
    insecure: bool,
    /// Trust the CA certificates in this PEM file too.
    #[arg(long, value_name = "PATH")]
    cacert: Option<PathBuf>,
    /// Present this client certificate (PEM) to servers that ask for one (mutual TLS).
    #[arg(long, value_name = "PATH", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of `--cert` (PEM; encrypted PKCS #8 needs `--key-passphrase-env`).
    #[arg(long, value_name = "PATH", requires = "cert")]
    key: Option<PathBuf>,
    /// Read the passphrase of an encrypted `--key` from this environment variable.
    #[arg(long, value_name = "VAR", requires = "key")]
    key_passphrase_env: Option<String>,
    /// Send every request through this proxy: http://, https://, socks5:// or socks5h://
    /// (beats `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`).
    // Parsed after clap, whose error would quote the value, password included.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// Reach these hosts directly: a comma list as in `NO_PROXY`, which it beats.
    #[arg(long, value_name = "HOSTS")]
    no_proxy: Option<String>,
    /// Start a built-in emulator and supply its values as inputs.
    #[arg(long, value_enum, value_name = "API")]
    emulate: Option<EmulatedApi>,
    /// When to colour output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Write a report: junit=PATH, json=PATH, html=PATH, har=PATH or markdown=PATH (repeatable).
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    reports: Vec<(Format, PathBuf)>,
    /// Print each request as an equivalent `curl` command.
    #[arg(long)]
    curl: bool,
    /// Show secrets in `--curl` commands (they are masked otherwise).
    #[arg(long, requires = "curl")]
    show_secrets: bool,
    /// Run up to N workflow files at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    /// Run each workflow N times (each iteration with its own variables and cookie jar;
    /// default 1, or one per `--data` row).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    iterations: Option<u32>,
    /// Run up to C iterations at once, sharing the connection pool (default 1).
    #[arg(long, short = 'c', value_name = "C", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: Option<u32>,
    /// Run a load run's iterations on N threads, each with its share of the iterations and of
    /// the `--concurrency` virtual users (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Run one iteration per row of a CSV (with a header) or JSON (array of objects) file,
    /// its columns as inputs; with `--iterations`, that many (iterations past the last row
    /// take the last row again, as in Newman).
    #[arg(short = 'd', long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Run only shard I of N (1-based) of the files, a stable split for parallel CI machines; of a
    /// load run (`--iterations`, `--data`, `--duration`, `--stages`), a share of its iterations,
    /// rows and arrivals. `auto` reads it from the environment.
    #[arg(long, value_name = "I/N|auto", value_parser = parse_shard)]
    shard: Option<ShardArg>,
    /// How many shards `--shard auto` splits into, beside Kubernetes' `JOB_COMPLETION_INDEX`
    /// (else `APIFLOW_SHARD_COUNT`).
    #[arg(long, value_name = "N", requires = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    shard_count: Option<u32>,
    /// Run iterations until this much time has passed, on `--concurrency` virtual users (a
    /// closed model); with `--rate`, how long to keep that rate.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, conflicts_with = "iterations")]
    duration: Option<Duration>,
    /// Start iterations at this arrival rate, `200/s` or `30/m`, whatever the response times (an
    /// open model): for `--duration`, or until `--iterations` (or one per `--data` row) have
    /// started; a start that finds `--concurrency` iterations running is dropped and counted.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    rate: Option<Rate>,
    /// Start iterations at a rate that moves linearly to each stage's target over its duration,
    /// from 0: `30s:50/s,2m:200/s,30s:0/s` (an open model).
    #[arg(long, value_name = "STAGES", value_parser = parse_stages, conflicts_with_all = ["iterations", "duration", "rate"])]
    stages: Option<Schedule>,
    /// Fail a load run whose metrics miss this: `p95<300ms`, `errors<1%`, `rps>500`, or one
    /// step's latency, `step=NAME:p99<50ms` (repeatable; replaces the workflow's
    /// `load.thresholds`).
    #[arg(long = "threshold", value_name = "THRESHOLD")]
    thresholds: Vec<String>,
    /// Stop a load run as soon as a threshold can no longer pass.
    #[arg(long)]
    abort_on_threshold: bool,
    /// Leave out the workflows' `load:` keys: each runs once, unless load flags say otherwise.
    #[arg(long)]
    no_load: bool,
    /// Load cookies from FILE (Netscape format, as curl writes it) before the run and save the
    /// jar to it afterwards.
    #[arg(long, value_name = "FILE")]
    cookie_jar: Option<PathBuf>,
    /// Run on after a failed step, reporting every failure, for steps whose workflow does not
    /// say otherwise (`on_failure:` on the step or in `defaults`).
    #[arg(long)]
    continue_on_failure: bool,
    /// Stop at the first failed step, as Newman's flag does: over `defaults.on_failure`, and
    /// over a Postman collection's default of running on after one.
    #[arg(long, conflicts_with = "continue_on_failure")]
    bail: bool,
    /// Allow each run of a workflow N steps at most, jumps included (default 10000, or the
    /// workflow's `defaults.max_steps`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_steps: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

// "PingOne" is a product name shown in `--help`, not code.
#[allow(clippy::doc_markdown)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EmulatedApi {
    /// PingOne's management, flows and OAuth endpoints.
    Pingone,
}

fn parse_report(text: &str) -> Result<(Format, PathBuf), String> {
    let Some((format, path)) = text.split_once('=') else {
        return Err(format!(
            "`--report {text}` needs the form FORMAT=PATH, e.g. `junit=report.xml`"
        ));
    };
    let format = Format::parse(format).ok_or_else(|| {
        format!(
            "unknown report format `{format}`: use `junit`, `json`, `html`, `har` or `markdown`"
        )
    })?;
    if path.is_empty() {
        return Err(format!("`--report {text}` needs a path after `=`"));
    }
    Ok((format, PathBuf::from(path)))
}

/// `--shard`: a fixed shard, or one read from the environment.
#[derive(Clone, Copy, Debug)]
enum ShardArg {
    Fixed(Shard),
    Auto,
}

fn parse_shard(text: &str) -> Result<ShardArg, String> {
    if text.trim() == "auto" {
        return Ok(ShardArg::Auto);
    }
    Shard::parse(text)
        .map(ShardArg::Fixed)
        .map_err(|message| format!("{message}, or `auto`"))
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    Rate::parse(text)
}

fn parse_stages(text: &str) -> Result<Schedule, String> {
    Stage::parse_list(text).map(|stages| Schedule::stages(&stages))
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    apiflow::duration::parse_duration(text)
}

fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let (number, factor) = match trimmed.char_indices().last() {
        Some((i, 'k' | 'K')) => (&trimmed[..i], 1024),
        Some((i, 'm' | 'M')) => (&trimmed[..i], 1024 * 1024),
        Some((i, 'g' | 'G')) => (&trimmed[..i], 1024 * 1024 * 1024),
        _ => (trimmed, 1),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid size `{text}`: expected a number of bytes such as `1048576`, `512K` or `16M`"))
}

impl ColorChoice {
    pub(crate) fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Runs the command line and returns the exit code.
pub(crate) fn main() -> i32 {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::Invalid.code()
            } else {
                0
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::Invalid.code();
        }
    };
    // On a task of its own rather than as the future `block_on` drives: a wake-up from the
    // connection tasks then goes straight to it, where the `block_on` future would first have
    // the runtime poll for I/O once more (an extra `epoll_wait` per request).
    runtime
        .block_on(async {
            tokio::spawn(dispatch(cli))
                .await
                .unwrap_or(ExitCode::Invalid)
        })
        .code()
}

/// Parses the command line as `Cli::try_parse` does, leaving clap's description of the command
/// line to the process exit: taking it apart was 6% of a one-step run's instructions.
fn parse_args() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let parsed = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(mut matches) => {
            let cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command));
            std::mem::forget(matches);
            cli
        }
        Err(error) => Err(error),
    };
    std::mem::forget(command);
    parsed
}

async fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate {
            files,
            file_root,
            arazzo,
            color,
        } => {
            let Some(access) = reading_access(file_root) else {
                return ExitCode::Invalid;
            };
            validate_command(
                &files,
                &access,
                &arazzo,
                color.enabled(std::io::stderr().is_terminal()),
            )
        }
        Command::Run(args) => run_command(*args).await,
        Command::Plan {
            file,
            vars,
            file_root,
            postman,
            arazzo,
        } => {
            let Some(access) = reading_access(file_root) else {
                return ExitCode::Invalid;
            };
            if crate::arazzo::is_arazzo(&file) {
                return crate::arazzo::plan_command(&file, vars, &access, &arazzo);
            }
            plan_command(&file, vars, &access, &postman)
        }
        Command::Schema => {
            print!("{}", apiflow::format::schema::json_schema());
            ExitCode::Passed
        }
        Command::Init { name } => init_command(&name),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "apiflow",
                &mut std::io::stdout(),
            );
            ExitCode::Passed
        }
        Command::Emulate {
            api: EmulatedApi::Pingone,
            port,
            seed,
        } => emulate_command(port, seed).await,
        Command::Import { source } => import_command(&source),
        Command::Report { command } => crate::report_cmd::run(command),
    }
}

/// What to import.
#[derive(Debug, Subcommand)]
enum ImportSource {
    /// Convert a Postman collection (v2.0 or v2.1) into workflows.
    Postman {
        /// The collection, exported from Postman as JSON.
        #[arg(value_name = "COLLECTION.json")]
        collection: PathBuf,
        /// A Postman environment: its values become the inputs' defaults.
        #[arg(short, long, value_name = "ENV.json")]
        environment: Option<PathBuf>,
        /// Write one workflow with every request, in order, to this file (default: stdout).
        #[arg(short, long, value_name = "OUT.yaml", conflicts_with = "out_dir")]
        output: Option<PathBuf>,
        /// Write one workflow per top-level folder into this directory.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// The folder the collection's relative file paths are relative to, as Newman's
        /// `--working-dir` (default: they are written as they are, relative to the workflow).
        #[arg(long, value_name = "DIR")]
        working_dir: Option<PathBuf>,
    },
    /// Convert the workflows of an Arazzo document (1.0 or 1.1) into workflows.
    Arazzo {
        /// The Arazzo document; its OpenAPI descriptions must be files beside it.
        #[arg(value_name = "FILE")]
        document: PathBuf,
        /// Write to this file (a name ending in `.yaml` or `.yml`), or one file per workflow
        /// into this folder (any other name); default: stdout.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Import only this workflow (its `workflowId`).
        #[arg(long, value_name = "ID")]
        workflow: Option<String>,
        /// Read source description NAME from FILE instead of its `url` (repeatable).
        #[arg(long = "source", value_name = "NAME=FILE", value_parser = parse_source)]
        sources: Vec<(String, PathBuf)>,
    },
}

/// Reads `--source NAME=FILE`.
fn parse_source(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(file)))
        }
        _ => Err(format!("expected NAME=FILE, found `{text}`")),
    }
}

/// Imports, then prints the warnings and writes the workflows; nothing is written when the
/// import fails.
fn import_command(source: &ImportSource) -> ExitCode {
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let (destination, imported) = match source {
        ImportSource::Postman {
            collection,
            environment,
            output,
            out_dir,
            working_dir,
        } => {
            let destination = match (output, out_dir) {
                (Some(file), _) => Destination::File(file.clone()),
                (None, Some(dir)) => Destination::Dir(dir.clone()),
                (None, None) => Destination::Stdout,
            };
            let options = apiflow_import::Options {
                working_dir: working_dir.clone(),
            };
            let imported = apiflow_import::postman_with(
                collection,
                environment.as_deref(),
                &destination,
                &options,
            );
            (destination, imported)
        }
        ImportSource::Arazzo {
            document,
            output,
            workflow,
            sources,
        } => {
            let destination = match output {
                None => Destination::Stdout,
                Some(path) if path.extension().is_some_and(|e| e == "yaml" || e == "yml") => {
                    Destination::File(path.clone())
                }
                Some(dir) => Destination::Dir(dir.clone()),
            };
            let imported =
                apiflow_import::arazzo(document, &destination, workflow.as_deref(), sources);
            (destination, imported)
        }
    };
    let import = match imported {
        Ok(import) => import,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, color);
            return ExitCode::Invalid;
        }
    };
    {
        let mut err = std::io::stderr().lock();
        for warning in &import.warnings {
            let _ = write!(err, "{}", warning.render(color));
        }
    }
    match &destination {
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            for workflow in &import.workflows {
                let _ = out.write_all(workflow.text.as_bytes());
            }
        }
        Destination::File(_) | Destination::Dir(_) => {
            if let Destination::Dir(dir) = &destination
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                let problem = Diagnostic::error(format!("cannot create `{}`: {e}", dir.display()));
                print_diagnostics(&[problem], color);
                return ExitCode::Invalid;
            }
            for workflow in &import.workflows {
                let target = &workflow.target;
                if let Err(e) = std::fs::write(target, &workflow.text) {
                    let problem = Diagnostic::error(format!("cannot write `{target}`: {e}"));
                    print_diagnostics(&[problem], color);
                    return ExitCode::Invalid;
                }
                eprintln!("✓ wrote `{target}`: {}", plural(workflow.steps, "step"));
            }
        }
    }
    ExitCode::Passed
}

/// The files `validate` and `plan` may read: `--file-root` checked first, which says why it is
/// refused (`None`).
fn reading_access(file_root: Option<PathBuf>) -> Option<FileAccess> {
    if let Err(problem) = check_file_root(file_root.as_deref()) {
        print_diagnostics(&[problem], std::io::stderr().is_terminal());
        return None;
    }
    Some(FileAccess {
        file_root,
        ..FileAccess::default()
    })
}

/// Checks that `--file-root` names a folder, before any workflow is read.
fn check_file_root(root: Option<&std::path::Path>) -> Result<(), Diagnostic> {
    match root {
        Some(root) if !root.is_dir() => Err(Diagnostic::error(format!(
            "`--file-root {}` is not a folder",
            root.display()
        ))
        .help("give the folder the files workflows read must be under")),
        _ => Ok(()),
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic], color: bool) {
    let _ = std::io::stderr()
        .lock()
        .write_all(Diagnostic::render_all(diagnostics, color).as_bytes());
}

fn validate_command(
    files: &[PathBuf],
    access: &FileAccess,
    arazzo: &ArazzoArgs,
    color: bool,
) -> ExitCode {
    let mut code = ExitCode::Passed;
    for file in files {
        let kind = crate::arazzo::kind(file);
        if let crate::arazzo::Kind::Description(problem) = kind {
            print_diagnostics(&[*problem], color);
            code = ExitCode::Invalid;
            continue;
        }
        if matches!(kind, crate::arazzo::Kind::Arazzo) {
            match crate::arazzo::check(file, access, arazzo, ChecksArg::Error) {
                Ok(document) => println!(
                    "✓ {}: {}",
                    file.display(),
                    crate::arazzo::summary(&document)
                ),
                Err(diagnostics) => {
                    print_diagnostics(&diagnostics, color);
                    let count = diagnostics.len();
                    eprintln!(
                        "✗ {}: {count} problem{}",
                        file.display(),
                        if count == 1 { "" } else { "s" }
                    );
                    code = ExitCode::Invalid;
                }
            }
            continue;
        }
        match crate::collection::check(file, access, &Scopes::default(), &[]) {
            Ok(Checked { plan, warnings, .. }) => {
                print_diagnostics(&warnings, color);
                let w = &plan.workflow;
                println!(
                    "✓ {}: `{}` is valid ({}, {} finally)",
                    file.display(),
                    w.name.value,
                    plural(w.steps.len(), "step"),
                    w.finally.len()
                );
            }
            Err(diagnostics) => {
                print_diagnostics(&diagnostics, color);
                let count = diagnostics.len();
                eprintln!(
                    "✗ {}: {count} problem{}",
                    file.display(),
                    if count == 1 { "" } else { "s" }
                );
                code = ExitCode::Invalid;
            }
        }
    }
    code
}

async fn run_command(args: RunArgs) -> ExitCode {
    let color_err = args.color.enabled(std::io::stderr().is_terminal());
    let shard = match args.shard {
        None => None,
        Some(ShardArg::Fixed(shard)) => Some(shard),
        Some(ShardArg::Auto) => match batch::shard::from_environment(
            &|name| std::env::var(name).ok(),
            args.shard_count.map(|n| n as usize),
        ) {
            Ok(shard) => Some(shard),
            Err(message) => {
                print_diagnostics(&[Diagnostic::error(message)], color_err);
                return ExitCode::Invalid;
            }
        },
    };
    // A load run splits its iterations, rows and arrivals; any other run splits its files.
    // A malformed threshold is refused before any workflow is read; its step once they are.
    let flag_thresholds = match apiflow::load::threshold::from_flags(&args.thresholds, None) {
        Ok(thresholds) => thresholds,
        Err(problems) => {
            print_diagnostics(&problems, color_err);
            return ExitCode::Invalid;
        }
    };
    let flags = LoadFlags {
        iterations: args.iterations.map(|n| n as usize),
        concurrency: args.concurrency.map(|n| n as usize),
        duration: args.duration,
        rate: args.rate,
        stages: args.stages.clone(),
        thresholds: (!flag_thresholds.is_empty()).then_some(flag_thresholds),
    };
    // A workflow given alone whose `load:` key makes its run a load run: `--shard` splits its
    // iterations, not the files.
    let load = flags.any()
        || args.data.is_some()
        || (shard.is_some() && !args.no_load && declares_load(&args.files));
    let file_shard = if load { None } else { shard };
    let live = if load {
        let var = |name: &str| std::env::var(name).ok();
        match batch::live::Mode::choose(&var, std::io::stderr().is_terminal()) {
            Ok(mode) => mode,
            Err(message) => {
                let problem = Diagnostic::error(message).help(
                    "set `APIFLOW_LIVE` to `off`, `plain` or `plain:DURATION`, or unset it to show the live view as the terminal allows",
                );
                print_diagnostics(&[problem], color_err);
                return ExitCode::Invalid;
            }
        }
    } else {
        batch::live::Mode::Off
    };
    let files = match batch::workflow_files(&args.files, file_shard) {
        Ok(files) => files,
        Err(message) => {
            print_diagnostics(&[Diagnostic::error(message)], color_err);
            return ExitCode::Invalid;
        }
    };
    if let (Some(Shard { index, count }), true) = (file_shard, files.is_empty()) {
        // More shards than files: this machine has nothing to do, which is not a failure.
        println!("shard {index}/{count} holds no workflow file; nothing to run");
        return ExitCode::Passed;
    }
    if let Err(problem) = check_file_root(args.file_root.as_deref()) {
        print_diagnostics(&[problem], color_err);
        return ExitCode::Invalid;
    }
    let scopes = match Scopes::read(
        args.postman.environment.as_deref(),
        args.postman.globals.as_deref(),
    ) {
        Ok(scopes) => scopes,
        Err(problem) => {
            print_diagnostics(&[problem], color_err);
            return ExitCode::Invalid;
        }
    };
    let mut plans = Vec::with_capacity(files.len());
    let mut scopes_by_file = Vec::new();
    let mut origins = Vec::new();
    let mut invalid = false;
    let access = FileAccess {
        file_root: args.file_root.clone(),
        output_dir: args.output_dir.clone(),
        ..FileAccess::default()
    };
    for file in &files {
        let kind = crate::arazzo::kind(file);
        if let crate::arazzo::Kind::Description(problem) = kind {
            print_diagnostics(&[*problem], color_err);
            invalid = true;
            continue;
        }
        if matches!(kind, crate::arazzo::Kind::Arazzo) {
            match crate::arazzo::check(file, &access, &args.arazzo, args.openapi_checks) {
                Ok(document) => plans.push(Loaded::Arazzo(Box::new(document))),
                Err(diagnostics) => {
                    print_diagnostics(&diagnostics, color_err);
                    invalid = true;
                }
            }
            continue;
        }
        match crate::collection::check(file, &access, &scopes, &args.postman.folders) {
            Ok(checked) => {
                print_diagnostics(&checked.warnings, color_err);
                if let (Some(own), Some(origin)) = (checked.scopes, checked.origin) {
                    scopes_by_file.push((
                        checked.plan.workflow.source.name.clone(),
                        own.environment,
                        own.globals,
                    ));
                    origins.push((plans.len(), origin));
                }
                plans.push(Loaded::Workflow(Box::new(checked.plan)));
            }
            Err(diagnostics) => {
                print_diagnostics(&diagnostics, color_err);
                invalid = true;
            }
        }
    }
    let env_file = match &args.env_file {
        None => Vec::new(),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match parse_env_file(&path.display().to_string(), &text) {
                Ok(entries) => entries,
                Err(diagnostic) => {
                    print_diagnostics(&[diagnostic], color_err);
                    return ExitCode::Invalid;
                }
            },
            Err(error) => {
                eprintln!("error: cannot read env file `{}`: {error}", path.display());
                return ExitCode::Invalid;
            }
        },
    };
    if invalid {
        return ExitCode::Invalid;
    }
    // Each workflow whose `load:` key makes its run a load run, with the flags over it.
    let load_by_file: Vec<(String, batch::load_run::LoadRun)> = if args.no_load {
        Vec::new()
    } else {
        plans
            .iter()
            .filter_map(Loaded::workflow)
            .filter_map(|plan| {
                let own = plan.workflow.load.as_ref()?;
                Some((plan.workflow.source.name.clone(), flags.over(Some(own))))
            })
            .collect()
    };
    // `--rate` paces what bounds the run: the flags' count or duration, the rows, or what each
    // workflow's `load:` key gives.
    if flags.rate.is_some()
        && flags.iterations.is_none()
        && flags.duration.is_none()
        && args.data.is_none()
    {
        let bounded = |plan: &Loaded| {
            !args.no_load
                && plan
                    .workflow()
                    .and_then(|p| p.workflow.load.as_ref())
                    .is_some_and(|own| own.iterations.is_some() || own.duration.is_some())
        };
        if !plans.iter().all(bounded) {
            let problem = Diagnostic::error("`--rate` needs `--duration`, `--iterations` or `--data`")
                .help("start iterations at the rate for a time (`--rate 50/s --duration 1m`) or until a count has started (`--rate 50/s --iterations 500`); a workflow's `load:` key may give either");
            print_diagnostics(&[problem], color_err);
            return ExitCode::Invalid;
        }
    }
    if let Err(problems) = checked_thresholds(&args, &plans, load, &load_by_file) {
        print_diagnostics(&problems, color_err);
        return ExitCode::Invalid;
    }
    let base = flags.over(None);
    if plans.len() > 1 {
        let unknown = batch::unknown_vars(&args.vars, &plans);
        if !unknown.is_empty() {
            print_diagnostics(&unknown, color_err);
            return ExitCode::Invalid;
        }
    }
    let ca_pem = match &args.cacert {
        None => None,
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                eprintln!("error: cannot read `--cacert {}`: {error}", path.display());
                return ExitCode::Invalid;
            }
        },
    };
    if args.insecure {
        eprintln!(
            "warning: `--insecure`: TLS certificates are not verified; anyone on the network path can read and change this traffic"
        );
    }
    let identity = match client_identity(&args) {
        Ok(identity) => identity,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::Invalid;
        }
    };
    let proxy = match args.proxy.as_deref().map(apiflow::http::proxy::parse_proxy) {
        None => None,
        Some(Ok(url)) => Some(url),
        Some(Err(message)) => {
            eprintln!("error: `--proxy`: {message}");
            return ExitCode::Invalid;
        }
    };
    let mut secrets = proxy
        .as_ref()
        .map(apiflow::http::proxy::secrets)
        .unwrap_or_default();
    secrets.extend(apiflow::http::proxy::env_secrets(&|name| {
        std::env::var(name).ok()
    }));
    let client = match Client::new(&ClientOptions {
        insecure: args.insecure,
        ca_pem,
        identity,
        proxy: ProxyOptions {
            url: proxy,
            no_proxy: args.no_proxy.clone(),
        },
        connect_timeout: args.connect_timeout,
        max_body: if args.max_body == 0 {
            DEFAULT_MAX_BODY
        } else {
            args.max_body
        },
        ..ClientOptions::default()
    }) {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::Invalid;
        }
    };
    let emulator = match args.emulate {
        Some(EmulatedApi::Pingone) => {
            match apiflow_pingone::Emulator::start(0, apiflow_pingone::Options::default()).await {
                Ok(emulator) => Some(emulator),
                Err(error) => {
                    eprintln!("error: cannot start the PingOne emulator: {error}");
                    return ExitCode::Invalid;
                }
            }
        }
        None => None,
    };
    // An Arazzo document's operations go to the emulator, unless `--server` says otherwise.
    if let Some(emulator) = &emulator {
        for loaded in &mut plans {
            if let Loaded::Arazzo(document) = loaded {
                crate::arazzo::serve_from(document, &emulator.info().auth_base);
            }
        }
    }
    let emulated: Vec<(String, String)> = emulator
        .as_ref()
        .map(|e| {
            e.info()
                .inputs()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        })
        .unwrap_or_default();
    let cookie_jar = match &args.cookie_jar {
        None => None,
        Some(_) if args.jobs > 1 || args.concurrency.is_some_and(|c| c > 1) => {
            eprintln!(
                "error: `--cookie-jar` saves the jar of one run at a time: it cannot go with `--jobs` or `--concurrency` above 1"
            );
            return ExitCode::Invalid;
        }
        Some(path) => match JarFile::load(path) {
            Ok(file) => Some(Arc::new(file)),
            Err(diagnostic) => {
                print_diagnostics(&[diagnostic], color_err);
                return ExitCode::Invalid;
            }
        },
    };
    let settings = Settings {
        run_timeout: args.timeout,
        forget_passed_exchanges: args.reports.is_empty(),
        secrets,
        cookie_jar: cookie_jar.clone(),
        continue_on_failure: args.continue_on_failure,
        bail: args.bail,
        max_steps: args.max_steps,
        ignore_redirects: args.ignore_redirects,
        openapi_checks: match args.openapi_checks {
            ChecksArg::Error => OpenapiChecks::Error,
            ChecksArg::Warn => OpenapiChecks::Warn,
            ChecksArg::Off => OpenapiChecks::Off,
        },
        ..Settings::default()
    };
    let interrupt = Arc::clone(&settings.interrupt);
    let wake = Arc::clone(&settings.wake);
    let on_ctrl_c = async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.store(true, Ordering::SeqCst);
            wake.notify_waiters();
            eprintln!(
                "\ninterrupted: running the `finally` steps (press Ctrl-C again to quit now)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(ExitCode::Interrupted.code());
            }
        }
    };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    );
    if (load || !load_by_file.is_empty()) && threads > 1 {
        // A load run on several threads holds this one while its iterations run: Ctrl-C is
        // listened for on a thread of its own.
        std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(on_ctrl_c);
            }
        });
    } else {
        tokio::spawn(on_ctrl_c);
    }
    let sources = InputSources {
        vars: args.vars.clone(),
        env_file,
        supplied: Vec::new(),
        environment: scopes.environment,
        globals: scopes.globals,
    };
    let rows = match &args.data {
        Some(path) => match batch::data::read_data(path) {
            // As in Newman, `--iterations` beats the number of rows: the iterations past the
            // last row take the last row again.
            Ok(mut rows) => {
                if let Some(count) = args.iterations {
                    let last = rows.last().cloned().unwrap_or_default();
                    rows.resize(count as usize, last);
                }
                // A data file names a collection's variables as Postman does (`api-path`).
                if let ([_], [(_, origin)]) = (plans.as_slice(), origins.as_slice()) {
                    for row in &mut rows {
                        for (name, _) in row.iter_mut() {
                            *name = origin.input_name(name);
                        }
                    }
                }
                Some(rows)
            }
            Err(message) => {
                print_diagnostics(&[Diagnostic::error(message)], color_err);
                return ExitCode::Invalid;
            }
        },
        None => None,
    };
    // A collection's missing values are found before the run, where they can be pointed at its
    // variables (a workflow's are found as it starts); with `--data`, a row may give them.
    if rows.is_none() {
        let missing =
            missing_collection_values(&plans, &origins, &sources, &emulated, &scopes_by_file);
        if !missing.is_empty() {
            print_diagnostics(&missing, color_err);
            return ExitCode::Invalid;
        }
    }
    let options = batch::Options {
        sources,
        supplied: emulated,
        verbose: args.verbose,
        curl: args.curl,
        show_secrets: args.show_secrets,
        jobs: usize::from(args.jobs),
        iterations: base.iterations.unwrap_or(1),
        concurrency: base.concurrency,
        threads,
        rows,
        reports: args.reports,
        scopes_by_file,
        profile: base.profile,
        shard: if load { shard } else { None },
        // Without a load flag, `--threshold` is for the workflows with a `load:` key only.
        thresholds: if load { base.thresholds } else { Vec::new() },
        abort_on_threshold: args.abort_on_threshold,
        live,
        load_by_file,
        github: apiflow::report::github::Actions::from_env(|name| std::env::var(name).ok()),
    };
    let console = Console::std(
        args.color.enabled(std::io::stdout().is_terminal()),
        color_err,
    );
    let worst = batch::run(&plans, &client, &settings, &options, &console).await;
    // Saved after a failed run too: the cookies a run got are worth keeping either way.
    if let Some(file) = &cookie_jar
        && let Err(message) = file.save()
    {
        eprintln!("error: {message}");
        return worst.worst(ExitCode::Invalid);
    }
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    // The process exits next: taking the compiled plans apart would only cost time.
    std::mem::forget(plans);
    worst
}

/// Tells whether the command names one workflow file whose `load:` key makes its run a load
/// run (read before the files are split between shards).
fn declares_load(files: &[PathBuf]) -> bool {
    let [file] = files else {
        return false;
    };
    if !file.is_file() || crate::arazzo::is_arazzo(file) {
        return false;
    }
    std::fs::read_to_string(file).is_ok_and(|text| {
        let source = apiflow::span::Source::new(file.display().to_string(), text);
        apiflow::format::load::load_partial(&source)
            .0
            .is_some_and(|workflow| workflow.load.is_some())
    })
}

/// Checks `--threshold` and `--abort-on-threshold` against the run: thresholds go with a load
/// run, and a step's threshold names a step of one of the workflows.
fn checked_thresholds(
    args: &RunArgs,
    plans: &[Loaded],
    load: bool,
    load_by_file: &[(String, batch::load_run::LoadRun)],
) -> Result<(), Vec<Diagnostic>> {
    if !args.thresholds.is_empty() && !load && load_by_file.is_empty() {
        return Err(vec![
            Diagnostic::error(
                "`--threshold` needs a load run, and this command runs each workflow once",
            )
            .help(
                "add `--iterations N`, `--duration`, `--data` or `--stages` (or a `load:` key to \
                 the workflow); the percentiles of one run say little",
            ),
        ]);
    }
    let in_workflows = load_by_file
        .iter()
        .any(|(_, run)| !run.thresholds.is_empty());
    if args.abort_on_threshold && args.thresholds.is_empty() && !in_workflows {
        return Err(vec![
            Diagnostic::error(
                "`--abort-on-threshold` stops on a failing threshold, and none is given",
            )
            .help("add one, e.g. `--threshold 'errors<1%'`, or `thresholds:` under `load:`"),
        ]);
    }
    // With an Arazzo document among the files, the step names are not checked. A workflow's
    // are its own and those of the workflows its `uses` steps run.
    let steps: Option<Vec<&str>> = plans
        .iter()
        .map(|loaded| {
            loaded
                .workflow()
                .map(apiflow::check::validate::Plan::threshold_steps)
        })
        .collect::<Option<Vec<_>>>()
        .map(|names| names.into_iter().flatten().collect());
    let thresholds = apiflow::load::threshold::from_flags(&args.thresholds, steps.as_deref())?;
    let composite: Vec<(&str, &str)> = plans
        .iter()
        .filter_map(Loaded::workflow)
        .flat_map(|plan| {
            let w = &plan.workflow;
            apiflow::format::load::composite_steps(w.steps.iter().chain(&w.finally))
        })
        .collect();
    let problems: Vec<Diagnostic> = thresholds
        .iter()
        .zip(&args.thresholds)
        .filter_map(|(threshold, text)| {
            let source = apiflow::span::Source::new("--threshold", text.clone());
            let at = apiflow::span::Span::new(1, 1, 0);
            apiflow::load::threshold::composite_step(threshold, &composite, &source, at)
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Resolves the inputs of each collection as its run will, and returns the problems, each
/// pointed at the collection's variable.
fn missing_collection_values(
    plans: &[Loaded],
    origins: &[(usize, crate::collection::Origin)],
    sources: &InputSources,
    supplied: &[(String, String)],
    scopes_by_file: &[(
        String,
        Vec<apiflow::check::environment::Scoped>,
        Vec<apiflow::check::environment::Scoped>,
    )],
) -> Vec<Diagnostic> {
    let os_env = |name: &str| std::env::var(name).ok();
    let mut problems = Vec::new();
    for (index, origin) in origins {
        let Some(plan) = plans[*index].workflow() else {
            continue;
        };
        let declared = |name: &String| plan.workflow.inputs.iter().any(|i| &i.name.value == name);
        let mut sources = sources.clone();
        sources.supplied = supplied
            .iter()
            .filter(|(k, _)| declared(k))
            .cloned()
            .collect();
        if plans.len() > 1 {
            sources.vars.retain(|(name, _)| declared(name));
        }
        if let Some((_, environment, globals)) = scopes_by_file
            .iter()
            .find(|(name, _, _)| *name == plan.workflow.source.name)
        {
            sources.environment.clone_from(environment);
            sources.globals.clone_from(globals);
        }
        if let Err(diagnostics) = apiflow::check::inputs::resolve(plan, &sources, &os_env) {
            problems.extend(origin.locate(diagnostics));
        }
    }
    problems
}

/// Reads `--cert`, `--key` and the passphrase `--key-passphrase-env` names; the error never
/// shows the passphrase.
fn client_identity(args: &RunArgs) -> Result<Option<Arc<Identity>>, String> {
    use apiflow::http::identity::Problem;
    let (Some(cert), Some(key)) = (&args.cert, &args.key) else {
        return Ok(None);
    };
    let read = |flag: &str, path: &PathBuf| {
        std::fs::read(path).map_err(|error| {
            let why = apiflow::check::file::cannot_read(path, &error).title;
            format!("`{flag} {}`: {why}", path.display())
        })
    };
    let passphrase = match &args.key_passphrase_env {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(value) => Some(value),
            Err(_) => {
                return Err(format!(
                    "`--key-passphrase-env {name}`: the environment variable `{name}` is not set (or not UTF-8)"
                ));
            }
        },
    };
    let (cert_pem, key_pem) = (read("--cert", cert)?, read("--key", key)?);
    Identity::from_pem(&cert_pem, &key_pem, passphrase.as_deref())
        .map(|identity| Some(Arc::new(identity)))
        .map_err(|problem| match problem {
            Problem::Cert(why) => format!("`--cert {}`: {why}", cert.display()),
            Problem::Key(why) => format!("`--key {}`: {why}", key.display()),
            Problem::Passphrase(why) => match &args.key_passphrase_env {
                Some(name) => format!("`--key-passphrase-env {name}`: {why}"),
                None => format!(
                    "`--key {}`: {why} (pass it with `--key-passphrase-env VAR`)",
                    key.display()
                ),
            },
        })
}

fn plan_command(
    file: &std::path::Path,
    vars: Vec<(String, String)>,
    access: &FileAccess,
    postman: &PostmanArgs,
) -> ExitCode {
    let color = std::io::stderr().is_terminal();
    let scopes = match Scopes::read(postman.environment.as_deref(), postman.globals.as_deref()) {
        Ok(scopes) => scopes,
        Err(problem) => {
            print_diagnostics(&[problem], color);
            return ExitCode::Invalid;
        }
    };
    let (plan, own) = match crate::collection::check(file, access, &scopes, &postman.folders) {
        Ok(checked) => {
            print_diagnostics(&checked.warnings, color);
            (checked.plan, checked.scopes)
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, color);
            return ExitCode::Invalid;
        }
    };
    let scopes = own.unwrap_or(scopes);
    let sources = InputSources {
        vars,
        environment: scopes.environment,
        globals: scopes.globals,
        ..InputSources::default()
    };
    let os_env = |name: &str| std::env::var(name).ok();
    // A missing input is shown as a placeholder, but a `--var` that names no input is a mistake.
    if let Err(diagnostics) = apiflow::check::inputs::resolve(&plan, &sources, &os_env) {
        let unknown: Vec<Diagnostic> = diagnostics
            .into_iter()
            .filter(|d| d.title.starts_with("`--var "))
            .collect();
        if !unknown.is_empty() {
            print_diagnostics(&unknown, color);
            return ExitCode::Invalid;
        }
    }
    let inputs = apiflow::check::inputs::resolve_lenient(&plan, &sources, &os_env);
    print!("{}", apiflow::report::plan::render(&plan, inputs));
    ExitCode::Passed
}

/// The starter workflow `apiflow init` writes.
const STARTER: &str = include_str!("starter.yaml");

fn init_command(name: &str) -> ExitCode {
    let has_extension = std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let file = if has_extension {
        name.to_owned()
    } else {
        format!("{name}.yaml")
    };
    let path = std::path::Path::new(&file);
    if path.exists() {
        eprintln!("error: `{file}` already exists; apiflow init never overwrites a file");
        return ExitCode::Invalid;
    }
    let title = path
        .file_stem()
        .map_or_else(|| name.to_owned(), |s| s.to_string_lossy().into_owned());
    let text = STARTER.replace("NAME", &title);
    if let Err(error) = std::fs::write(path, text) {
        eprintln!("error: cannot write `{file}`: {error}");
        return ExitCode::Invalid;
    }
    println!("wrote {file}; run it with: apiflow run {file}");
    ExitCode::Passed
}

/// Writes a count with its noun, plural when needed: `1 step`, `2 steps`.
pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

async fn emulate_command(port: u16, seed: Option<u64>) -> ExitCode {
    let options = apiflow_pingone::Options {
        seed,
        ..apiflow_pingone::Options::default()
    };
    let emulator = match apiflow_pingone::Emulator::start(port, options).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: cannot start the PingOne emulator on port {port}: {error}");
            return ExitCode::Invalid;
        }
    };
    let info = emulator.info();
    println!("PingOne emulator listening on http://{}", emulator.addr());
    println!();
    println!("  api_base             {}", info.api_base);
    println!("  auth_base            {}", info.auth_base);
    println!("  env_id               {}", info.env_id);
    println!("  worker_client_id     {}", info.worker_client_id);
    println!("  worker_client_secret {}", info.worker_client_secret);
    println!("  client_jwks          {}", info.client_jwks);
    println!("  client_private_key   {}", info.client_private_key);
    println!();
    println!(
        "client_private_key is a TEST-ONLY key that ships with apiflow (for client_auth=private_key_jwt): never register its JWKS anywhere else."
    );
    println!();
    println!("Run the workflow against it in another terminal:");
    println!(
        "  apiflow run workflows/refresh_token.yaml --var api_base={} --var auth_base={} --var env_id={} --var worker_client_id={} --var worker_client_secret=…",
        info.api_base, info.auth_base, info.env_id, info.worker_client_id
    );
    println!();
    println!("Press Ctrl-C to stop.");
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    ExitCode::Passed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("16M"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
