//! The `revertbot` command: parse, set up logging, run one command, and turn an error into one
//! line on stderr and the exit code the README documents.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use cli::args::Cli;
use revertbot::error::{kind_of, render_chain};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match &cli.log {
        Some(f) => EnvFilter::try_new(f),
        None => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new("warn")),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --log / RUST_LOG is not a valid filter: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();

    let mut stdout = std::io::stdout().lock();
    match cli::run(&cli.command, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", render_chain(&err, &cli::flag));
            ExitCode::from(kind_of(&err).exit_code())
        }
    }
}

/// The reader went away (`revertbot ... | head`): not an error worth a message.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
