//! A synthetic GitOps repository for the `locate` benchmark.
//!
//! Deterministic (a seeded PRNG, fixed clock): the same spec always gives the same commit ids.
//! The history is written as a `git fast-import` stream over stdin (fast-import writes a
//! packfile directly), then packed the way a long-lived clone would be: `git repack -a -d -f`
//! (deltas recomputed with git's default window and depth), `git commit-graph write --reachable`
//! and `git pack-refs --all` (what `git gc` does besides repacking).
//!
//! Layout, ~2,000 YAML files:
//! - `apps/<app>/base/...` and `apps/<app>/{dev,staging,prod}/...` for 100 apps with two images
//!   each (`<registry>/<app>` and `<registry>/<app>-<second>`: a name that is a prefix of
//!   another), written in one of five styles, 20 apps per style:
//!   kustomize `images:` `newTag`; container `image: repo:tag` strings (Renovate, some of its
//!   bumps merged through a pull request with a merge commit); Flux setters (full-reference
//!   marker on a container image, `:name`/`:tag` markers on kustomize entries, and
//!   ImageRepository objects in multi-document files); Helm values `image: {repository, tag}`
//!   in HelmRelease `spec.values` (half of them with `registry`); Argo CD Image Updater
//!   `.argocd-source-<app>-<env>.yaml` `kustomize.images`.
//! - `clusters/<cluster>/...`: Flux Kustomizations or Argo CD Applications per app, Flux
//!   sync files, infrastructure HelmReleases, image-automation objects.
//!
//! History: most commits bump one image (one env, a promotion, or twins across envs), some
//! bump several, some are no-op edits of image-bearing files (comments, setter marker
//! spacing), some edit unrelated things (replicas, config maps, HPAs, cluster files), a few add,
//! delete or rename unrelated files. Two images are scripted:
//! - RECENT (a Flux-style image) gets a new tag in dev and staging at `HEAD~6`, and the same tag
//!   in prod at `HEAD~3`: its culprit is `HEAD~3`, with twins in dev and staging;
//! - NEVER (a Renovate-style image, also in a CronJob) is referenced at the tip in four files
//!   and its value never changes, while its files are edited all along (its app's other image
//!   is one of the most often bumped, and replicas/resources/comments change): locating it
//!   walks the whole history.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

mod render;

/// Bump when the generated history changes, so cached repositories are not reused.
pub const GENERATOR_VERSION: u32 = 1;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Commits in the repository, all branches (merged pull-request commits included).
    pub commits: usize,
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            commits: 100_000,
            seed: 42,
        }
    }
}

impl Spec {
    fn dir_name(&self) -> String {
        format!(
            "gitops-v{GENERATOR_VERSION}-{}c-seed{}.git",
            self.commits, self.seed
        )
    }
}

/// A generated repository and what the benchmark needs to know about it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The bare repository.
    pub path: PathBuf,
    pub commits: usize,
    pub first_parent: usize,
    pub yaml_files: usize,
    pub images: usize,
    /// The image bumped near the tip, as written in the files.
    pub recent_image: String,
    pub recent_tag: String,
    /// Its culprit is `HEAD~recent_back`.
    pub recent_back: usize,
    /// The image referenced at the tip that no commit ever bumped.
    pub never_image: String,
    pub never_files: usize,
    /// How long generating took, when this run generated it.
    pub generated_in: Option<Duration>,
}

