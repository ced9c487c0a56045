//! `cargo bench --bench revert`: how long `revertbot revert --push` takes, with a warm mirror
//! cache, on the 100,000-commit synthetic GitOps repository served over smart HTTP by a real
//! local git server (lighttpd + `git http-backend`, basic auth), against the manual procedure
//! with the git CLI (`git clone`, `git checkout -b`, `git revert`, `git push`) in the same run.
//! See BENCHMARKS.md for what is measured and the figures.
//!
//! Every run really creates and pushes a new branch: the branch is deleted on the server after
//! each run (the mirror is fetched with prune, so it drops the branch too). Every run is checked
//! (exit code, outcome, the branch on the server, its parent) before it counts.
//!
//! revertbot runs with `--hold none`: `git revert` holds nothing, and the trees are compared.
//! Three more runs a round with `--hold auto` (the default: the rollback commit also holds the
//! bad tag in the synthetic repository's Flux ImageRepository) show what the hold costs.
//!
//! Signed commits (`git.signing`) must add no measurable time: in the same rounds, three runs
//! signed with an OpenPGP ed25519 key and three with an SSH ed25519 key (keys made with `gpg`
//! and `ssh-keygen` before the rounds), `--hold none` like the plain runs they compare with.
//!
//! For information, not a target: the manual procedure by someone who already has an
//! up-to-date clone (`git fetch`, `git checkout -b rollback-<sha> origin/main`, `git revert`,
//! `git push`): the fair counterpart of revertbot's warm mirror.
//!
//! Environment:
//! - `REVERTBOT_BENCH_RUNS`: rounds (default 3). Each round times the manual procedure once
//!   (fresh clone, then existing clone) and `revertbot revert` five times, interleaved so
//!   background load spreads over all of them.
//! - `REVERTBOT_BENCH_COMMITS`: size of the generated history (default 100000), for a quick
//!   trial on a smaller repository.

#[allow(dead_code)]
mod gen;
mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use revertbot_testkit::git_server::{GitServer, PASSWORD, USER};
use support::{check_exit, load_average, verdict};

/// The release binary Cargo built for this benchmark (`target/release/revertbot`).
const BINARY: &str = env!("CARGO_BIN_EXE_revertbot");

