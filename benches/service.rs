//! The service's benchmark (`cargo bench --bench service`), two parts:
//!
//! 1. **Intake.** `wrk` posts realistic webhook bodies (nine in ten a duplicate of one alert,
//!    as Alertmanager re-sends a group; one in ten an alert no rule matches) to `revertbot
//!    serve` (release build, the journal durable: WAL, synchronous commits) and, in the same
//!    run, to a bare axum handler that answers 200 without doing anything. Rounds alternate.
//!    Then the service's resident memory once the journal holds at least 100,000 deliveries.
//! 2. **Alert to pull request.** On the 100,000-commit synthetic repository served over smart
//!    HTTP (lighttpd), with a warm mirror and the fake GitHub: from posting a delivery to its
//!    pull request existing. Each round deletes the branch and the pull request first, so that
//!    every delivery takes the whole path: fetch, locate, revert, push, pull request.
//!
//! 3. **Coalescing.** One delivery of N alerts about one image (Alertmanager groups a fleet's
//!    pods so), N from 1,250 to 10,000, posted to the service and, in the same run, to the bare
//!    handler: the time to the answer, and how it grows with N (linear: doubling N doubles it).
//!
//! 4. **Replicas.** With the journal in PostgreSQL: the time one replica, then three, take to
//!    finish 100 queued rollbacks (see `replicas/`).
//!
//! The intake is measured with each journal in the same run: SQLite in `data_dir`, and a
//! throwaway PostgreSQL (Debian's, fsync on) on loopback.
//!
//! Settings: `REVERTBOT_BENCH_RUNS` (rounds, default 3), `REVERTBOT_BENCH_SECONDS` (seconds
//! per intake round, default 10), `REVERTBOT_BENCH_COMMITS` (size of the repository),
//! `REVERTBOT_BENCH_ONLY` (`intake`, `latency`, `coalescing` or `replicas`: one part only).

#[allow(dead_code)]
mod gen;
mod replicas;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use revertbot_testkit::world::{Builder, World, OWNER, REPO};
use support::{check_exit, load_average, verdict};

const BINARY: &str = env!("CARGO_BIN_EXE_revertbot");
/// The token the test kit's configuration accepts.
const WEBHOOK_TOKEN: &str = "webhook-token";
const GITHUB_TOKEN: &str = "ghp_bench";
/// wrk's connections.
const CONNECTIONS: u64 = 32;

fn main() -> Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("service benchmark: run it with `cargo bench --bench service`");
        return Ok(());
    }
    let (spec, rounds) = support::settings(3)?;
    let seconds: u64 = match std::env::var("REVERTBOT_BENCH_SECONDS") {
        Ok(s) => s.parse().context("REVERTBOT_BENCH_SECONDS")?,
        Err(_) => 10,
    };
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("tools        {}", version("wrk", "-v"));
    // `REVERTBOT_BENCH_ONLY=intake`, `latency`... runs one part.
    let only = std::env::var("REVERTBOT_BENCH_ONLY").unwrap_or_default();
    // Only the latency part needs the generated repository.
    let generated = if only.is_empty() || only == "latency" {
        Some(support::start(manifest_dir, &spec)?.1)
    } else {
        support::header(manifest_dir);
        None
    };
    if only.is_empty() || only == "intake" {
        intake(rounds, seconds)?;
    }
    if let Some(generated) = &generated {
        latency(generated, rounds)?;
    }
    if only.is_empty() || only == "coalescing" {
        coalescing(rounds)?;
    }
    if only.is_empty() || only == "replicas" {
        replicas::run(Path::new(BINARY), rounds, GITHUB_TOKEN, WEBHOOK_TOKEN)?;
    }
    println!("load         {} (1, 5, 15 min) at end", load_average());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Intake

