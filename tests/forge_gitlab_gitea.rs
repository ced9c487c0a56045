//! The rollback's merge request on GitLab and pull request on Gitea/Forgejo, end to end:
//! revertbot's own clients against the stateful fakes on loopback, through Prism validating
//! every request and answer against each forge's own API description. Each test runs the same
//! story on both forges and asserts the fake's final state.

mod common;

use common::{gitops, Gitops};

use std::sync::Arc;
use std::time::Duration;

use revertbot::alert::Payload;
use revertbot::clock::SystemClock;
use revertbot::forge::github::RepoName;
use revertbot::forge::pulls::{PullDress, PullOutcome, PullState};
use revertbot::forge::retry::RetryPolicy;
use revertbot::forge::{ForgeSettings, RepoOnForge, ServerSettings};
use revertbot::pipeline::{Engine, EngineSettings, Job, PullOptions};
use revertbot_testkit::fake_gitea::FakeGitea;
use revertbot_testkit::fake_gitlab::FakeGitLab;
use revertbot_testkit::prism::{forgejo_spec, gitlab_spec, Prism};

const TOKEN: &str = "forge-test-token";
const PROJECT: &str = "acme/platform/gitops";
const OWNER: &str = "acme";
const NAME: &str = "gitops";

/// One of the two forges, faked, with Prism in front.
enum Fake {
    GitLab(FakeGitLab),
    Gitea(FakeGitea),
}

/// A merge or pull request as either fake holds it.
#[derive(Debug)]
struct Held {
    number: u64,
    title: String,
    body: String,
    head: String,
    state: String,
    draft: bool,
    labels: Vec<String>,
    reviewers: Vec<String>,
    assignees: Vec<String>,
}

impl Fake {
    fn gitlab(g: &Gitops) -> Fake {
        let fake = FakeGitLab::start();
        fake.add_project(PROJECT, Some(g.origin.path()));
        fake.allow_token(TOKEN);
        fake.add_user("dana", "Dana");
        Fake::GitLab(fake)
    }

    fn gitea(g: &Gitops) -> Fake {
        // Forgejo's description declares its URLs `format: url`, which Prism holds to a public
        // address: the fake answers with one.
        let fake = FakeGitea::start_with_root_url(Some("https://forgejo.example.com"));
        fake.add_repo(OWNER, NAME, g.origin.path());
        fake.allow_token(TOKEN);
        fake.add_user("dana");
        Fake::Gitea(fake)
    }

    /// Each forge, holding a repository of its own.
    fn each() -> [(Gitops, Fake); 2] {
        let (a, b) = (gitops(), gitops());
        let (gitlab, gitea) = (Fake::gitlab(&a), Fake::gitea(&b));
        [(a, gitlab), (b, gitea)]
    }

    fn prism(&self) -> Prism {
        match self {
            Fake::GitLab(f) => Prism::start(&gitlab_spec(), &f.base_url()),
            Fake::Gitea(f) => Prism::start(&forgejo_spec(), &f.listen_url()),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Fake::GitLab(_) => "gitlab",
            Fake::Gitea(_) => "gitea",
        }
    }

    fn repo(&self) -> RepoOnForge {
        match self {
            Fake::GitLab(_) => RepoOnForge::GitLab(PROJECT.into()),
            Fake::Gitea(_) => RepoOnForge::Gitea(RepoName {
                owner: OWNER.into(),
                name: NAME.into(),
            }),
        }
    }