/// `revertbot revert` runs per round.
const REVERTBOT_PER_ROUND: usize = 5;
/// Runs with the hold (the default), per round, for information.
const HELD_PER_ROUND: usize = 3;
/// Signed runs per round, for each key format.
const SIGNED_PER_ROUND: usize = 3;

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and must not spend
    // minutes generating a repository and cloning it over HTTP.
    if !std::env::args().any(|a| a == "--bench") {
        println!("revert benchmark: run it with `cargo bench --bench revert`");
        return Ok(());
    }
    let (spec, rounds) = support::settings(3)?;

    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("tools        {}, {}", version("git"), version("lighttpd"));
    let (_, generated) = support::start(manifest_dir, &spec)?;
    println!(
        "history      {} commits ({} on the first-parent line), {} YAML files at HEAD",
        generated.commits, generated.first_parent, generated.yaml_files
    );

    // The server: a mirror clone of the generated repository (objects hard-linked when on the
    // same file system: the same packfile, bitmap and commit-graph a long-lived server has).
    let server = GitServer::start();
    let served = server.repo_path("gitops");
    let started = Instant::now();
    check_exit(
        &git(None)
            .args(["clone", "--quiet", "--mirror"])
            .arg(&generated.path)
            .arg(&served)
            .output()?,
        0,
        "git clone --mirror (server repository)",
    )?;
    git_ok(&served, &["config", "http.receivepack", "true"])?;
    let bitmap = std::fs::read_dir(served.join("objects/pack"))?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".bitmap"));
    println!(
        "server       {} ({:.1} MiB in objects/pack, {} bitmap; set up in {:.1} s)",
        server.url("gitops"),
        support::pack_mib(&served)?,
        if bitmap { "with" } else { "WITHOUT" },
        started.elapsed().as_secs_f64()
    );

    let base_sha = rev_parse(&served, "refs/heads/main")?;
    let culprit = rev_parse(&served, &format!("main~{}", generated.recent_back))?;
    println!(
        "image        {} (bumped to {}); culprit {} = main~{}",
        generated.recent_image,
        generated.recent_tag,
        &culprit[..12],
        generated.recent_back
    );

    let bench = Bench {
        server: &server,
        served: &served,
        url: server.url("gitops"),
        image: generated.recent_image.clone(),
        culprit: culprit.clone(),
        base_sha: base_sha.clone(),
    };
    let cache = tempfile::tempdir()?;
    let keys = tempfile::Builder::new().prefix("keys").tempdir_in("/tmp")?;
    let signing_keys = [
        ("OpenPGP ed25519", openpgp_key(keys.path())?),
        ("SSH ed25519", ssh_key(keys.path())?),
    ];

    // Cold: the first run clones the mirror over HTTP. For information.
    let start = Instant::now();
    let out = bench.revertbot(cache.path(), "none")?;
    let cold = start.elapsed();
    let first = bench.check_revertbot(&out, "cold run")?;
    println!(
        "revertbot    outcome {}, strategy {}, branch {}, {} file(s): {}",
        first.outcome,
        first.strategy,
        first.branch,
        first.files.len(),
        first.files.join(", ")
    );
    bench.delete_branch(&first.branch)?;

    // One untimed warm-up run of each.
    println!("\nwarming up, then {rounds} rounds ...");
    let out = bench.revertbot(cache.path(), "none")?;
    let warm = bench.check_revertbot(&out, "warm-up run")?;
    bench.delete_branch(&warm.branch)?;
    let manual_tree = bench.manual(None)?;
    let same_tree = bench.tree_of(&warm.commit)? == manual_tree;
    let clone_dir = tempfile::tempdir()?;
    let clone = bench.existing_clone(clone_dir.path())?;
    bench.manual_in_clone(&clone)?;

    let mut revertbot_warm = Vec::new();
    let mut revertbot_held = Vec::new();
    let mut revertbot_signed: [Vec<Duration>; 2] = Default::default();
    let mut manual = Steps::default();
    let mut manual_in_clone = Vec::new();
    for _ in 0..rounds {
        bench.manual(Some(&mut manual))?;
        manual_in_clone.push(bench.manual_in_clone(&clone)?);
        for _ in 0..REVERTBOT_PER_ROUND {
            let start = Instant::now();
            let out = bench.revertbot(cache.path(), "none")?;
            let elapsed = start.elapsed();
            let run = bench.check_revertbot(&out, "timed run")?;
            bench.delete_branch(&run.branch)?;
            revertbot_warm.push(elapsed);
        }
        for _ in 0..HELD_PER_ROUND {
            let start = Instant::now();
            let out = bench.revertbot(cache.path(), "auto")?;
            let elapsed = start.elapsed();
            let run = bench.check_revertbot(&out, "timed run with the hold")?;
            if run.files.len() < 2 {
                bail!("the run with --hold auto held nothing: {:?}", run.files);
            }
            bench.delete_branch(&run.branch)?;
            revertbot_held.push(elapsed);
        }
        for ((_, key), samples) in signing_keys.iter().zip(&mut revertbot_signed) {
            for _ in 0..SIGNED_PER_ROUND {
                let start = Instant::now();
                let out = bench.revertbot_signed(cache.path(), key)?;
                let elapsed = start.elapsed();
                let run = bench.check_revertbot(&out, "timed signed run")?;
                let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                if json["signed_by"].as_str().is_none() {
                    bail!("the signed run reported no signed_by");
                }
                bench.delete_branch(&run.branch)?;
                samples.push(elapsed);
            }
        }
        eprint!(".");
    }
    eprintln!();
    let load_end = load_average();

    // Figures are never rounded in revertbot's favour: its times up, the manual ones down.
    let rows: Vec<(&str, &[Duration], Round)> = vec![
        (
            "revertbot revert --push, warm mirror cache",
            &revertbot_warm,
            Round::Up,
        ),
        (
            "(info) the same with --hold auto (the default)",
            &revertbot_held,
            Round::Up,
        ),
        (
            "(info) the same signed, OpenPGP ed25519",
            &revertbot_signed[0],
            Round::Up,
        ),
        (
            "(info) the same signed, SSH ed25519",
            &revertbot_signed[1],
            Round::Up,
        ),
        (
            "revertbot revert --push, cold (mirror clone)",
            std::slice::from_ref(&cold),
            Round::Up,
        ),
        ("manual: git clone", &manual.clone, Round::Down),
        (
            "manual: git checkout -b rollback-<sha>",
            &manual.checkout,
            Round::Down,
        ),
        (
            "manual: git revert --no-edit <sha>",
            &manual.revert,
            Round::Down,
        ),
        (
            "manual: git push origin rollback-<sha>",
            &manual.push,
            Round::Down,
        ),
        ("manual: whole procedure", &manual.total, Round::Down),
        (
            "(info) manual in an existing clone, whole",
            &manual_in_clone,
            Round::Down,
        ),
    ];
    println!(
        "\n{:<46} {:>5} {:>12} {:>12} {:>12}",
        "measurement", "runs", "min", "median", "max"
    );
    for (name, samples, round) in &rows {
        println!(
            "{:<46} {:>5} {:>12} {:>12} {:>12}",
            name,
            samples.len(),
            ms(min(samples), *round),
            ms(median(samples), *round),
            ms(max(samples), *round)
        );
    }
    println!(
        "revertbot warm runs, sorted: {}",
        sorted(&revertbot_warm)
            .iter()
            .map(|d| ms(*d, Round::Up))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("load         {load_end} (1, 5, 15 min) at end");
    println!(
        "trees        revertbot's rollback commit and the manual `git revert` have {} tree",
        if same_tree { "the same" } else { "a DIFFERENT" }
    );

    let bot = median(&revertbot_warm);
    let bot_max = max(&revertbot_warm);
    let by_hand = median(&manual.total);
    let ratio = by_hand.as_secs_f64() / bot.as_secs_f64();
    // The least favourable pairing: the fastest manual run against the slowest revertbot run.
    let worst = min(&manual.total).as_secs_f64() / bot_max.as_secs_f64();
    let limit = Duration::from_millis(300);
    println!("\ntargets (warm revertbot against the whole manual procedure):");
    println!(
        "  under 300 ms         median {}  {};  slowest run {}  {}",
        ms(bot, Round::Up),
        verdict(bot < limit),
        ms(bot_max, Round::Up),
        verdict(bot_max < limit)
    );
    println!(
        "  at least 20x faster  medians {} / {} = {}  {};  fastest manual / slowest revertbot = {}  {}",
        ms(by_hand, Round::Down),
        ms(bot, Round::Up),
        times(ratio),
        verdict(ratio >= 20.0),
        times(worst),
        verdict(worst >= 20.0)
    );
    let in_clone = median(&manual_in_clone);
    println!(
        "  (info, no target) manual in an existing clone / revertbot, medians: {} / {} = {}",
        ms(in_clone, Round::Down),
        ms(bot, Round::Up),
        times(in_clone.as_secs_f64() / bot.as_secs_f64())
    );
    Ok(())
}

