//! `cargo bench --bench locate`: how fast `locate` answers on a big synthetic GitOps history,
//! against `git log -1 -G`. See BENCHMARKS.md for what is measured and the figures.
//!
//! Environment:
//! - `REVERTBOT_BENCH_RUNS`: rounds (default 5). Each round times every measurement once,
//!   except the fast ones (`(0)` and the image bumped near the tip): four times.
//! - `REVERTBOT_BENCH_COMMITS`: size of the generated history (default 100000), for a quick
//!   trial on a smaller repository.

mod gen;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use revertbot::error::Error;
use revertbot::gitstore::process::{self, ProcessOptions};
use revertbot::image::ImageRef;
use revertbot::locate::{self, Located, Query, NEVER_BUMPED};
use revertbot::manifest::PathFilter;
use support::{check_exit, load_average, verdict};

/// The release binary Cargo built for this benchmark (`target/release/revertbot`).
const BINARY: &str = env!("CARGO_BIN_EXE_revertbot");

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and must not spend
    // minutes generating a repository.
    if !std::env::args().any(|a| a == "--bench") {
        println!("locate benchmark: run it with `cargo bench --bench locate`");
        return Ok(());
    }
    process::configure(ProcessOptions {
        stall_timeout: std::time::Duration::from_secs(60),
    })?;
    let (spec, runs) = support::settings(5)?;

    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (root, repo) = support::start(manifest_dir, &spec)?;
    let tiny = gen::tiny(&root)?;
    let path = repo.path.clone();
    let no_graph = without_commit_graph(&path)?;
    println!("repository   {}", path.display());
    println!(
        "history      {} commits ({} on the first-parent line), {} YAML files and {} images at HEAD",
        repo.commits, repo.first_parent, repo.yaml_files, repo.images
    );
    println!(
        "packed       {:.1} MiB in objects/pack",
        support::pack_mib(&path)?
    );
    println!(
        "(a) recent   {} (bumped to {} at HEAD~{})",
        repo.recent_image, repo.recent_tag, repo.recent_back
    );
    println!(
        "(b) never    {} (referenced in {} files at HEAD, never bumped)",
        repo.never_image, repo.never_files
    );

    // Check every command gives the expected answer before timing anything.
    let expected = rev_parse(&path, &format!("HEAD~{}", repo.recent_back))?;
    let a = locate_once(&path, &repo.recent_image).context("(a) found no culprit")?;
    if a.commit.sha != expected {
        bail!(
            "(a) culprit {} is not HEAD~{} ({expected})",
            a.commit.sha,
            repo.recent_back
        );
    }
    println!(
        "(a) locate   culprit {} = HEAD~{}, {} change(s), {} twin(s), walked {} commits",
        &a.commit.sha[..12],
        repo.recent_back,
        a.changes.len(),
        a.twins.len(),
        a.commits_walked
    );
    match locate_once(&path, &repo.never_image) {
        Err(e) => {
            match never_bumped(&e) {
                Some((files, commits)) => {
                    println!("(b) locate   NeverBumped: {files} file(s) followed, walked {commits} commits");
                    if commits + 1 != repo.first_parent {
                        bail!("(b) walked {commits} commits, not the whole first-parent history");
                    }
                }
                _ => return Err(e.context("(b) locate")),
            }
        }
        Ok(l) => bail!("(b) unexpectedly found a culprit: {}", l.commit.sha),
    }
    match locate_once(&no_graph, &repo.never_image) {
        Err(e) if matches!(never_bumped(&e), Some((_, commits)) if commits + 1 == repo.first_parent) =>
            {}
        other => bail!("(b) without the commit-graph: not the same answer: {other:?}"),
    }
    let out = run_binary(&path, &repo.recent_image)?;
    check_exit(&out, 0, "(a) revertbot locate")?;
    if !String::from_utf8_lossy(&out.stdout).contains(&expected[..12]) {
        bail!("(a) revertbot locate did not print the culprit");
    }
    check_exit(
        &run_binary(&path, &repo.never_image)?,
        3,
        "(b) revertbot locate",
    )?;
    for (label, image) in [("(a)", &repo.recent_image), ("(b)", &repo.never_image)] {
        let out = git_log(&path, image, true)?;
        check_exit(&out, 0, "git log")?;
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("{label} git log -G answers {sha}");
    }

    let mut rows: Vec<Row> = vec![
        Row::new("(0) revertbot locate, 1-commit repository"),
        Row::new("(a) locate in-process (open + locate)"),
        Row::new("(a) revertbot locate (release binary)"),
        Row::new("(a) git log -1 -G (reference)"),
        Row::new("(b) locate in-process (open + locate)"),
        Row::new("(b) revertbot locate (release binary)"),
        Row::new("(b) locate in-process, no commit-graph"),
        Row::new("(b) git log -1 -G"),
        Row::new("(b) git log -1 -G, core.commitGraph=false"),
    ];
    // One discarded warm-up run of each, then rounds that interleave the measurements so that
    // background load (this machine is shared) spreads over all of them.
    println!("\nwarming up, then {runs} rounds ...");
    for round in 0..=runs {
        let keep = round > 0;
        for _ in 0..if keep { 4 } else { 1 } {
            rows[0].time(keep, || run_binary(&tiny, "ghcr.io/acme/tiny").map(drop))?;
            rows[1].time(keep, || locate_once(&path, &repo.recent_image).map(drop))?;
            rows[2].time(keep, || run_binary(&path, &repo.recent_image).map(drop))?;
        }
        rows[3].time(keep, || git_log(&path, &repo.recent_image, true).map(drop))?;
        rows[4].time(keep, || {
            locate_once(&path, &repo.never_image).map(drop).or(Ok(()))
        })?;
        rows[5].time(keep, || run_binary(&path, &repo.never_image).map(drop))?;
        rows[6].time(keep, || {
            locate_once(&no_graph, &repo.never_image)
                .map(drop)
                .or(Ok(()))
        })?;
        rows[7].time(keep, || git_log(&path, &repo.never_image, true).map(drop))?;
        rows[8].time(keep, || git_log(&path, &repo.never_image, false).map(drop))?;
        if keep {
            eprint!(".");
        }
    }
    eprintln!();

    println!(
        "\n{:<44} {:>5} {:>12} {:>12} {:>12}",
        "measurement", "runs", "min", "median", "max"
    );
    for row in &rows {
        println!(
            "{:<44} {:>5} {:>12} {:>12} {:>12}",
            row.name,
            row.samples.len(),
            ms(row.min()),
            ms(row.median()),
            ms(row.max())
        );
    }

    println!("load         {} (1, 5, 15 min) at end", load_average());
    let git_b = rows[7].median();
    println!("\ntargets (medians):");
    for (row, label) in [(&rows[1], "in-process"), (&rows[2], "release binary")] {
        let t = row.median();
        println!(
            "  (a) under 20 ms, {label:<15} {:>10}  {}",
            ms(t),
            verdict(t < Duration::from_millis(20))
        );
    }
    for (row, label) in [
        (&rows[4], "in-process"),
        (&rows[5], "release binary"),
        (&rows[6], "no commit-graph"),
    ] {
        let ratio = row.median().as_secs_f64() / git_b.as_secs_f64();
        println!(
            "  (b) at most 1/5 of git log, {label:<15} {:>10} / {} = {ratio:.3}  {}",
            ms(row.median()),
            ms(git_b),
            verdict(ratio <= 0.2)
        );
    }
    Ok(())
}