    /// The forge settings for a client that reaches the fake through `prism` with `token`.
    fn settings(&self, prism: &Prism, token: &str) -> ForgeSettings {
        let server = |url: String| ServerSettings {
            url,
            token: Some(token.to_string()),
            ca_file: None,
            timeout: Duration::from_secs(20),
            retry: RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_millis(50),
                max_wait: Duration::from_secs(10),
            },
        };
        let mut forges = ForgeSettings::github(revertbot::remote_url::GITHUB_API_URL, None);
        match self {
            Fake::GitLab(_) => forges.gitlab = server(prism.base_url()),
            Fake::Gitea(_) => forges.gitea = Some(server(prism.base_url())),
        }
        forges
    }

    fn held(&self) -> Vec<Held> {
        match self {
            Fake::GitLab(f) => f
                .merge_requests(PROJECT)
                .into_iter()
                .map(|m| Held {
                    number: m.iid,
                    title: m.title,
                    body: m.description,
                    head: m.source_branch,
                    state: m.state,
                    draft: m.draft,
                    labels: m.labels,
                    reviewers: m.reviewers,
                    assignees: m.assignees,
                })
                .collect(),
            Fake::Gitea(f) => f
                .pulls(OWNER, NAME)
                .into_iter()
                .map(|p| Held {
                    number: p.number,
                    title: p.title,
                    body: p.body,
                    head: p.head,
                    state: p.state,
                    draft: p.draft,
                    labels: p.labels,
                    reviewers: p.requested_reviewers,
                    assignees: p.assignees,
                })
                .collect(),
        }
    }

    /// The notes (comments) on merge or pull request `number`, people's and revertbot's.
    fn notes(&self, number: u64) -> Vec<String> {
        match self {
            Fake::GitLab(f) => f
                .notes(PROJECT, number)
                .into_iter()
                .filter(|n| !n.system)
                .map(|n| n.body)
                .collect(),
            Fake::Gitea(f) => f
                .comments(OWNER, NAME, number)
                .into_iter()
                .map(|c| c.body)
                .collect(),
        }
    }

    fn close(&self, number: u64) {
        match self {
            Fake::GitLab(f) => f.close_merge_request(PROJECT, number),
            Fake::Gitea(f) => f.close_pull(OWNER, NAME, number, false),
        }
    }

    fn merge(&self, number: u64) {
        match self {
            Fake::GitLab(f) => f.merge_merge_request(PROJECT, number),
            Fake::Gitea(f) => f.close_pull(OWNER, NAME, number, true),
        }
    }

    /// Answers the next `times` requests `method` on a path containing `path` with `status`.
    fn fail_next(&self, method: &str, path: &str, status: u16, times: usize) {
        match self {
            Fake::GitLab(f) => f.fail_next(method, path, status, times, Vec::new(), None),
            Fake::Gitea(f) => f.fail_next_n(method, path, times, status, Vec::new(), None),
        }
    }

    fn rate_limit_next(&self, method: &str, path: &str) {
        match self {
            Fake::GitLab(f) => f.fail_next_rate_limited(method, path, 1, Duration::from_secs(1)),
            Fake::Gitea(f) => f.fail_next_rate_limited(method, path, 1, 1),
        }
    }

    /// Requests `(method, path)` received.
    fn requests(&self) -> Vec<(String, String)> {
        match self {
            Fake::GitLab(f) => f
                .requests()
                .into_iter()
                .map(|r| (r.method, r.path))
                .collect(),
            Fake::Gitea(f) => f
                .requests()
                .into_iter()
                .map(|r| (r.method, r.path))
                .collect(),
        }
    }

    fn creates(&self) -> usize {
        let create = match self {
            Fake::GitLab(_) => "/merge_requests",
            Fake::Gitea(_) => "/pulls",
        };
        self.requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p.split('?').next().unwrap().ends_with(create))
            .count()
    }
}

fn dress() -> PullDress {
    PullDress {
        draft: true,
        labels: vec!["rollback".into(), "incident".into()],
        reviewers: vec!["dana".into()],
        team_reviewers: Vec::new(),
        assignees: vec!["dana".into()],
    }
}

fn engine(g: &Gitops, forges: ForgeSettings) -> Engine {
    let git = common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()).git();
    Engine::new(
        EngineSettings {
            git,
            forges,
            registry: None,
        },
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn alert() -> Payload {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/alertmanager/handmade-pod-unschedulable-group.json"
    );
    Payload::from_json(&std::fs::read(path).unwrap()).unwrap()
}

