use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// Parses the command line, runs it, prints the error (masked) and exits with its code.
fn main() -> ExitCode {
    // A bug must not print a secret either: the message is masked like any other.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        runner::secret::write_stderr(
            format_args!("error: internal error (a bug in runner; please report it): {msg}{place}"),
            true,
        );
        // The release profile aborts on panic (no unwinding tables to ship): exit with
        // the code an unwinding panic has always had instead of SIGABRT's 134.
        if cfg!(panic = "abort") {
            std::process::exit(101);
        }
    }));
    let cli = parse_command_line();
    let color = match cli.global.color {
        runner::cli::ColorChoice::Always => true,
        runner::cli::ColorChoice::Never => false,
        runner::cli::ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    };
    runner::secret::log::init(cli.global.verbose, cli.global.quiet, color);
    runner::run::explain::set_body_bytes(cli.global.show_body_bytes);
    // A single-threaded runtime starts fastest; the sandbox server needs threads only
    // when it is the command.
    // The sandbox serves many clients; everything else runs on one thread (measured:
    // a second worker made bulk runs slower on this 2-core machine, see BENCHMARKS.md).
    let runtime = if matches!(cli.command, runner::cli::Command::Sandbox(_)) {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            runner::secret::write_stderr(
                format_args!("error: cannot start the async runtime: {e}"),
                true,
            );
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(runner::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Through the masking point, like every message.
            runner::secret::write_stderr(format_args!("{}", e.render()), false);
            ExitCode::from(e.exit_code())
        }
    }
}

/// The command line, as `Cli::parse` reads it (`--help`, `--version` and errors print
/// and exit the same way), except that clap's tree of commands and arguments is
/// left for the process's end to free: dropping it took 8 % of a whole authenticated
/// GET's instructions (B1 in BENCHMARKS.md, ninth session).
fn parse_command_line() -> runner::cli::Cli {
    let mut command = runner::cli::Cli::command();
    let mut matches = command.get_matches_mut();
    let cli = runner::cli::Cli::from_arg_matches_mut(&mut matches)
        .unwrap_or_else(|e| e.format(&mut command).exit());
    std::mem::forget((command, matches));
    cli
}