struct Bench<'a> {
    server: &'a GitServer,
    served: &'a Path,
    url: String,
    image: String,
    culprit: String,
    base_sha: String,
}

/// What a `revertbot revert --output json` run reported.
struct Reported {
    outcome: String,
    strategy: String,
    branch: String,
    commit: String,
    files: Vec<String>,
}

/// The manual procedure's samples, step by step.
#[derive(Default)]
struct Steps {
    clone: Vec<Duration>,
    checkout: Vec<Duration>,
    revert: Vec<Duration>,
    push: Vec<Duration>,
    total: Vec<Duration>,
}

impl Bench<'_> {
    /// `hold`: `none` to compare with `git revert` (which holds nothing), `auto` (the default)
    /// for what a rollback costs with its hold.
    fn revertbot(&self, cache: &Path, hold: &str) -> Result<Output> {
        Command::new(BINARY)
            .args(["revert", "--repo", &self.url, "--image", &self.image])
            .args(["--hold", hold])
            .arg("--push")
            .arg("--cache-dir")
            .arg(cache)
            .args(["--git-username", USER, "--git-password", PASSWORD])
            .args(["--output", "json"])
            .env_remove("RUST_LOG")
            .output()
            .with_context(|| format!("cannot run {BINARY}"))
    }

    /// [`Bench::revertbot`] with `--hold none`, the commit signed with `key`.
    fn revertbot_signed(&self, cache: &Path, key: &Path) -> Result<Output> {
        Command::new(BINARY)
            .args(["revert", "--repo", &self.url, "--image", &self.image])
            .args(["--hold", "none"])
            .arg("--push")
            .arg("--cache-dir")
            .arg(cache)
            .args(["--git-username", USER, "--git-password", PASSWORD])
            .arg("--signing-key")
            .arg(key)
            .args(["--output", "json"])
            .env_remove("RUST_LOG")
            .output()
            .with_context(|| format!("cannot run {BINARY}"))
    }

    /// Checks a run did what it should: a new branch on the server, one commit on base that
    /// reverts the culprit.
    fn check_revertbot(&self, out: &Output, what: &str) -> Result<Reported> {
        check_exit(out, 0, &format!("revertbot revert ({what})"))?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("revertbot revert ({what}): output is not JSON"))?;
        let field = |name: &str| json[name].as_str().unwrap_or("").to_string();
        let reported = Reported {
            outcome: field("outcome"),
            strategy: field("strategy"),
            branch: field("branch"),
            commit: field("commit"),
            files: json["files"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        };
        if reported.outcome != "created" || json["pushed"] != serde_json::Value::Bool(true) {
            bail!(
                "revertbot revert ({what}): outcome {:?}, pushed {}; expected a created and pushed branch",
                reported.outcome,
                json["pushed"]
            );
        }
        if field("reverted") != self.culprit {
            bail!(
                "revertbot revert ({what}) reverted {}, not the culprit {}",
                field("reverted"),
                self.culprit
            );
        }
        let on_server = rev_parse(self.served, &format!("refs/heads/{}", reported.branch))?;
        if on_server != reported.commit {
            bail!(
                "revertbot revert ({what}): the server's {} is {on_server}, not {}",
                reported.branch,
                reported.commit
            );
        }
        self.check_on_base(&on_server, what)?;
        Ok(reported)
    }

    /// The branch tip is one commit on top of base.
    fn check_on_base(&self, tip: &str, what: &str) -> Result<()> {
        let parent = rev_parse(self.served, &format!("{tip}^"))?;
        if parent != self.base_sha {
            bail!(
                "{what}: the rollback commit's parent is {parent}, not main {}",
                self.base_sha
            );
        }
        Ok(())
    }

    fn delete_branch(&self, branch: &str) -> Result<()> {
        git_ok(
            self.served,
            &["update-ref", "-d", &format!("refs/heads/{branch}")],
        )?;
        if !self
            .server
            .branches("gitops")
            .iter()
            .all(|(b, _)| b == "main")
        {
            bail!("branches left on the server after deleting {branch}");
        }
        Ok(())
    }

    /// The manual procedure, in a fresh temporary directory; records each step when `steps`
    /// is given. Returns the rollback commit's tree.
    fn manual(&self, steps: Option<&mut Steps>) -> Result<String> {
        let dir = tempfile::tempdir()?;
        let work = dir.path().join("gitops");
        let url = self.authenticated_url();
        let branch = format!("rollback-{}", &self.culprit[..12]);
        let run = |cmd: &mut Command, what: &str| -> Result<Duration> {
            let start = Instant::now();
            let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
            let elapsed = start.elapsed();
            check_exit(&out, 0, what)?;
            Ok(elapsed)
        };
        let start = Instant::now();
        let clone = run(
            git(None).args(["clone", "--quiet", &url]).arg(&work),
            "git clone",
        )?;
        let checkout = run(
            git(Some(&work)).args(["checkout", "--quiet", "-b", &branch]),
            "git checkout -b",
        )?;
        let revert = run(
            git(Some(&work)).args(["revert", "--no-edit", &self.culprit]),
            "git revert",
        )?;
        let push = run(
            git(Some(&work)).args(["push", "--quiet", "origin", &branch]),
            "git push",
        )?;
        let total = start.elapsed();

        let tip = rev_parse(self.served, &format!("refs/heads/{branch}"))?;
        if tip != rev_parse(&work, "HEAD")? {
            bail!("manual procedure: the server's {branch} is not the local revert");
        }
        self.check_on_base(&tip, "manual procedure")?;
        let tree = self.tree_of(&tip)?;
        self.delete_branch(&branch)?;
        if let Some(steps) = steps {
            steps.clone.push(clone);
            steps.checkout.push(checkout);
            steps.revert.push(revert);
            steps.push.push(push);
            steps.total.push(total);
        }
        Ok(tree)
    }

    /// A clone made once, untimed: what a person who keeps one has.
    fn existing_clone(&self, dir: &Path) -> Result<std::path::PathBuf> {
        let work = dir.join("gitops");
        let out = git(None)
            .args(["clone", "--quiet", &self.authenticated_url()])
            .arg(&work)
            .output()?;
        check_exit(&out, 0, "git clone (existing clone)")?;
        Ok(work)
    }

    /// The manual procedure in an existing clone: `git fetch`, `git checkout -b rollback-<sha>
    /// origin/main`, `git revert`, `git push`, timed as a whole; then, untimed, back to `main`
    /// and the branch deleted locally and on the server.
    fn manual_in_clone(&self, work: &Path) -> Result<Duration> {
        let branch = format!("rollback-{}", &self.culprit[..12]);
        let steps: [&[&str]; 4] = [
            &["fetch", "--quiet", "origin"],
            &["checkout", "--quiet", "-b", &branch, "origin/main"],
            &["revert", "--no-edit", &self.culprit],
            &["push", "--quiet", "origin", &branch],
        ];
        let start = Instant::now();
        for args in steps {
            let out = git(Some(work)).args(args).output()?;
            check_exit(&out, 0, &format!("git {} (existing clone)", args[0]))?;
        }
        let elapsed = start.elapsed();
        let tip = rev_parse(self.served, &format!("refs/heads/{branch}"))?;
        if tip != rev_parse(work, "HEAD")? {
            bail!(
                "manual procedure (existing clone): the server's {branch} is not the local revert"
            );
        }
        self.check_on_base(&tip, "manual procedure (existing clone)")?;
        git_ok(work, &["checkout", "--quiet", "main"])?;
        git_ok(work, &["branch", "--quiet", "-D", &branch])?;
        self.delete_branch(&branch)?;
        Ok(elapsed)
    }

    fn authenticated_url(&self) -> String {
        format!(
            "http://{USER}:{PASSWORD}@127.0.0.1:{}/git/gitops.git",
            self.server.port
        )
    }

    fn tree_of(&self, commit: &str) -> Result<String> {
        rev_parse(self.served, &format!("{commit}^{{tree}}"))
    }
}

