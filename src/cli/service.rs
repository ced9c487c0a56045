//! The service's commands: `serve`, `check-config`, `explain`, `history`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use revertbot::alert::{canary, Payload};
use revertbot::clock::{Clock, SystemClock};
use revertbot::config::{Config, LogFormat, Purpose};
use revertbot::error::Error;
use revertbot::gitstore::process::ProcessOptions;
use revertbot::journal::{self, Fate, Journal};
use revertbot::locate::CulpritFrom;
use revertbot::service;

use super::args::{ConfigArgs, ExplainArgs, HistoryArgs, Output, ServeArgs, SourceArg};
use super::engine::configure_git;

/// Reads and validates the configuration; every problem is one line of the error.
pub fn load(args: &ConfigArgs, env: &BTreeMap<String, String>) -> Result<Config> {
    load_for(args, env, Purpose::Serve)
}

fn load_for(args: &ConfigArgs, env: &BTreeMap<String, String>, purpose: Purpose) -> Result<Config> {
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| Error::usage(format!("--config {}: {e}", args.config.display())))?;
    Config::load_for(&text, env, purpose)
        .map_err(|problems| Error::usage(problems.to_string()).into())
}

/// How the service logs: its configuration's `log_format`.
pub fn log_format(args: &ConfigArgs, env: &BTreeMap<String, String>) -> LogFormat {
    load(args, env).map_or(LogFormat::Text, |c| c.log_format)
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn serve(args: &ServeArgs, env: &BTreeMap<String, String>) -> Result<()> {
    let config = load(&args.config, env)?;
    configure_git(ProcessOptions {
        stall_timeout: config.git.timeout,
    })?;
    let runtime = runtime()?;
    let served = runtime.block_on(service::serve(
        config,
        env.clone(),
        Arc::new(SystemClock),
        service::Startup {
            new_journal: args.new_journal,
        },
        shutdown_signal(),
        None,
    ));
    // A git call stuck on a silent server (its job already back in the queue) would hold the
    // process until the socket's time limit: the process does not wait for the blocking pool.
    runtime.shutdown_background();
    served
}

/// SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handling the process stops the hard way, which the journal survives.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

pub fn check_config(
    args: &ConfigArgs,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> Result<()> {
    let config = load(args, env)?;
    // The secrets and files `serve` reads at start-up, read as it reads them.
    let warnings = runtime()?.block_on(async {
        service::start_up(&config, env, Arc::new(SystemClock)).map(|s| s.warnings)
    })?;
    let yaml = serde_saphyr::to_string(&config).context("cannot write the configuration")?;
    writeln!(out, "# {}: valid. Resolved, with defaults and environment; secrets are shown by where they come from.", args.config.display())?;
    for warning in &warnings {
        writeln!(out, "# warning: {warning}")?;
    }
    out.write_all(yaml.as_bytes())?;
    Ok(())
}

pub fn explain(
    args: &ExplainArgs,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut config = load_for(&args.config, env, Purpose::Inspect)?;
    // The flags, where given, over the configuration's registry check.
    let r = &args.registry;
    if let Some(check) = r.registry_check {
        config.registry.check = check == super::args::OnOff::On;
    }
    if let Some(file) = &r.registry_auth_file {
        config.registry.auth_file = Some(file.clone());
    }
    config
        .registry
        .plain_http
        .extend(r.registry_plain_http.iter().cloned());
    configure_git(ProcessOptions {
        stall_timeout: config.git.timeout,
    })?;
    let bytes = std::fs::read(&args.alert)
        .map_err(|e| Error::usage(format!("--alert {}: {e}", args.alert.display())))?;
    let bad =
        |e: &dyn std::fmt::Display| Error::usage(format!("--alert {}: {e}", args.alert.display()));
    let now = chrono::Utc::now();
    let parsed = match args.source {
        SourceArg::Alertmanager => {
            canary::Event::Alert(Payload::from_json(&bytes).map_err(|e| bad(&e))?)
        }
        SourceArg::ArgoRollouts => canary::argo_rollouts(&bytes, now).map_err(|e| bad(&e))?,
        SourceArg::Flagger => canary::flagger(&bytes, now).map_err(|e| bad(&e))?,
    };
    let payload = match parsed {
        canary::Event::Alert(payload) => payload,
        // Nothing to explain: the service answers it 200 and records nothing.
        canary::Event::Ignored(why) => {
            writeln!(out, "ignored: {why}")?;
            return Ok(());
        }
    };
    let journal = open_existing_journal(&config, env)?.map(journal::Handle::new);
    // Before the service's first start its data_dir stays unused: a data_dir with mirrors but
    // no journal reads to `serve` as a journal lost. The mirrors go in a directory of their
    // own, for this run.
    let _scratch = match (&journal, &config.journal) {
        (None, None) => {
            let scratch = tempfile::tempdir()
                .map_err(|e| Error::usage(format!("a temporary directory for the mirrors: {e}")))?;
            config.data_dir = scratch.path().to_path_buf();
            Some(scratch)
        }
        _ => None,
    };
    let explained = runtime()?.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let engine = service::engine(&config, env, clock.clone())?;
        anyhow::Ok(
            service::explain::explain(
                &config,
                &engine,
                journal.as_ref(),
                &payload,
                args.fetch,
                clock.now(),
            )
            .await,
        )
    })?;
    match args.output {
        Output::Json => {
            #[derive(serde::Serialize)]
            struct Answer<'a> {
                alerts: &'a [service::explain::Explained],
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&Answer { alerts: &explained })?
            )?
        }
        Output::Text => {
            for (i, e) in explained.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                writeln!(out, "alert     {} ({})", e.alertname, e.fingerprint)?;
                writeln!(out, "rule      {}", e.rule.as_deref().unwrap_or("(none)"))?;
                if let Some(repo) = &e.repo {
                    writeln!(out, "repo      {repo}")?;
                }
                if let Some(forge) = &e.forge {
                    writeln!(out, "forge     {forge}")?;
                }
                if let Some(workload) = &e.workload {
                    writeln!(out, "workload  {workload}")?;
                }
                if let Some(image) = &e.image {
                    let source = match e.image_source {
                        Some("workload") => "rendered from the workload",
                        _ => "from the label",
                    };
                    writeln!(out, "image     {image} ({source})")?;
                }
                if e.culprit_from == Some(CulpritFrom::ImageHistory) {
                    writeln!(
                        out,
                        "found     by the image's history: the workload's rendering starts at this image already"
                    )?;
                }
                if let Some(c) = &e.culprit {
                    writeln!(
                        out,
                        "culprit   {}  {}",
                        c.commit.short_sha(),
                        c.commit.subject
                    )?;
                    for change in &c.changes {
                        writeln!(
                            out,
                            "          {}:{}  {}",
                            change.at.file,
                            change.at.line,
                            change.versions()
                        )?;
                    }
                }
                if let Some(strategy) = &e.strategy {
                    writeln!(out, "strategy  {strategy}")?;
                }
                if let Some(hold) = &e.hold {
                    writeln!(out, "hold      {hold}")?;
                }
                if let Some(auto_merge) = &e.auto_merge {
                    writeln!(out, "auto-merge {auto_merge}")?;
                }
                if let Some(error) = &e.preview_error {
                    writeln!(out, "preview   failed: {error}")?;
                }
                for check in &e.registry {
                    writeln!(out, "registry  {}", check.summary())?;
                }
                writeln!(out, "decision  {}: {}", e.decision, e.reason)?;
            }
        }
    }
    Ok(())
}