/// A webhook body as Alertmanager 0.25 sends it.
fn body(alertname: &str, severity: &str, image: &str, fingerprint: &str) -> String {
    let starts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {
                "alertname": alertname, "severity": severity, "namespace": "prod",
                "deployment": "frontend", "container": "frontend", "image": image,
                "pod": "frontend-7d4b9c8f6d-x2k9p", "instance": "10.42.3.17:8080", "job": "frontend"
            },
            "annotations": {
                "summary": "frontend: 5xx ratio above 5% for 5 minutes",
                "description": "12.4% of requests to frontend in prod fail since the last deploy.",
                "runbook_url": "https://runbooks.acme.example/frontend/5xx"
            },
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=job%3Afrontend_5xx%3Aratio5m+%3E+0.05&g0.tab=1",
            "fingerprint": fingerprint
        }],
        "groupLabels": { "alertname": alertname },
        "commonLabels": { "alertname": alertname, "severity": severity, "namespace": "prod" },
        "commonAnnotations": { "summary": "frontend: 5xx ratio above 5% for 5 minutes" },
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{alertname}\"}}"),
        "truncatedAlerts": 0
    })
    .to_string()
}

/// The wrk script: cycles through the bodies; prints one parsable line at the end.
fn wrk_script(dir: &Path) -> Result<PathBuf> {
    let mut bodies = Vec::new();
    for _ in 0..9 {
        bodies.push(body(
            "FrontendHighErrorRate",
            "critical",
            revertbot::demo::DEMO_IMAGE,
            "b1d2f3c4a5e6f708",
        ));
    }
    bodies.push(body("DiskAlmostFull", "warning", "", "0f1e2d3c4b5a6978"));
    let mut lua = String::from("local bodies = {\n");
    for b in &bodies {
        lua.push_str(&format!("[==[{b}]==],\n"));
    }
    lua.push_str(&format!(
        r#"}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/alerts", {{["Authorization"] = "Bearer {WEBHOOK_TOKEN}", ["Content-Type"] = "application/json"}}, bodies[(n % #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"#
    ));
    let path = dir.join("post.lua");
    std::fs::write(&path, lua)?;
    Ok(path)
}

#[derive(Debug, Clone, Copy)]
struct WrkRun {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn wrk(script: &Path, url: &str, seconds: u64) -> Result<WrkRun> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .context("wrk is installed (Debian: apt-get install wrk)")?;
    check_exit(&out, 0, "wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .with_context(|| format!("wrk printed no result: {text}"))?;
    let field = |name: &str| -> Result<u64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .with_context(|| format!("{name} in {line}"))?
            .parse()
            .with_context(|| format!("{name} in {line}"))
    };
    if field("non2xx")? > 0 || field("socket_errors")? > 0 {
        bail!("wrk against {url}: errors: {line}");
    }
    let requests = field("requests")?;
    Ok(WrkRun {
        requests,
        per_second: requests as f64 / (field("duration_us")? as f64 / 1e6),
        p50_ms: field("p50_us")? as f64 / 1000.0,
        p99_ms: field("p99_us")? as f64 / 1000.0,
    })
}

/// A handler that answers 200 without doing anything, on its own runtime, as the baseline.
fn bare_server() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/alerts", listener.local_addr()?);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/alerts",
                    axum::routing::post(|_body: axum::body::Bytes| async {
                        axum::Json(serde_json::json!({ "alerts": ["queued"], "delivery": 1 }))
                    }),
                )
                // It reads whole bodies of any size, as the service does up to max_body_bytes.
                .layer(axum::extract::DefaultBodyLimit::disable());
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("bare server");
        });
    });
    Ok(url)
}

/// The benchmark's guards: no limit on rollbacks per hour (each latency run makes one), and
/// the intake's dry run.
fn guards(dry_run: bool) -> String {
    format!("  dry_run: {dry_run}\n  max_rollbacks_per_repo_per_hour: 100000")
}

/// A world on disk for dry runs: the demo repository by its path, no git server, no GitHub.
fn demo_on_disk() -> Builder {
    World::on_disk(Path::new(BINARY), |dir| {
        revertbot::demo::build(dir).expect("the demo repository");
    })
}

fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn intake(rounds: usize, seconds: u64) -> Result<()> {
    let world = demo_on_disk().start();
    // Logging as in production (`info`).
    let service = world.serve(&world.config(&guards(true)));
    service.wait_ready();
    let location = revertbot::journal::Location::Sqlite {
        data_dir: world.data_dir(),
    };
    let journal = || revertbot::journal::open(&location);
    // The same service with the journal in PostgreSQL.
    let pg_world = demo_on_disk()
        .postgres_journal(replicas::durable_postgres())
        .start();
    let pg_service = pg_world.serve(&pg_world.config(&guards(true)));
    pg_service.wait_ready();
    let pg_location =
        revertbot::journal::Location::Postgres(revertbot::journal::PostgresSettings {
            url: pg_world.postgres().url(),
            password: None,
            ssl_mode: revertbot::journal::SslMode::Disable,
            root_cert: None,
            pool_size: 1,
            application_name: "revertbot-bench".into(),
        });
    let pg_journal = revertbot::journal::open(&pg_location)?;
    let bare = bare_server()?;
    let script = wrk_script(world.dir())?;

    println!(
        "\nintake: wrk -t2 -c32, {seconds} s a round, {rounds} rounds, warming up 2 s each ..."
    );
    wrk(&script, &bare, 2)?;
    wrk(&script, &service.url("/alerts"), 2)?;
    wrk(&script, &pg_service.url("/alerts"), 2)?;
    let mut ours = Vec::new();
    let mut bares = Vec::new();
    let mut pgs = Vec::new();
    // Every 200 wrk counted is in the journal; requests still in flight when wrk stopped
    // counting (at most one per connection) are recorded too.
    let counted = |run: WrkRun, before: u64, after: u64| -> Result<WrkRun> {
        let recorded = after - before;
        if recorded < run.requests || recorded > run.requests + CONNECTIONS {
            bail!(
                "wrk saw {} answers but the journal recorded {recorded} deliveries",
                run.requests
            );
        }
        Ok(run)
    };
    for _ in 0..rounds {
        bares.push(wrk(&script, &bare, seconds)?);
        let before = journal()?.delivery_count()?;
        let run = wrk(&script, &service.url("/alerts"), seconds)?;
        ours.push(counted(run, before, journal()?.delivery_count()?)?);
        let before = pg_journal.delivery_count()?;
        let run = wrk(&script, &pg_service.url("/alerts"), seconds)?;
        pgs.push(counted(run, before, pg_journal.delivery_count()?)?);
    }
    drop(pg_service);
    println!(
        "\n{:<42}{:>8}{:>12}{:>12}{:>12}",
        "measurement", "rounds", "min", "median", "max"
    );
    let row = |name: &str, v: Vec<f64>, unit: &str| {
        let (min, max) = (
            v.iter().copied().fold(f64::MAX, f64::min),
            v.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "{name:<42}{:>8}{:>10.1}{unit:>2}{:>10.1}{unit:>2}{:>10.1}{unit:>2}",
            v.len(),
            min,
            median(v.clone()),
            max
        );
        median(v)
    };
    let rps = row(
        "revertbot /alerts, deliveries/s",
        ours.iter().map(|r| r.per_second).collect(),
        "",
    );
    let pg_rps = row(
        "revertbot /alerts, PostgreSQL, deliveries/s",
        pgs.iter().map(|r| r.per_second).collect(),
        "",
    );
    row(
        "revertbot /alerts, PostgreSQL, p99 (ms)",
        pgs.iter().map(|r| r.p99_ms).collect(),
        "",
    );
    let bare_rps = row(
        "bare axum handler, requests/s",
        bares.iter().map(|r| r.per_second).collect(),
        "",
    );
    let p99 = row(
        "revertbot /alerts, p99 latency (ms)",
        ours.iter().map(|r| r.p99_ms).collect(),
        "",
    );
    row(
        "revertbot /alerts, p50 latency (ms)",
        ours.iter().map(|r| r.p50_ms).collect(),
        "",
    );
    row(
        "bare axum handler, p99 latency (ms)",
        bares.iter().map(|r| r.p99_ms).collect(),
        "",
    );

    // Memory once the journal holds 100,000 deliveries.
    while journal()?.delivery_count()? < 100_000 {
        wrk(&script, &service.url("/alerts"), seconds)?;
    }
    let deliveries = journal()?.delivery_count()?;
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_mib(service.pid())?;
    println!("resident memory after {deliveries} deliveries: {rss:.1} MiB");

    println!("\ntargets (medians):");
    println!(
        "  at least 5,000 deliveries/s        {rps:>10.0}/s            {}",
        verdict(rps >= 5_000.0)
    );
    println!(
        "  revertbot / bare at least 0.5      {rps:.0} / {bare_rps:.0} = {:.2}   {}",
        rps / bare_rps,
        verdict(rps / bare_rps >= 0.5)
    );
    println!(
        "  p99 under 50 ms                    {p99:>10.1} ms           {}",
        verdict(p99 < 50.0)
    );
    println!(
        "  under 100 MiB after 100,000        {rss:>10.1} MiB          {}",
        verdict(rss < 100.0)
    );
    println!(
        "  PostgreSQL / SQLite journal        {pg_rps:.0} / {rps:.0} = {:.2}   (no target; same run)",
        pg_rps / rps
    );
    drop(service);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Coalescing

/// One delivery of `n` alerts about one image, each its own pod (fingerprint).
fn group_body(n: usize) -> String {
    let one: serde_json::Value = serde_json::from_str(&body(
        "FrontendHighErrorRate",
        "critical",
        "ghcr.io/acme/frontend:1.5.0",
        "0",
    ))
    .expect("the benchmark's own body");
    let mut payload = one.clone();
    let alert = &one["alerts"][0];
    payload["alerts"] = (0..n)
        .map(|i| {
            let mut a = alert.clone();
            a["fingerprint"] = format!("{i:016x}").into();
            a["labels"]["pod"] = format!("frontend-7d4b9c8f6d-{i:05}").into();
            a
        })
        .collect();
    payload.to_string()
}

fn coalescing(rounds: usize) -> Result<()> {
    let world = demo_on_disk().max_body_bytes(64 << 20).start();
    let service = world.serve(&world.config(&guards(true)));
    service.wait_ready();
    let bare = bare_server()?;
    println!("\ncoalescing: one delivery of N alerts about one image, median of {rounds} rounds");
    println!(
        "  {:>6}  {:>9}  {:>12}  {:>10}  {:>9}",
        "N", "body MiB", "revertbot ms", "bare ms", "µs/alert"
    );
    let mut previous: Option<f64> = None;
    for n in [1_250, 2_500, 5_000, 10_000] {
        let body = group_body(n);
        let mut ours = Vec::new();
        let mut bares = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            let (status, answer) = service.post_alerts(WEBHOOK_TOKEN, body.as_bytes());
            ours.push(start.elapsed().as_secs_f64() * 1e3);
            if status != 200 {
                bail!("{n} alerts: {status} {}", &answer[..answer.len().min(300)]);
            }
            let start = Instant::now();
            let (status, _) = revertbot_testkit::http::http_post(
                &bare,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            );
            bares.push(start.elapsed().as_secs_f64() * 1e3);
            if status != 200 {
                bail!("bare handler, {n} alerts: {status}");
            }
        }
        let (ms, bare_ms) = (median(ours), median(bares));
        println!(
            "  {n:>6}  {:>9.1}  {ms:>12.1}  {bare_ms:>10.1}  {:>9.1}{}",
            body.len() as f64 / (1 << 20) as f64,
            ms * 1e3 / n as f64,
            previous.map_or(String::new(), |p| format!(
                "   x{:.2} for twice the alerts",
                ms / p
            ))
        );
        previous = Some(ms);
    }
    drop(service);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Alert to pull request

fn latency(generated: &gen::Generated, rounds: usize) -> Result<()> {
    let world = World::mirroring(Path::new(BINARY), GITHUB_TOKEN, &generated.path).start();
    let (server, github) = (world.server(), world.github());
    let served = server.repo_path(REPO);
    let config = world.config(&guards(false));
    let service = world.serve(&config);
    let started = Instant::now();
    service.wait_ready();
    println!(
        "\nalert to pull request: {} over smart HTTP ({:.1} MiB packed); first fetch of the mirror {:.1} s",
        server.url(REPO),
        support::pack_mib(&served)?,
        started.elapsed().as_secs_f64()
    );
    let image = format!("{}:{}", generated.recent_image, generated.recent_tag);
    let delivery = body(
        "CourierHighErrorRate",
        "critical",
        &image,
        "c0ffee0000000001",
    );

    let one = |label: &str| -> Result<Duration> {
        let start = Instant::now();
        let (status, answer) = service.post_alerts(WEBHOOK_TOKEN, delivery.as_bytes());
        if status != 200 {
            bail!("{label}: {status} {answer}");
        }
        // Polled every millisecond: the figure is milliseconds.
        let deadline = start + Duration::from_secs(60);
        while github.pulls(OWNER, REPO).is_empty() {
            if Instant::now() > deadline {
                bail!(
                    "{label}: no pull request:
{}",
                    service.log()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let took = start.elapsed();
        // The job goes on after the pull request exists (labels, the journal's record): the
        // next round's delivery must find it ended, not join it, and its pull request must not
        // be forgotten while it is being labelled.
        let mut jobs = 0;
        let ended = revertbot_testkit::http::eventually(Duration::from_secs(60), || {
            let history = world.history(&config);
            let listed = history["jobs"].as_array().cloned().unwrap_or_default();
            jobs = listed.len();
            listed
                .first()
                .is_some_and(|j| j["state"] == "done" || j["state"] == "failed")
        });
        if !ended {
            bail!(
                "{label}: the job did not end ({jobs} jobs):\n{}",
                service.log()
            );
        }
        let branch = github.pulls(OWNER, REPO)[0].head.clone();
        github.forget_pulls(OWNER, REPO);
        git(&served, &["branch", "-D", &branch])?;
        Ok(took)
    };
    one("warm-up")?;
    let mut took = Vec::new();
    for i in 0..rounds * 3 {
        took.push(one(&format!("round {i}"))?.as_secs_f64() * 1000.0);
    }
    let n = took.len();
    let (min, max) = (
        took.iter().copied().fold(f64::MAX, f64::min),
        took.iter().copied().fold(0.0, f64::max),
    );
    let p50 = median(took);
    println!(
        "delivery to pull request, {n} runs: min {min:.0} ms, median {p50:.0} ms, max {max:.0} ms"
    );
    println!(
        "  p50 under 500 ms                   {p50:>10.0} ms           {}",
        verdict(p50 < 500.0)
    );
    // The service's own figure: from the job's creation (the delivery that made it) to the
    // pull request, its histogram's mean over the same runs and the warm-up.
    let metrics = revertbot_testkit::http::http_get(&service.url("/metrics"))
        .map(|(_, body)| String::from_utf8_lossy(&body).into_owned())
        .unwrap_or_default();
    let value = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    if let (Some(sum), Some(count)) = (
        value("revertbot_alert_to_pull_request_seconds_sum"),
        value("revertbot_alert_to_pull_request_seconds_count"),
    ) {
        println!(
            "the service's alert_to_pull_request_seconds: {count} runs, mean {:.0} ms",
            sum / count * 1000.0
        );
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    check_exit(
        &Command::new("git").arg("-C").arg(dir).args(args).output()?,
        0,
        &format!("git {args:?}"),
    )
}

fn version(tool: &str, flag: &str) -> String {
    Command::new(tool)
        .arg(flag)
        .output()
        .ok()
        .map(|o| {
            let all = [o.stdout, o.stderr].concat();
            String::from_utf8_lossy(&all)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_else(|| format!("{tool} (not found)"))
}