/// `git`, with an identity for `git revert` and no prompts, as a person's shell would have.
/// An ed25519 OpenPGP secret key made with `gpg` in `dir`, exported armoured: its file.
fn openpgp_key(dir: &Path) -> Result<std::path::PathBuf> {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home)?;
    let gpg = |args: &[&str]| -> Result<Output> {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--passphrase", ""])
            .args(args)
            .output()
            .context("cannot run gpg (Debian gnupg)")?;
        check_exit(&out, 0, &format!("gpg {}", args.join(" ")))?;
        Ok(out)
    };
    gpg(&[
        "--quick-gen-key",
        "revertbot <revertbot@localhost>",
        "ed25519",
        "sign",
        "never",
    ])?;
    let key = dir.join("signing-key.asc");
    std::fs::write(&key, gpg(&["--armor", "--export-secret-keys"])?.stdout)?;
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &home)
        .args(["--kill", "gpg-agent"])
        .status();
    Ok(key)
}

/// An ed25519 OpenSSH private key made with `ssh-keygen` in `dir`: its file.
fn ssh_key(dir: &Path) -> Result<std::path::PathBuf> {
    let key = dir.join("id_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .context("cannot run ssh-keygen")?;
    check_exit(&out, 0, "ssh-keygen")?;
    Ok(key)
}

fn git(dir: Option<&Path>) -> Command {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Alice Operator")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Operator")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com");
    cmd
}