/// The journal, when the service has made one; `explain` and `history` never create a
/// SQLite one.
fn open_existing_journal(
    config: &Config,
    env: &BTreeMap<String, String>,
) -> Result<Option<Arc<dyn Journal>>> {
    journal::open_existing(&service::secrets::journal(config, env)?)
}

pub fn history(
    args: &HistoryArgs,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
) -> Result<()> {
    let config = load_for(&args.config, env, Purpose::Inspect)?;
    let Some(journal) = open_existing_journal(&config, env)? else {
        return Err(Error::usage(format!(
            "no journal in data_dir {}: the service has not run there yet",
            config.data_dir.display()
        ))
        .into());
    };
    let deliveries = journal.deliveries(args.limit)?;
    let jobs = journal.jobs(args.limit)?;
    match args.output {
        Output::Json => {
            #[derive(serde::Serialize)]
            struct Answer<'a> {
                jobs: &'a [revertbot::journal::JobRecord],
                deliveries: &'a [revertbot::journal::DeliveryRecord],
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&Answer {
                    jobs: &jobs,
                    deliveries: &deliveries
                })?
            )?
        }
        Output::Text => {
            let at = |ms: i64| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            };
            writeln!(out, "jobs ({}, newest first):", jobs.len())?;
            for j in &jobs {
                let pr = j
                    .pr_url
                    .as_deref()
                    .map(|u| format!("  {u}"))
                    .unwrap_or_default();
                // The forge the pull request went to; jobs recorded before it was kept: none.
                let forge = j
                    .forge
                    .as_deref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default();
                let outcome = j.outcome.as_deref().unwrap_or("-");
                // Which replica (HOST-PID/WORKER) ran it last.
                let ran_by = j
                    .ran_by
                    .as_deref()
                    .map(|r| format!("  on {r}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  #{:<5} {}  {:<8} {:<7} {}  {}  {outcome}{pr}{forge}{ran_by}",
                    j.id,
                    at(j.updated_at),
                    j.kind.as_str(),
                    j.state,
                    j.repo,
                    j.target
                )?;
                if let Some(error) = &j.error {
                    writeln!(out, "         {error}")?;
                }
                for line in j.registry.iter().flat_map(|r| r.lines()) {
                    writeln!(out, "         registry: {line}")?;
                }
                if let Some(auto_merge) = &j.auto_merge {
                    writeln!(out, "         auto-merge: {auto_merge}")?;
                }
                // What became of a rollback's pull request: open, or merged or closed as the
                // forge told (when and by whom, where it said).
                if let Some(fate) = j.fate() {
                    let (when, by) = match fate {
                        Fate::Open => (None, None),
                        Fate::Merged { at, by } | Fate::Closed { at, by } => (at, by),
                    };
                    let when = when.map(|t| format!(" {}", at(t))).unwrap_or_default();
                    let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
                    writeln!(out, "         pull request {}{when}{by}", fate.as_str())?;
                }
            }
            writeln!(out, "\ndeliveries ({}, newest first):", deliveries.len())?;
            for d in &deliveries {
                writeln!(
                    out,
                    "  #{:<5} {}  {}  {}",
                    d.id,
                    at(d.received_at),
                    d.receiver,
                    d.status
                )?;
                for a in &d.alerts {
                    let job = a.job.map(|j| format!(" -> job #{j}")).unwrap_or_default();
                    let reason = a
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "         {} {}  {}{job}{reason}",
                        a.alertname, a.status, a.decision
                    )?;
                }
            }
        }
    }
    Ok(())
}
