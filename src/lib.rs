//! runner: a declarative, OAuth2-backed API runner.
//!
//! `runner::run` takes the parsed command line and returns the exit code; `main`
//! only prints the error. See SPEC.md for the contract.

/// Every message on stderr goes through the masking point: inside this crate
/// `eprintln!` and `eprint!` are these, which shadow std's and mask every registered
/// secret in every form (`secret::write_stderr`). `clippy.toml` forbids std's by path.
macro_rules! eprintln {
    () => {
        $crate::secret::write_stderr(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::secret::write_stderr(format_args!($($arg)*), true)
    };
}

/// `eprint!` through the masking point; see `eprintln!`.
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::secret::write_stderr(format_args!($($arg)*), false)
    };
}

pub mod auth;
pub mod cli;
pub mod clock;
pub mod env;
pub mod error;
pub mod expect;
pub mod fuzzing;
pub mod http;
pub mod import;
pub mod init;
pub mod mcp;
pub mod project;
pub mod run;
pub mod secret;
pub mod serve;
pub mod user;

use cli::{Cli, Command};
pub use error::Error;

/// Runs one command. `Ok` carries the exit code (0 unless a command chose another).
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Exec(args) => run::exec(g, args).await,
        Command::Test(args) => run::suite::test(g, args).await,
        Command::Login(args) => run::account::login(g, args).await,
        Command::Logout(args) => run::account::logout(g, args).await,
        Command::Token => run::account::token(g).await,
        Command::Profiles => run::account::profiles(g).await,
        Command::Check(args) => {
            let project = project::Project::discover(g.root.as_deref());
            let paths = if args.paths.is_empty() {
                project::check::default_paths(
                    project
                        .as_ref()
                        .map_err(|e| error::InputError::usage(e.to_string()))?,
                )
            } else {
                args.paths.clone()
            };
            let progress =
                run::progress::Delayed::new(!g.quiet, "checking {pos}/{len} files {wide_bar}");
            let checked = project::check::check(
                project.ok().as_ref(),
                &paths,
                &|p| {
                    let mut problems = env::written_endpoint_problems(p);
                    problems.extend(env::key_problems(p));
                    problems.extend(env::transport_problems(p));
                    problems.extend(user::unconfigured_secrets(&p.source));
                    problems
                },
                &|done, total| progress.set(done, total),
            );
            progress.finish();
            let n = checked?;
            if !g.quiet {
                eprintln!(
                    "checked {n} file{}: no problems",
                    if n == 1 { "" } else { "s" }
                );
            }
            Ok(0)
        }
        Command::Import(cmd) => import::run(g, cmd).await,
        Command::Init(a) => init::run(g, a),
        Command::Schema { kind } => {
            let value = match kind {
                cli::SchemaKind::Request => project::editor_schema::request(),
                cli::SchemaKind::Profile => project::editor_schema::profile(),
            };
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            run::output::Output::new()
                .line(&text)
                .map_err(|e| Error::io("cannot write to stdout", e))?;
            Ok(0)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = cli::Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "runner", &mut buf);
            run::output::Output::new()
                .bytes(&buf)
                .map_err(|e| Error::io("cannot write to stdout", e))?;
            Ok(0)
        }
        Command::Serve(args) => serve::serve(g, args).await,
        Command::Mcp(args) => mcp::mcp(g, args).await,
        Command::Sandbox(a) => sandbox_forever(a).await,
    }
}

/// `runner sandbox`: the Ermeo-compatible server until Ctrl-C.
async fn sandbox_forever(a: &cli::SandboxArgs) -> Result<u8, Error> {
    let opts = sandbox::SandboxOptions {
        port: a.port,
        access_ttl: a.access_ttl,
        refresh_ttl: a.refresh_ttl,
        assets: a.assets,
        latency_ms: a.latency,
        fail_rate: a.fail_rate,
        rate_limit: a.rate_limit,
        fail_first: a.fail_first,
        fail_status: a.fail_status,
        manual_clock: a.manual_clock,
        tls: a.tls,
        auto_approve: a.auto_approve,
        device_ttl: a.device_ttl,
        client_ca: match &a.client_ca {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| Error::io(format!("cannot read {}", p.display()), e))?,
            ),
            None => None,
        },
        dpop_nonce: a.dpop_nonce,
        dpop_required: a.dpop_required,
    };
    sandbox::serve_forever(opts, a.ca_out.as_deref())
        .await
        .map_err(|e| Error::io("sandbox", e))?;
    Ok(0)
}