fn git_ok(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git(Some(dir))
        .args(args)
        .output()
        .context("cannot run git")?;
    check_exit(&out, 0, &format!("git {}", args.join(" ")))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn rev_parse(dir: &Path, rev: &str) -> Result<String> {
    git_ok(dir, &["rev-parse", "--verify", "--quiet", rev])
        .with_context(|| format!("{rev} is not in {}", dir.display()))
}

#[derive(Clone, Copy)]
enum Round {
    Up,
    Down,
}

/// Milliseconds to 0.1 ms, rounded the way that does not flatter revertbot.
fn ms(d: Duration, round: Round) -> String {
    let tenths = d.as_secs_f64() * 1e4;
    let tenths = match round {
        Round::Up => tenths.ceil(),
        Round::Down => tenths.floor(),
    };
    format!("{:.1} ms", tenths / 10.0)
}

/// A speed-up ratio, rounded down to 0.1.
fn times(ratio: f64) -> String {
    format!("{:.1}x", (ratio * 10.0).floor() / 10.0)
}

fn sorted(samples: &[Duration]) -> Vec<Duration> {
    let mut s = samples.to_vec();
    s.sort();
    s
}

fn min(samples: &[Duration]) -> Duration {
    sorted(samples)[0]
}

fn max(samples: &[Duration]) -> Duration {
    *sorted(samples).last().expect("samples")
}

/// The middle sample; with an even count, the larger of the two middle ones.
fn median(samples: &[Duration]) -> Duration {
    let s = sorted(samples);
    s[s.len() / 2]
}

/// The first line of `<tool> --version` (lighttpd: `-v`).
fn version(tool: &str) -> String {
    let flag = if tool == "lighttpd" {
        "-v"
    } else {
        "--version"
    };
    Command::new(tool)
        .arg(flag)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("{tool} (version unknown)"))
}