/// The demo's rollback, pushed, with its merge or pull request on `fake`'s forge.
async fn rollback(
    engine: &Engine,
    g: &Gitops,
    fake: &Fake,
    interval: Duration,
) -> anyhow::Result<(String, PullOutcome)> {
    let mut req = common::with_image(
        common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()),
        revertbot::demo::DEMO_IMAGE,
    );
    req.push = true;
    let outcome = engine
        .run(Job {
            target: req.target(),
            effects: req.effects(),
            alert: Some(alert()),
            pull: Some(PullOptions {
                repo: Some(fake.repo()),
                forge: None,
                dress: dress(),
                comment_interval: interval,
                auto_merge: None,
            }),
        })
        .await?;
    Ok((
        outcome.revert.branch.clone().unwrap(),
        outcome.pull.expect("a merge or pull request"),
    ))
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_one_and_notes_on_it_at_most_once_per_interval() {
    for (g, fake) in Fake::each() {
        let forge = fake.name();
        let prism = fake.prism();
        let engine = engine(&g, fake.settings(&prism, TOKEN));
        let (branch, first) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
        assert_eq!(first.state, PullState::Created, "{forge}");
        assert!(first.warnings.is_empty(), "{forge}: {:?}", first.warnings);
        let held = fake.held();
        assert_eq!(held.len(), 1, "{forge}: {held:?}");
        let h = &held[0];
        assert_eq!((h.number, h.head.as_str()), (first.number, branch.as_str()));
        assert!(h.draft, "{forge}: a draft ({})", h.title);
        assert!(
            h.title
                .ends_with("Revert ghcr.io/acme/frontend to 1.4.0 (PodUnscheduleable)"),
            "{forge}: {}",
            h.title
        );
        assert!(h.body.contains("PodUnscheduleable"), "{forge}: {}", h.body);
        let mut labels = h.labels.clone();
        labels.sort();
        assert_eq!(
            labels,
            ["incident", "rollback"],
            "{forge}: created on the way"
        );
        assert_eq!(h.reviewers, ["dana"], "{forge}");
        assert_eq!(h.assignees, ["dana"], "{forge}");
        match &fake {
            Fake::GitLab(_) => {
                assert!(h.title.starts_with("Draft: "), "{}", h.title);
                assert!(
                    first
                        .url
                        .ends_with(&format!("/{PROJECT}/-/merge_requests/{}", h.number)),
                    "{}",
                    first.url
                );
                assert!(
                    h.body.contains(&format!("/{PROJECT}/-/commit/")),
                    "GitLab's commit links: {}",
                    h.body
                );
            }
            Fake::Gitea(_) => {
                assert!(h.title.starts_with("WIP: "), "{}", h.title);
                assert_eq!(
                    first.url,
                    format!(
                        "https://forgejo.example.com/{OWNER}/{NAME}/pulls/{}",
                        h.number
                    )
                );
            }
        }

        // Again within the interval: found, nothing said, nothing opened.
        let (_, again) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
        assert_eq!(
            (again.state, again.number, again.commented),
            (PullState::Found, first.number, false),
            "{forge}"
        );
        assert!(fake.notes(first.number).is_empty(), "{forge}");
        // Past the interval: one note, then none until the next.
        let (_, noted) = rollback(&engine, &g, &fake, Duration::ZERO).await.unwrap();
        assert!(noted.commented, "{forge}");
        let (_, quiet) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
        assert!(!quiet.commented, "{forge}");
        let notes = fake.notes(first.number);
        assert_eq!(notes.len(), 1, "{forge}: {notes:?}");
        assert!(notes[0].contains("fired again"), "{forge}: {}", notes[0]);

        // Resolved: a note on it.
        engine
            .note_resolved(
                Some(&fake.repo()),
                None,
                "file:///unused",
                first.number,
                Some(&alert()),
                None,
            )
            .await
            .unwrap();
        let notes = fake.notes(first.number);
        assert_eq!(notes.len(), 2, "{forge}: {notes:?}");
        assert!(notes[1].contains("resolved"), "{forge}: {}", notes[1]);

        assert_eq!(fake.held().len(), 1, "{forge}");
        assert_eq!(fake.creates(), 1, "{forge}: one create call in all");
        prism.assert_no_violations();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_one_is_a_persons_no_and_a_merged_one_is_done() {
    for closing in ["closed", "merged"] {
        for (g, fake) in Fake::each() {
            let forge = fake.name();
            let prism = fake.prism();
            let engine = engine(&g, fake.settings(&prism, TOKEN));
            let (_, first) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
            if closing == "closed" {
                fake.close(first.number);
            } else {
                fake.merge(first.number);
            }
            let (_, again) = rollback(&engine, &g, &fake, Duration::ZERO).await.unwrap();
            let expected = if closing == "closed" {
                PullState::Declined
            } else {
                PullState::Merged
            };
            assert_eq!(
                (again.state, again.number),
                (expected, first.number),
                "{forge}"
            );
            assert!(!again.commented, "{forge}: nothing said on a {closing} one");
            let held = fake.held();
            assert_eq!(held.len(), 1, "{forge}: never opened again");
            assert_ne!(held[0].state, "opened", "{forge}: never reopened");
            assert_ne!(held[0].state, "open", "{forge}: never reopened");
            assert_eq!(fake.creates(), 1, "{forge}");
            prism.assert_no_violations();
        }
    }
}

/// What a poll asks: the merge or pull request's state now, read through Prism, so that the
/// fakes' answers are the forges' own shapes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_became_of_one_is_read_as_the_forge_answers() {
    use revertbot::forge::fate::Fate;
    for closing in ["closed", "merged"] {
        for (g, fake) in Fake::each() {
            let forge = fake.name();
            let prism = fake.prism();
            let engine = engine(&g, fake.settings(&prism, TOKEN));
            let (_, first) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
            let repo = fake.repo();
            let ask = || engine.pull_fate(Some(&repo), None, "", first.number);
            let open = ask().await.unwrap();
            assert_eq!((open.fate, open.merged_at), (Fate::Open, None), "{forge}");
            assert!(open.created_at.is_some(), "{forge}");
            if closing == "closed" {
                fake.close(first.number);
            } else {
                fake.merge(first.number);
            }
            let now = ask().await.unwrap();
            if closing == "closed" {
                assert_eq!((now.fate, now.merged_at), (Fate::Closed, None), "{forge}");
                assert!(now.closed_at.is_some(), "{forge}");
            } else {
                assert_eq!(now.fate, Fate::Merged, "{forge}");
                assert!(now.merged_at.is_some(), "{forge}");
                assert!(now.by.is_some(), "{forge}: who merged it");
            }
            prism.assert_no_violations();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limits_are_waited_out_without_a_second_one() {
    for (g, fake) in Fake::each() {
        let forge = fake.name();
        let prism = fake.prism();
        let engine = engine(&g, fake.settings(&prism, TOKEN));
        let create = match &fake {
            Fake::GitLab(_) => "/merge_requests",
            Fake::Gitea(_) => "/pulls",
        };
        // The list is rate-limited once, the create fails twice with a 5xx: it is opened once.
        fake.rate_limit_next("GET", create);
        fake.fail_next("POST", create, 502, 2);
        let (_, first) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
        assert_eq!(first.state, PullState::Created, "{forge}");
        assert_eq!(fake.held().len(), 1, "{forge}");
        assert_eq!(fake.creates(), 3, "{forge}: two refused, one made");
        // Each retried POST was preceded by a look for one that may have landed.
        let lists = fake
            .requests()
            .iter()
            .filter(|(m, p)| m == "GET" && p.contains(create) && p.contains("state=all"))
            .count();
        assert!(lists >= 4, "{forge}: {lists} looks");
        prism.assert_no_violations();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_scope_or_name_is_one_line_naming_the_setting() {
    for (g, fake) in Fake::each() {
        let forge = fake.name();
        let prism = fake.prism();
        let error = |e: anyhow::Error| format!("{e:#}");

        let wrong = engine(&g, fake.settings(&prism, "not-a-token"));
        let e = error(rollback(&wrong, &g, &fake, HOUR).await.unwrap_err());
        let title = if forge == "gitlab" { "GitLab" } else { "Gitea" };
        assert!(e.contains(&format!("{title} answered 401")), "{forge}: {e}");
        assert!(e.contains("wrong or expired"), "{forge}: {e}");
        assert!(e.contains(&format!("the {title} token")), "{forge}: {e}");

        let read_only = "read-only-token";
        match &fake {
            Fake::GitLab(f) => f.add_token(read_only, "reader", &["read_api"]),
            Fake::Gitea(f) => {
                f.allow_token_as(read_only, "reader", &["read:repository", "read:issue"])
            }
        }
        let reader = engine(&g, fake.settings(&prism, read_only));
        let e = error(rollback(&reader, &g, &fake, HOUR).await.unwrap_err());
        assert!(e.contains(&format!("{title} answered 403")), "{forge}: {e}");
        let scopes = if forge == "gitlab" {
            "api and write_repository"
        } else {
            "write:repository and write:issue"
        };
        assert!(e.contains(scopes), "{forge}: {e}");

        let engine = engine(&g, fake.settings(&prism, TOKEN));
        let missing = match &fake {
            Fake::GitLab(_) => RepoOnForge::GitLab("acme/elsewhere".into()),
            Fake::Gitea(_) => RepoOnForge::Gitea(RepoName {
                owner: OWNER.into(),
                name: "elsewhere".into(),
            }),
        };
        let mut req = common::with_image(
            common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()),
            revertbot::demo::DEMO_IMAGE,
        );
        req.push = true;
        let e = error(
            engine
                .run(Job {
                    target: req.target(),
                    effects: req.effects(),
                    alert: None,
                    pull: Some(PullOptions {
                        repo: Some(missing),
                        ..PullOptions::default()
                    }),
                })
                .await
                .unwrap_err(),
        );
        assert!(e.contains(&format!("{title} answered 404")), "{forge}: {e}");
        let setting = if forge == "gitlab" {
            "the GitLab project"
        } else {
            "the Gitea repository"
        };
        assert!(e.contains(setting), "{forge}: {e}");
        assert!(!e.contains('\n'), "{forge}: one line: {e}");
        assert!(fake.held().is_empty(), "{forge}: nothing opened");
        assert_eq!(
            fake.creates(),
            1,
            "{forge}: only the read-only token's, refused; the wrong token and the wrong name stopped before the push"
        );
    }
}

/// Gitea lists 50 labels a page at most: a label on a later page is found there, not made
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_on_a_later_page_are_found_not_made_again() {
    let g = gitops();
    let fake = Fake::gitea(&g);
    let Fake::Gitea(gitea) = &fake else {
        unreachable!()
    };
    for n in 0..70 {
        gitea.add_label(OWNER, NAME, &format!("area-{n:02}"), "#00aabb");
    }
    let rollback_id = gitea.add_label(OWNER, NAME, "rollback", "#d73a4a");
    let prism = fake.prism();
    let engine = engine(&g, fake.settings(&prism, TOKEN));
    let (_, opened) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
    assert!(opened.warnings.is_empty(), "{:?}", opened.warnings);
    let labels = gitea.labels(OWNER, NAME);
    assert_eq!(
        labels.iter().filter(|l| l.name == "rollback").count(),
        1,
        "not made again"
    );
    assert_eq!(labels.len(), 72, "only incident made");
    let pull = &gitea.pulls(OWNER, NAME)[0];
    assert!(pull.label_ids.contains(&rollback_id), "{pull:?}");
    let pages = fake
        .requests()
        .iter()
        .filter(|(m, p)| m == "GET" && p.contains("/labels"))
        .count();
    assert!(pages >= 2, "{pages} pages read");
    prism.assert_no_violations();
}

/// An open one the list did not show (a replica opened it a moment ago): the forge's 409 to the
/// create is read as "it exists", and it is found, not opened twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_409_to_the_create_is_the_one_there_found() {
    for (g, fake) in Fake::each() {
        let forge = fake.name();
        let prism = fake.prism();
        let engine = engine(&g, fake.settings(&prism, TOKEN));
        let (_, first) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
        // The next look lists nothing.
        let list = match &fake {
            Fake::GitLab(f) => {
                f.fail_next(
                    "GET",
                    "/merge_requests?source_branch",
                    200,
                    1,
                    Vec::new(),
                    Some("[]".into()),
                );
                "/merge_requests"
            }
            Fake::Gitea(f) => {
                f.fail_next(
                    "GET",
                    "/pulls?state=all",
                    200,
                    Vec::new(),
                    Some("[]".into()),
                );
                "/pulls"
            }
        };
        let (_, again) = rollback(&engine, &g, &fake, HOUR).await.unwrap();
        assert_eq!(
            (again.state, again.number),
            (PullState::Found, first.number),
            "{forge}"
        );
        assert_eq!(fake.held().len(), 1, "{forge}");
        assert_eq!(fake.creates(), 2, "{forge}: the second create answered 409");
        let conflict = fake
            .requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p.split('?').next().unwrap().ends_with(list))
            .count();
        assert_eq!(conflict, 2, "{forge}");
        prism.assert_no_violations();
    }
}
