//! What both benchmarks print and check besides their own measurements.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};

pub fn check_exit(out: &Output, code: i32, what: &str) -> Result<()> {
    if out.status.code() != Some(code) {
        bail!(
            "{what} exited with {} (expected {code}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// The commit the benchmark was built from, and whether `src/` had uncommitted changes.
fn describe_code(dir: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(head) = run(&["rev-parse", "--short=12", "HEAD"]) else {
        return "(not a git checkout)".into();
    };
    match run(&["status", "--porcelain", "--", "src"]) {
        Some(s) if s.is_empty() => format!("{head}, src/ clean"),
        Some(s) => format!(
            "{head}, src/ with {} uncommitted change(s)",
            s.lines().count()
        ),
        None => head,
    }
}

/// `/proc/loadavg`'s first three fields: other work on the machine skews every figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The generated history's size (`REVERTBOT_BENCH_COMMITS`, default 100,000) and the number of
/// rounds (`REVERTBOT_BENCH_RUNS`, at least 1).
pub fn settings(default_rounds: usize) -> Result<(crate::gen::Spec, usize)> {
    let mut spec = crate::gen::Spec::default();
    if let Ok(n) = std::env::var("REVERTBOT_BENCH_COMMITS") {
        spec.commits = n.parse().context("REVERTBOT_BENCH_COMMITS")?;
    }
    let rounds = match std::env::var("REVERTBOT_BENCH_RUNS") {
        Ok(n) => n.parse().context("REVERTBOT_BENCH_RUNS")?,
        Err(_) => default_rounds,
    };
    if rounds == 0 {
        bail!("REVERTBOT_BENCH_RUNS must be at least 1");
    }
    Ok((spec, rounds))
}

/// Prints what the figures depend on (code, machine, load), then generates the repository for
/// `spec` or reuses the one a previous run left. Returns the repositories' directory too.
pub fn start(
    manifest_dir: &Path,
    spec: &crate::gen::Spec,
) -> Result<(PathBuf, crate::gen::Generated)> {
    header(manifest_dir);
    let root = manifest_dir.join("target/bench-repos");
    let generated = crate::gen::ensure(&root, spec)?;
    match generated.generated_in {
        Some(t) => println!("generated in {:.1} s", t.as_secs_f64()),
        None => println!("reusing the generated repository (delete it to regenerate)"),
    }
    Ok((root, generated))
}

/// What was measured, where, and how busy the machine was.
pub fn header(manifest_dir: &Path) {
    println!("code         revertbot {}", describe_code(manifest_dir));
    println!(
        "machine      nproc {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!("load         {} (1, 5, 15 min) at start", load_average());
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The size of a repository's packfiles, in MiB.
pub fn pack_mib(repo: &Path) -> Result<f64> {
    let bytes: u64 = std::fs::read_dir(repo.join("objects/pack"))?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(bytes as f64 / (1 << 20) as f64)
}