/// The repository for `spec`, generated under `root` unless a previous run left it there.
pub fn ensure(root: &Path, spec: &Spec) -> Result<Generated> {
    let path = root.join(spec.dir_name());
    let meta = root.join(format!("{}.meta", spec.dir_name()));
    if path.is_dir() {
        if let Ok(text) = std::fs::read_to_string(&meta) {
            return Generated::from_meta(path, &text);
        }
    }
    std::fs::create_dir_all(root)?;
    let tmp = root.join(format!("{}.tmp-{}", spec.dir_name(), std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    let started = Instant::now();
    let mut generated = generate(&tmp, spec)?;
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::rename(&tmp, &path)?;
    generated.path = path;
    std::fs::write(&meta, generated.to_meta())?;
    generated.generated_in = Some(started.elapsed());
    Ok(generated)
}

/// A one-commit repository with one file referencing `ghcr.io/acme/tiny:v1`: `locate` on it
/// costs what every invocation costs whatever the history (process and libgit2 start-up).
pub fn tiny(root: &Path) -> Result<PathBuf> {
    let path = root.join(format!("tiny-v{GENERATOR_VERSION}.git"));
    if path.join("refs/heads/main").exists() || path.join("packed-refs").exists() {
        return Ok(path);
    }
    let tmp = root.join(format!("tiny.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    git(
        &tmp,
        &["init", "--quiet", "--bare", "--initial-branch=main"],
    )?;
    let content = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tiny\nspec:\n  template:\n    spec:\n      containers:\n        - name: tiny\n          image: ghcr.io/acme/tiny:v1\n";
    let stream = format!(
        "commit refs/heads/main\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\ndata 4\ntiny\nM 100644 inline deploy.yaml\ndata {}\n{content}\ndone\n",
        content.len()
    );
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&tmp)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(stream.as_bytes())?;
    if !child.wait()?.success() {
        bail!("git fast-import failed for the tiny repository");
    }
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

impl Generated {
    fn to_meta(&self) -> String {
        format!(
            "commits={}\nfirst_parent={}\nyaml_files={}\nimages={}\nrecent_image={}\nrecent_tag={}\nrecent_back={}\nnever_image={}\nnever_files={}\n",
            self.commits,
            self.first_parent,
            self.yaml_files,
            self.images,
            self.recent_image,
            self.recent_tag,
            self.recent_back,
            self.never_image,
            self.never_files
        )
    }

    fn from_meta(path: PathBuf, text: &str) -> Result<Generated> {
        let map: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |k: &str| {
            map.get(k)
                .map(|v| v.to_string())
                .with_context(|| format!("{} has no {k}", path.display()))
        };
        let num = |k: &str| -> Result<usize> { Ok(get(k)?.parse()?) };
        Ok(Generated {
            commits: num("commits")?,
            first_parent: num("first_parent")?,
            yaml_files: num("yaml_files")?,
            images: num("images")?,
            recent_image: get("recent_image")?,
            recent_tag: get("recent_tag")?,
            recent_back: num("recent_back")?,
            never_image: get("never_image")?,
            never_files: num("never_files")?,
            generated_in: None,
            path,
        })
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .status()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !status.success() {
        bail!("git {} failed: {status}", args.join(" "));
    }
    Ok(())
}

fn generate(dir: &Path, spec: &Spec) -> Result<Generated> {
    if spec.commits < 50 {
        bail!("the generator needs at least 50 commits");
    }
    std::fs::create_dir_all(dir)?;
    git(dir, &["init", "--quiet", "--bare", "--initial-branch=main"])?;
    git(dir, &["config", "gc.auto", "0"])?;

    eprintln!(
        "generating {} commits in {} (git fast-import)...",
        spec.commits,
        dir.display()
    );
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()
        .context("cannot start git fast-import")?;
    let stdin = child.stdin.take().context("no stdin")?;
    let mut world = World::new(spec.seed);
    let mut stream = Stream {
        out: BufWriter::with_capacity(1 << 20, stdin),
        mark: 0,
        main: 0,
        clock: 1_700_000_000,
        pr: 0,
    };
    let summary = world.history(&mut stream, spec.commits)?;
    stream.out.write_all(b"done\n")?;
    drop(stream);
    let status = child.wait()?;
    if !status.success() {
        bail!("git fast-import failed: {status}");
    }

    git(dir, &["update-ref", "-d", "refs/heads/renovate"])?;
    eprintln!(
        "packing: git repack -a -d -f; git commit-graph write --reachable; git pack-refs --all"
    );
    git(dir, &["repack", "-a", "-d", "-f", "--quiet"])?;
    git(dir, &["commit-graph", "write", "--reachable"])?;
    git(dir, &["pack-refs", "--all"])?;

    Ok(Generated {
        path: dir.to_path_buf(),
        commits: summary.commits,
        first_parent: summary.first_parent,
        yaml_files: summary.yaml_files,
        images: world.apps.len() * 2,
        recent_image: world.apps[RECENT_APP].images[0].clone(),
        recent_tag: summary.recent_tag,
        recent_back: 3,
        never_image: world.apps[NEVER_APP].images[1].clone(),
        never_files: summary.never_files,
        generated_in: None,
    })
}

/// SplitMix64: small, fast, and fully determined by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const APP_NAMES: [&str; 100] = [
    "payments",
    "ledger",
    "checkout",
    "catalog",
    "search",
    "inventory",
    "shipping",
    "billing",
    "invoices",
    "accounts",
    "identity",
    "profile",
    "notifications",
    "mailer",
    "reports",
    "analytics",
    "gateway",
    "frontend",
    "tracker",
    "recommender",
    "pricing",
    "orders",
    "cart",
    "reviews",
    "media",
    "thumbnails",
    "uploads",
    "exports",
    "imports",
    "calendar",
    "webhooks",
    "audit",
    "compliance",
    "fraud",
    "risk",
    "loyalty",
    "settlement",
    "coupons",
    "subscriptions",
    "onboarding",
    "support",
    "chat",
    "feeds",
    "timeline",
    "geo",
    "routing",
    "maps",
    "forecast",
    "quotes",
    "returns",
    "warehouse",
    "fulfilment",
    "courier",
    "tickets",
    "events",
    "venues",
    "bookings",
    "availability",
    "rates",
    "currency",
    "tax",
    "vat",
    "receipts",
    "statements",
    "cards",
    "wallet",
    "transfers",
    "payouts",
    "merchants",
    "partners",
    "affiliates",
    "campaigns",
    "segments",
    "experiments",
    "flags",
    "config",
    "secrets",
    "keys",
    "tokens",
    "sessions",
    "captcha",
    "sms",
    "push",
    "voice",
    "video",
    "transcoder",
    "storage",
    "backup",
    "archive",
    "indexer",
    "crawler",
    "sitemap",
    "seo",
    "cms",
    "blog",
    "docs",
    "status",
    "metrics",
    "alerts",
    "oncall",
];

const SECONDS: [&str; 5] = ["worker", "consumer", "scheduler", "sidecar", "migrations"];
const REGISTRIES: [&str; 5] = [
    "ghcr.io/acme",
    "registry.example.com/platform",
    "acme",
    "docker.io/acmeops",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme",
];
const ENVS: [&str; 3] = ["dev", "staging", "prod"];
/// Cluster name and the environment it runs.
const CLUSTERS: [(&str, usize); 4] = [("dev", 0), ("staging", 1), ("prod-eu", 2), ("prod-us", 2)];
const INFRA: [&str; 8] = [
    "cert-manager",
    "ingress-nginx",
    "external-dns",
    "kube-prometheus-stack",
    "loki",
    "sealed-secrets",
    "cluster-autoscaler",
    "velero",
];
const HUMANS: [(&str, &str, &str); 4] = [
    ("Dana Ops", "dana@acme.example", "+0100"),
    ("Sam Lee", "sam.lee@acme.example", "-0500"),
    ("Priya Natarajan", "priya@acme.example", "+0530"),
    ("Jo Martin", "jo@acme.example", "+0000"),
];

/// The Renovate-style app whose second image (`...-migrations`) is never bumped.
const NEVER_APP: usize = 36;
/// The Flux-style app whose first image is bumped near the tip.
const RECENT_APP: usize = 52;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Kustomize,
    Container,
    Flux,
    Helm,
    Argo,
}

const STYLES: [Style; 5] = [
    Style::Kustomize,
    Style::Container,
    Style::Flux,
    Style::Helm,
    Style::Argo,
];

struct App {
    name: &'static str,
    style: Style,
    second: &'static str,
    images: [String; 2],
    /// Tag per image per env.
    tags: [[String; 3]; 2],
    counters: [u32; 2],
    replicas: [u32; 3],
    hpa: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    BaseKustomization(usize),
    BaseDeployment(usize),
    BaseService(usize),
    BaseConfigMap(usize),
    BaseHelmRepository(usize),
    BaseCronJob(usize),
    EnvKustomization(usize, usize),
    EnvDeployment(usize, usize),
    EnvConfigMap(usize, usize),
    EnvHpa(usize, usize),
    EnvHelmRelease(usize, usize),
    EnvArgoSource(usize, usize),
    ClusterApp(usize, usize),
    ClusterFluxSync(usize),
    ClusterFluxKustomization(usize),
    ClusterInfra(usize, usize),
    ImageAutomation(usize, usize),
    Extra(usize),
}

struct File {
    path: String,
    kind: Kind,
    /// Comment lines at the top (no-op edits add and remove them).
    notes: Vec<String>,
    /// Bumped by unrelated edits (config values, resources, chart versions).
    rev: u32,
    /// Setter markers written `#{"$imagepolicy"...` instead of `# {"$imagepolicy"...`.
    compact: bool,
    alive: bool,
}

enum Change {
    Modify(String, String),
    Delete(String),
}

struct Stream {
    out: BufWriter<ChildStdin>,
    mark: usize,
    /// Mark of main's tip.
    main: usize,
    clock: i64,
    pr: usize,
}

struct Author {
    name: &'static str,
    email: &'static str,
    tz: &'static str,
}

const FLUX_V1: Author = Author {
    name: "Weave Flux",
    email: "support@weave.works",
    tz: "+0000",
};
const FLUX_V2: Author = Author {
    name: "fluxcdbot",
    email: "fluxcdbot@users.noreply.github.com",
    tz: "+0000",
};
const ARGO: Author = Author {
    name: "argocd-image-updater",
    email: "noreply@argoproj.io",
    tz: "+0000",
};
const RENOVATE: Author = Author {
    name: "renovate[bot]",
    email: "29139614+renovate[bot]@users.noreply.github.com",
    tz: "+0000",
};

fn human(rng: &mut Rng) -> Author {
    let (name, email, tz) = *rng.pick(&HUMANS);
    Author { name, email, tz }
}

impl Stream {
    /// Writes a commit; returns its mark.
    fn commit(
        &mut self,
        branch: &str,
        author: &Author,
        message: &str,
        from: Option<usize>,
        merge: Option<usize>,
        changes: &[Change],
    ) -> Result<usize> {
        self.mark += 1;
        let o = &mut self.out;
        writeln!(o, "commit refs/heads/{branch}")?;
        writeln!(o, "mark :{}", self.mark)?;
        let who = format!(
            "{} <{}> {} {}",
            author.name, author.email, self.clock, author.tz
        );
        writeln!(o, "author {who}")?;
        writeln!(o, "committer {who}")?;
        writeln!(o, "data {}", message.len())?;
        o.write_all(message.as_bytes())?;
        o.write_all(b"\n")?;
        if let Some(from) = from {
            writeln!(o, "from :{from}")?;
        }
        if let Some(merge) = merge {
            writeln!(o, "merge :{merge}")?;
        }
        for change in changes {
            match change {
                Change::Modify(path, content) => {
                    writeln!(o, "M 100644 inline {path}")?;
                    writeln!(o, "data {}", content.len())?;
                    o.write_all(content.as_bytes())?;
                    o.write_all(b"\n")?;
                }
                Change::Delete(path) => writeln!(o, "D {path}")?,
            }
        }
        o.write_all(b"\n")?;
        Ok(self.mark)
    }

    fn main_commit(&mut self, author: &Author, message: &str, changes: &[Change]) -> Result<()> {
        self.main = self.commit("main", author, message, None, None, changes)?;
        Ok(())
    }
}

struct Summary {
    commits: usize,
    first_parent: usize,
    yaml_files: usize,
    recent_tag: String,
    never_files: usize,
}

struct World {
    rng: Rng,
    apps: Vec<App>,
    files: Vec<File>,
    by_kind: HashMap<Kind, usize>,
    dirty: BTreeSet<usize>,
    deleted: Vec<String>,
    /// Cumulative bump weights over images (index app * 2 + image).
    weights: Vec<f64>,
    extras: Vec<usize>,
    next_extra: usize,
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let mut apps = Vec::new();
        for (i, name) in APP_NAMES.iter().enumerate() {
            let style = STYLES[i % 5];
            let registry = REGISTRIES[(i / 5) % 5];
            let second = if i == NEVER_APP {
                "migrations"
            } else {
                SECONDS[(i / 3) % SECONDS.len()]
            };
            let images = [
                format!("{registry}/{name}"),
                format!("{registry}/{name}-{second}"),
            ];
            let counters = [rng.below(200) as u32, rng.below(200) as u32];
            let mut app = App {
                name,
                style,
                second,
                images,
                tags: Default::default(),
                counters,
                replicas: [1, 2, 3 + rng.below(4) as u32],
                hpa: i % 3 != 0,
            };
            for img in 0..2 {
                let tag = tag_for(style, app.counters[img], &mut rng, 1_699_000_000);
                app.tags[img] = [tag.clone(), tag.clone(), tag];
            }
            apps.push(app);
        }

        // Zipf-like bump frequencies over a shuffled ranking; the never-bumped image's app
        // has a hot first image (its files change often).
        let n = apps.len() * 2;
        let mut rank: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = rng.below(i + 1);
            rank.swap(i, j);
        }
        let hot = NEVER_APP * 2;
        let fifth = rank.iter().position(|&r| r == 5).unwrap_or(0);
        rank.swap(hot, fifth);
        let mut weights = Vec::with_capacity(n);
        let mut total = 0.0;
        for (image, r) in rank.iter().enumerate() {
            if image != NEVER_APP * 2 + 1 {
                total += 1.0 / ((r + 1) as f64).powf(0.8);
            }
            weights.push(total);
        }

        let mut world = World {
            rng,
            apps,
            files: Vec::new(),
            by_kind: HashMap::new(),
            dirty: BTreeSet::new(),
            deleted: Vec::new(),
            weights,
            extras: Vec::new(),
            next_extra: 0,
        };
        world.layout();
        world
    }

    fn add(&mut self, path: String, kind: Kind) -> usize {
        let i = self.files.len();
        self.files.push(File {
            path,
            kind,
            notes: Vec::new(),
            rev: 0,
            compact: false,
            alive: true,
        });
        self.by_kind.insert(kind, i);
        self.dirty.insert(i);
        i
    }

    fn layout(&mut self) {
        for a in 0..self.apps.len() {
            let (name, style, hpa) = (self.apps[a].name, self.apps[a].style, self.apps[a].hpa);
            let base = format!("apps/{name}/base");
            self.add(
                format!("{base}/kustomization.yaml"),
                Kind::BaseKustomization(a),
            );
            self.add(format!("{base}/service.yaml"), Kind::BaseService(a));
            self.add(format!("{base}/configmap.yaml"), Kind::BaseConfigMap(a));
            match style {
                Style::Kustomize | Style::Flux | Style::Argo => {
                    self.add(format!("{base}/deployment.yaml"), Kind::BaseDeployment(a));
                }
                Style::Helm => {
                    self.add(
                        format!("{base}/helmrepository.yaml"),
                        Kind::BaseHelmRepository(a),
                    );
                }
                Style::Container => {}
            }
            if a == NEVER_APP {
                self.add(format!("{base}/cronjob-migrate.yaml"), Kind::BaseCronJob(a));
            }
            for (e, env) in ENVS.iter().enumerate() {
                let dir = format!("apps/{name}/{env}");
                self.add(
                    format!("{dir}/kustomization.yaml"),
                    Kind::EnvKustomization(a, e),
                );
                self.add(format!("{dir}/configmap.yaml"), Kind::EnvConfigMap(a, e));
                if hpa {
                    self.add(format!("{dir}/hpa.yaml"), Kind::EnvHpa(a, e));
                }
                match style {
                    Style::Helm => {
                        self.add(
                            format!("{dir}/helmrelease.yaml"),
                            Kind::EnvHelmRelease(a, e),
                        );
                    }
                    Style::Argo => {
                        self.add(format!("{dir}/deployment.yaml"), Kind::EnvDeployment(a, e));
                        self.add(
                            format!("{dir}/.argocd-source-{name}-{env}.yaml"),
                            Kind::EnvArgoSource(a, e),
                        );
                    }
                    _ => {
                        self.add(format!("{dir}/deployment.yaml"), Kind::EnvDeployment(a, e));
                    }
                }
            }
        }
        for (c, (cluster, _)) in CLUSTERS.iter().enumerate() {
            self.add(
                format!("clusters/{cluster}/flux-system/gotk-sync.yaml"),
                Kind::ClusterFluxSync(c),
            );
            self.add(
                format!("clusters/{cluster}/flux-system/kustomization.yaml"),
                Kind::ClusterFluxKustomization(c),
            );
            for (i, comp) in INFRA.iter().enumerate() {
                self.add(
                    format!("clusters/{cluster}/infrastructure/{comp}.yaml"),
                    Kind::ClusterInfra(c, i),
                );
            }
            for a in 0..self.apps.len() {
                let name = self.apps[a].name;
                self.add(
                    format!("clusters/{cluster}/apps/{name}.yaml"),
                    Kind::ClusterApp(c, a),
                );
                if self.apps[a].style == Style::Flux && (c == 0 || c == 2) {
                    self.add(
                        format!("clusters/{cluster}/image-automation/{name}.yaml"),
                        Kind::ImageAutomation(c, a),
                    );
                }
            }
        }
    }

    fn changes(&mut self) -> Vec<Change> {
        let mut out: Vec<Change> = self.deleted.drain(..).map(Change::Delete).collect();
        let dirty = std::mem::take(&mut self.dirty);
        for i in dirty {
            if self.files[i].alive {
                out.push(Change::Modify(
                    self.files[i].path.clone(),
                    self.render(&self.files[i]),
                ));
            }
        }
        out
    }

    /// The file of `kind`; panics when the layout lacks it (a bug in the generator).
    fn idx(&self, kind: Kind) -> usize {
        self.by_kind[&kind]
    }

    fn touch(&mut self, kind: Kind) {
        let i = self.idx(kind);
        self.dirty.insert(i);
    }

    /// The files holding image `img` of app `a` in env `e` (what a bump edits).
    fn image_file(&self, a: usize, img: usize, e: usize) -> Kind {
        match self.apps[a].style {
            Style::Kustomize => Kind::EnvKustomization(a, e),
            Style::Container => Kind::EnvDeployment(a, e),
            Style::Flux if img == 0 => Kind::EnvDeployment(a, e),
            Style::Flux => Kind::EnvKustomization(a, e),
            Style::Helm => Kind::EnvHelmRelease(a, e),
            Style::Argo => Kind::EnvArgoSource(a, e),
        }
    }

    fn set_tag(&mut self, a: usize, img: usize, e: usize, tag: &str) {
        self.apps[a].tags[img][e] = tag.to_string();
        let kind = self.image_file(a, img, e);
        self.touch(kind);
        if a == NEVER_APP && img == 1 {
            self.touch(Kind::BaseCronJob(a));
        }
    }

    fn new_tag(&mut self, a: usize, img: usize, clock: i64) -> String {
        let step = 1 + self.rng.below(3) as u32;
        self.apps[a].counters[img] += step;
        tag_for(
            self.apps[a].style,
            self.apps[a].counters[img],
            &mut self.rng,
            clock,
        )
    }

    fn pick_image(&mut self, exclude_recent: bool) -> (usize, usize) {
        let total = *self.weights.last().expect("images");
        loop {
            let x = self.rng.unit() * total;
            let image = self
                .weights
                .partition_point(|&w| w <= x)
                .min(self.weights.len() - 1);
            let (a, img) = (image / 2, image % 2);
            if (a, img) == (NEVER_APP, 1) || (exclude_recent && (a, img) == (RECENT_APP, 0)) {
                continue;
            }
            return (a, img);
        }
    }

    /// Author and message of a bump of one image in some envs.
    fn bump_message(
        &mut self,
        a: usize,
        img: usize,
        envs: &[usize],
        old: &str,
    ) -> (Author, String) {
        let app = &self.apps[a];
        let image = &app.images[img];
        let tag = &app.tags[img][envs[0]];
        let envs_text: Vec<&str> = envs.iter().map(|&e| ENVS[e]).collect();
        match app.style {
            Style::Kustomize => (FLUX_V1, format!("Auto-release {image}:{tag}\n\n[ci skip]")),
            Style::Flux => {
                if self.rng.below(2) == 0 {
                    (FLUX_V2, format!("[ci skip] {image}:{tag}"))
                } else {
                    (
                        FLUX_V2,
                        format!(
                            "Update from image update automation\n\nFiles:\n- apps/{}/{}\nObjects:\n- {image} {old} -> {tag}",
                            app.name, envs_text.join(", ")
                        ),
                    )
                }
            }
            Style::Argo => (
                ARGO,
                format!(
                    "build: automatic update of {}-{}\n\nupdates image {} tag '{old}' to '{tag}'",
                    app.name,
                    envs_text.join("-"),
                    image.rsplit('/').next().unwrap_or(image)
                ),
            ),
            Style::Container => (
                RENOVATE,
                format!("chore(deps): update {image} docker tag to {tag}"),
            ),
            Style::Helm => {
                let name = app.name;
                let msg = format!(
                    "{name}: bump {} to {tag} in {}",
                    app.second,
                    envs_text.join(" and ")
                );
                (human(&mut self.rng), msg)
            }
        }
    }

    /// Changes one image's tags; returns the envs changed and the old tag.
    fn bump(&mut self, a: usize, img: usize, clock: i64) -> (Vec<usize>, String) {
        let r = self.rng.below(100);
        let tags = self.apps[a].tags[img].clone();
        let (envs, tag): (Vec<usize>, String) = if r < 40 {
            (vec![0], self.new_tag(a, img, clock))
        } else if r < 60 && tags[1] != tags[0] {
            (vec![1], tags[0].clone())
        } else if r < 80 && tags[2] != tags[1] {
            (vec![2], tags[1].clone())
        } else if r < 90 && tags[1] != tags[0] && tags[2] != tags[0] {
            // Twins: staging and prod in one commit.
            (vec![1, 2], tags[0].clone())
        } else if r >= 90 {
            (vec![0, 1, 2], self.new_tag(a, img, clock))
        } else {
            (vec![0], self.new_tag(a, img, clock))
        };
        let old = tags[envs[0]].clone();
        for &e in &envs {
            self.set_tag(a, img, e, &tag);
        }
        (envs, old)
    }

    /// A no-op edit of a file that references images: comment lines or setter marker spacing.
    fn noop_edit(&mut self) -> (Author, String) {
        let a = self.rng.below(self.apps.len());
        let e = self.rng.below(3);
        let img = self.rng.below(2);
        let kind = if self.rng.below(4) == 0 && self.apps[a].style != Style::Helm {
            match self.apps[a].style {
                Style::Container => Kind::EnvDeployment(a, e),
                _ => Kind::BaseDeployment(a),
            }
        } else {
            self.image_file(a, img, e)
        };
        let i = self.idx(kind);
        let name = self.apps[a].name;
        let flux = self.apps[a].style == Style::Flux && !matches!(kind, Kind::BaseDeployment(_));
        let f = &mut self.files[i];
        let message = if flux && self.rng.below(2) == 0 {
            f.compact = !f.compact;
            format!("{name}: normalise image policy markers")
        } else if !f.notes.is_empty() && self.rng.below(2) == 0 {
            f.notes.remove(0);
            format!("{name}: drop stale comment")
        } else {
            let n = self.rng.below(10_000);
            let note = match self.rng.below(3) {
                0 => format!("owner: team-{name} (OPS-{n})"),
                1 => format!("pinned during incident INC-{n}; see runbook"),
                _ => format!("reviewed {n}: keep in sync with the other environments"),
            };
            f.notes.push(note);
            if f.notes.len() > 3 {
                f.notes.remove(0);
            }
            format!(
                "{name}: document {}",
                f.path.rsplit('/').next().unwrap_or("")
            )
        };
        self.dirty.insert(i);
        (human(&mut self.rng), message)
    }

    /// An edit of something other than an image.
    fn unrelated_edit(&mut self) -> (Author, String) {
        let a = self.rng.below(self.apps.len());
        let e = self.rng.below(3);
        let name = self.apps[a].name;
        let env = ENVS[e];
        let r = self.rng.below(100);
        let message = if r < 30 {
            let old = self.apps[a].replicas[e];
            let new = if old <= 1 || self.rng.below(2) == 0 {
                old + 1
            } else {
                old - 1
            };
            self.apps[a].replicas[e] = new;
            let kind = match self.apps[a].style {
                Style::Helm => Kind::EnvHelmRelease(a, e),
                _ => Kind::EnvDeployment(a, e),
            };
            self.touch(kind);
            format!("{name}: scale {env} to {new} replicas")
        } else if r < 45 {
            let kind = match self.apps[a].style {
                Style::Helm => Kind::EnvHelmRelease(a, e),
                _ => Kind::EnvDeployment(a, e),
            };
            let i = self.idx(kind);
            self.files[i].rev += 1;
            self.dirty.insert(i);
            format!("{name}: adjust {env} resource requests")
        } else if r < 70 {
            let kind = if self.rng.below(4) == 0 {
                Kind::BaseConfigMap(a)
            } else {
                Kind::EnvConfigMap(a, e)
            };
            let i = self.idx(kind);
            self.files[i].rev += 1;
            self.dirty.insert(i);
            format!("{name}: update {env} configuration")
        } else if r < 80 && self.apps[a].hpa {
            let i = self.idx(Kind::EnvHpa(a, e));
            self.files[i].rev += 1;
            self.dirty.insert(i);
            format!("{name}: tune {env} autoscaling")
        } else if r < 90 {
            let c = self.rng.below(CLUSTERS.len());
            let i = self.idx(Kind::ClusterApp(c, a));
            self.files[i].rev += 1;
            self.dirty.insert(i);
            format!("clusters/{}: {name} sync interval", CLUSTERS[c].0)
        } else {
            let c = self.rng.below(CLUSTERS.len());
            let comp = self.rng.below(INFRA.len());
            let i = self.idx(Kind::ClusterInfra(c, comp));
            self.files[i].rev += 1;
            self.dirty.insert(i);
            format!("clusters/{}: upgrade {} chart", CLUSTERS[c].0, INFRA[comp])
        };
        (human(&mut self.rng), message)
    }

    /// Adds, deletes or renames an extra (unrelated) config file.
    fn structural_edit(&mut self) -> (Author, String) {
        let r = self.rng.below(100);
        if r < 60 || self.extras.is_empty() {
            let a = self.rng.below(self.apps.len());
            let e = self.rng.below(3);
            let n = self.next_extra;
            self.next_extra += 1;
            let path = format!(
                "apps/{}/{}/extra-config-{n}.yaml",
                self.apps[a].name, ENVS[e]
            );
            let i = self.add(path.clone(), Kind::Extra(n));
            self.extras.push(i);
            (human(&mut self.rng), format!("add {path}"))
        } else {
            let k = self.rng.below(self.extras.len());
            let i = self.extras[k];
            let old = self.files[i].path.clone();
            if r < 80 {
                self.extras.swap_remove(k);
                self.files[i].alive = false;
                self.deleted.push(old.clone());
                (human(&mut self.rng), format!("remove {old}"))
            } else {
                let (dir, _) = old.rsplit_once('/').expect("extras live in a directory");
                let Kind::Extra(n) = self.files[i].kind else {
                    unreachable!("extras are Kind::Extra")
                };
                let new = format!("{dir}/config-{n}-renamed.yaml");
                self.deleted.push(old.clone());
                self.files[i].path = new.clone();
                self.dirty.insert(i);
                (human(&mut self.rng), format!("rename {old} to {new}"))
            }
        }
    }

    fn history(&mut self, s: &mut Stream, total: usize) -> Result<Summary> {
        let root = self.changes();
        s.main_commit(
            &human(&mut self.rng),
            "Initial GitOps layout: apps and clusters",
            &root,
        )?;
        let mut made = 1;
        let mut first_parent = 1;
        let tail = total - 10;
        let mut recent_tag = String::new();
        while made < total {
            s.clock += 60 + self.rng.below(540) as i64;
            let i = made;
            if i == total - 7 || i == total - 4 {
                let a = RECENT_APP;
                let (envs, old) = if i == total - 7 {
                    recent_tag = self.new_tag(a, 0, s.clock);
                    (vec![0, 1], self.apps[a].tags[0][1].clone())
                } else {
                    (vec![2], self.apps[a].tags[0][2].clone())
                };
                for &e in &envs {
                    let tag = recent_tag.clone();
                    self.set_tag(a, 0, e, &tag);
                }
                let (author, message) = self.bump_message(a, 0, &envs, &old);
                let changes = self.changes();
                s.main_commit(&author, &message, &changes)?;
                made += 1;
                first_parent += 1;
                continue;
            }
            let in_tail = i >= tail - 1;
            let roll = self.rng.below(1000);
            let (author, message, pr) = if roll < 620 {
                let (a, img) = self.pick_image(in_tail);
                let (envs, old) = self.bump(a, img, s.clock);
                let (author, message) = self.bump_message(a, img, &envs, &old);
                let pr = (self.apps[a].style == Style::Container
                    && i + 2 <= tail
                    && self.rng.below(10) < 3)
                    .then(|| {
                        self.apps[a].images[img]
                            .rsplit('/')
                            .next()
                            .unwrap_or("deps")
                            .to_string()
                    });
                (author, message, pr)
            } else if roll < 660 {
                let n = 2 + self.rng.below(3);
                let mut lines = Vec::new();
                let mut seen = Vec::new();
                while seen.len() < n {
                    let (a, img) = self.pick_image(in_tail);
                    if seen.contains(&(a, img)) {
                        continue;
                    }
                    seen.push((a, img));
                    let tag = self.new_tag(a, img, s.clock);
                    self.set_tag(a, img, 0, &tag);
                    lines.push(format!(" - {}:{tag}", self.apps[a].images[img]));
                }
                let message = format!(
                    "Auto-release multiple ({n}) images\n\n{}\n\n[ci skip]",
                    lines.join("\n")
                );
                (FLUX_V1, message, None)
            } else if roll < 780 {
                let (author, message) = self.noop_edit();
                (author, message, None)
            } else if roll < 998 {
                let (author, message) = self.unrelated_edit();
                (author, message, None)
            } else {
                let (author, message) = self.structural_edit();
                (author, message, None)
            };
            let changes = self.changes();
            if let Some(slug) = pr {
                s.pr += 1;
                let base = s.main;
                let side = s.commit("renovate", &author, &message, Some(base), None, &changes)?;
                s.clock += 120 + self.rng.below(3600) as i64;
                let merger = human(&mut self.rng);
                let merge_message = format!(
                    "Merge pull request #{} from acme/renovate/{slug}\n\n{message}",
                    1000 + s.pr,
                );
                s.main = s.commit("main", &merger, &merge_message, None, Some(side), &changes)?;
                made += 2;
            } else {
                s.main_commit(&author, &message, &changes)?;
                made += 1;
            }
            first_parent += 1;
        }
        let yaml_files = self.files.iter().filter(|f| f.alive).count();
        // Its three env files and the CronJob.
        let never_files = (0..3)
            .map(|e| self.image_file(NEVER_APP, 1, e))
            .chain([Kind::BaseCronJob(NEVER_APP)])
            .filter(|&k| self.files[self.idx(k)].alive)
            .count();
        Ok(Summary {
            commits: made,
            first_parent,
            yaml_files,
            recent_tag,
            never_files,
        })
    }
}

/// A new tag in the style's scheme.
fn tag_for(style: Style, counter: u32, rng: &mut Rng, clock: i64) -> String {
    let (major, minor, patch) = (1 + counter / 300, (counter / 15) % 20, counter % 15);
    match style {
        Style::Flux => format!("main-{:07x}-{clock}", rng.next() & 0xfff_ffff),
        Style::Helm => format!("{major}.{minor}.{patch}"),
        _ => format!("v{major}.{minor}.{patch}"),
    }
}