/// Milliseconds to 0.01 ms.
fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Row {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Row {
    fn new(name: &'static str) -> Row {
        Row {
            name,
            samples: Vec::new(),
        }
    }

    fn time(&mut self, keep: bool, f: impl FnOnce() -> Result<()>) -> Result<()> {
        let start = Instant::now();
        f()?;
        let elapsed = start.elapsed();
        if keep {
            self.samples.push(elapsed);
        }
        Ok(())
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort();
        s
    }

    fn min(&self) -> Duration {
        self.sorted()[0]
    }

    fn max(&self) -> Duration {
        *self.sorted().last().expect("samples")
    }

    /// The middle sample; with an even count, the larger of the two middle ones.
    fn median(&self) -> Duration {
        let s = self.sorted();
        s[s.len() / 2]
    }
}

/// One CLI-like invocation in-process: open the repository (cold caches) and locate.
fn locate_once(repo: &Path, image: &str) -> Result<Located> {
    let query = Query {
        image: ImageRef::parse(image)?,
        rev: "HEAD".into(),
        paths: PathFilter::default(),
    };
    let repo = git2::Repository::open(repo)?;
    let located = locate::locate(&repo, &query);
    drop(repo);
    std::hint::black_box(located)
}

/// A copy of the repository (objects hard-linked) without its commit-graph: what a mirror
/// fetched by libgit2, which never writes one, looks like.
fn without_commit_graph(repo: &Path) -> Result<std::path::PathBuf> {
    let copy = repo.with_extension("no-commit-graph.git");
    if !copy.is_dir() {
        let out = Command::new("git")
            .args(["clone", "--quiet", "--mirror"])
            .arg(repo)
            .arg(&copy)
            .output()?;
        check_exit(&out, 0, "git clone --mirror")?;
    }
    let graph = copy.join("objects/info/commit-graph");
    if graph.exists() {
        std::fs::remove_file(graph)?;
    }
    Ok(copy)
}

fn run_binary(repo: &Path, image: &str) -> Result<Output> {
    Command::new(BINARY)
        .arg("locate")
        .arg("--repo")
        .arg(repo)
        .args(["--image", image])
        .output()
        .with_context(|| format!("cannot run {BINARY}"))
}

/// `git log -1 --format=%H -G '<image>:' HEAD -- '*.yaml' '*.yml'`.
fn git_log(repo: &Path, image: &str, commit_graph: bool) -> Result<Output> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(repo);
    if !commit_graph {
        cmd.args(["-c", "core.commitGraph=false"]);
    }
    cmd.args(["log", "-1", "--format=%H"])
        .arg(format!("-G{image}:"))
        .args(["HEAD", "--", "*.yaml", "*.yml"]);
    cmd.output().context("cannot run git")
}

fn rev_parse(repo: &Path, rev: &str) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", rev])
        .output()?;
    check_exit(&out, 0, "git rev-parse")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `(files followed, commits walked)` when locate found the image never bumped.
fn never_bumped(e: &anyhow::Error) -> Option<(usize, usize)> {
    let err = e.downcast_ref::<Error>()?;
    if err.code() != Some(NEVER_BUMPED) {
        return None;
    }
    Some((
        err.fact("files")?.parse().ok()?,
        err.fact("commits")?.parse().ok()?,
    ))
}
