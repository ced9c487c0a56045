//! `revertbot demo`: the real service on loopback, on the built-in demo repository. It builds
//! the repository and a bare copy of it as its remote, writes a configuration with the local
//! forge (pull requests kept in the journal, shown on the status page), starts `serve`, posts
//! the demo's Alertmanager alert to its own webhook over HTTP, and prints what the service did:
//! the rule, the culprit, the rollback, its hold, the branch pushed and the pull request. Then
//! it keeps serving until Ctrl-C (`--once`: it stops there).

mod layout;
mod story;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use revertbot::clock::{Clock, SystemClock};
use revertbot::config::Config;
use revertbot::error::Error;
use revertbot::gitstore::process::ProcessOptions;

use super::args::{DemoArgs, Output};
use super::engine::configure_git;
use super::service::{runtime, shutdown_signal};
use super::settings;
use layout::Layout;

pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(ProcessOptions {
        stall_timeout: settings::DEFAULT_TIMEOUT,
    })?;
    if !args.listen.ip().is_loopback() {
        return Err(Error::usage(format!(
            "--listen {}: the demo serves on loopback only; give 127.0.0.1:PORT or [::1]:PORT",
            args.listen
        ))
        .into());
    }
    let dir = match &args.dir {
        Some(dir) => {
            let empty = dir.read_dir().map(|mut d| d.next().is_none());
            if dir.exists() && !matches!(empty, Ok(true)) {
                return Err(Error::usage(format!(
                    "--dir {} is not empty; give a new or empty directory",
                    dir.display()
                ))
                .into());
            }
            layout::absolute(dir)?
        }
        None => layout::private_temp_dir()?,
    };
    let layout = Layout::new(&dir);
    let alert = layout::fresh_alert(chrono::Utc::now())?;
    layout::set_up(&layout, args.listen, &alert)?;
    let env: BTreeMap<String, String> = BTreeMap::new();
    let text = std::fs::read_to_string(&layout.config)?;
    let config = Config::load(&text, &env)
        .map_err(|problems| anyhow::anyhow!("the demo's configuration: {problems}"))?;
    let data_dir = config.data_dir.clone();

    runtime()?.block_on(async move {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (listening, address) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = stopped => {}
            }
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut service = Some(tokio::spawn(revertbot::service::serve(
            config,
            env,
            clock,
            revertbot::service::Startup::default(),
            shutdown,
            Some(listening),
        )));
        let told = match address.await {
            Ok(address) => tell(args, out, &layout, address, &alert, &data_dir, &mut service).await,
            // The service stopped before it listened: its error says why.
            Err(_) => Err(ended(service.take()).await),
        };
        let Some(running) = service else {
            return told.map(|_| ());
        };
        let failed = match told {
            Ok(failed) => failed,
            Err(e) => {
                // Stop the service cleanly (a job in flight goes back to the queue), then say
                // what went wrong.
                let _ = stop.send(());
                let _ = tokio::time::timeout(Duration::from_secs(60), running).await;
                return Err(e);
            }
        };
        if args.once {
            let _ = stop.send(());
        } else if args.output == Output::Text {
            writeln!(out, "\nServing until Ctrl-C.")?;
            out.flush()?;
        }
        running
            .await
            .context("the service stopped unexpectedly")??;
        if let Some(error) = failed {
            // Told above; a script running the demo sees it too.
            bail!("the demo's rollback failed: {error}");
        }
        Ok(())
    })
}

/// Sends the alert, waits for the rollback, and tells it: the job's error if it failed. If the
/// service stops meanwhile (Ctrl-C, an error), `service` is taken and its end is the error.
async fn tell(
    args: &DemoArgs,
    out: &mut dyn Write,
    layout: &Layout,
    address: SocketAddr,
    alert: &str,
    data_dir: &Path,
    service: &mut Option<tokio::task::JoinHandle<Result<()>>>,
) -> Result<Option<String>> {
    let base = format!("http://{address}");
    let token = std::fs::read_to_string(&layout.token)?;
    let (status, answer) = post(address, "/alerts", token.trim(), alert.as_bytes()).await?;
    if status != 200 {
        bail!("the service answered the demo's alert {status}: {answer}");
    }
    let running = service.as_mut().context("the service is running")?;
    let story = tokio::select! {
        story = story::wait_for_story(data_dir) => story?,
        end = running => {
            *service = None;
            return Err(match end {
                Ok(Ok(())) => anyhow::anyhow!("the service stopped before the demo's rollback ended"),
                Ok(Err(e)) => e,
                Err(e) => anyhow::Error::new(e).context("the service stopped unexpectedly"),
            });
        }
    };
    match args.output {
        Output::Text => story::write_story(out, layout, &base, &answer, &story)?,
        Output::Json => {
            let json = serde_json::json!({
                "status_page": format!("{base}/"),
                "config": layout.config,
                "repository": layout.repo,
                "remote": layout.remote_url(),
                "answer": serde_json::from_str::<serde_json::Value>(&answer).unwrap_or_default(),
                "delivery": story.delivery,
                "job": story.job,
                "pull_request": story.pull,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
    }
    out.flush()?;
    let job = &story.job.job;
    Ok((job.state == "failed").then(|| {
        job.error
            .clone()
            .unwrap_or_else(|| "see the status page".into())
    }))
}

/// The error a service that ended early ended with.
async fn ended(service: Option<tokio::task::JoinHandle<Result<()>>>) -> anyhow::Error {
    match service {
        Some(handle) => match handle.await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => anyhow::anyhow!("the service stopped before it listened"),
            Err(e) => anyhow::Error::new(e).context("the service stopped unexpectedly"),
        },
        None => anyhow::anyhow!("the service stopped before it listened"),
    }
}

/// POSTs JSON over HTTP/1.1 with a bearer token: `(status, body)`.
async fn post(address: SocketAddr, path: &str, token: &str, body: &[u8]) -> Result<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to the service at {address}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, address.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::new(Bytes::copy_from_slice(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
