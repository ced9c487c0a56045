//! The `revertbot` command: parse, set up logging, run one command, and turn an error into one
//! line on stderr and the exit code the README documents.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use std::collections::BTreeMap;

use clap::Parser;
use cli::args::{Cli, Command};
use revertbot::config::LogFormat;
use revertbot::error::{kind_of, render_chain};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The environment, read once: the service's settings and secrets may come from it.
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let (format, default_filter) = match &cli.command {
        Command::Serve(args) => (cli::service_log_format(&args.config, &env), "info"),
        _ => (LogFormat::Text, "warn"),
    };
    let filter = match &cli.log {
        Some(f) => EnvFilter::try_new(f),
        None => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(default_filter)),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --log / RUST_LOG is not a valid filter: {e}");
            return ExitCode::from(2);
        }
    };
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match (format, &cli.command) {
        (LogFormat::Json, _) => subscriber.json().init(),
        // The service's log lines carry their time; a command's do not need it.
        (LogFormat::Text, Command::Serve(_)) => {
            subscriber.with_ansi(std::io::stderr().is_terminal()).init()
        }
        (LogFormat::Text, _) => subscriber
            .with_ansi(std::io::stderr().is_terminal())
            .without_time()
            .init(),
    }

    let mut stdout = std::io::stdout().lock();
    match cli::run(&cli.command, &env, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // One line per problem (a configuration can have several).
            for line in render_chain(&err, &cli::flag).lines() {
                eprintln!("error: {line}");
            }
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
