//! `revert` strategies on real repositories built in temp dirs (used in place, no server).

mod common;

use common::{
    deployment, file_at, kustomization, repo, revert_request, rollback, rollback_err, with_image,
};
use revertbot::error::Kind;
use revertbot::revert::plan::Strategy;
use revertbot::revert::Outcome;

const K: &str = "clusters/prod/kustomization.yaml";

fn cache() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A repo where one Flux run bumped web and api in one commit, plus an unrelated later commit.
fn two_image_history() -> (
    tempfile::TempDir,
    revertbot::gitstore::RepoWriter,
    git2::Oid,
) {
    let (dir, mut w) = repo();
    w.write(
        K,
        &kustomization(&[("ghcr.io/acme/web", "1.0.0"), ("ghcr.io/acme/api", "2.0.0")]),
    )
    .write(
        "clusters/prod/deployment.yaml",
        &deployment("ghcr.io/acme/web"),
    );
    w.commit("init").unwrap();
    w.author("fluxcdbot", "fluxcdbot@users.noreply.github.com")
        .edit(K, "1.0.0", "1.1.0")
        .edit(K, "2.0.0", "2.1.0");
    let bump = w
        .commit("[ci skip] Update from image update automation")
        .unwrap();
    w.author("Dana", "dana@example.com")
        .write("README.yaml", "docs: true\n");
    w.commit("docs").unwrap();
    (dir, w, bump)
}

#[test]
fn partial_revert_rolls_back_only_the_target_image() {
    let (dir, w, bump) = two_image_history();
    let c = cache();
    let before = file_at(&w.repo, "main", K).unwrap();
    let r = rollback(&with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web:1.1.0",
    ));
    assert_eq!(r.outcome, Outcome::Created);
    assert_eq!(r.strategy, Some(Strategy::Partial));
    assert_eq!(r.reverted, bump.to_string());
    let branch = r.branch.clone().unwrap();
    assert_eq!(
        branch,
        format!("revertbot/ghcr.io-acme-web-{}", &bump.to_string()[..12])
    );
    let after = file_at(&w.repo, &branch, K).unwrap();
    assert_eq!(after, before.replace("newTag: 1.1.0", "newTag: 1.0.0"));
    assert!(after.contains("newTag: 2.1.0"), "api stays bumped");
    assert_eq!(r.files, [K]);
    assert!(
        r.diff.contains("-    newTag: 1.1.0\n+    newTag: 1.0.0"),
        "{}",
        r.diff
    );
    // Base, HEAD and the work tree are untouched.
    assert_eq!(w.repo.head().unwrap().target(), w.head());
    assert_eq!(file_at(&w.repo, "main", K).unwrap(), before);

    let commit = w
        .repo
        .revparse_single(&branch)
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(commit.parent_id(0).unwrap(), w.head().unwrap());
    assert_eq!(commit.author().name(), Ok("revertbot"));
    let message = commit.message().unwrap();
    assert!(
        message
            .starts_with("Revert \"Update from image update automation\"\n\nThis reverts commit "),
        "CI-skip marker stripped: {message}"
    );
    assert!(message.contains(&format!("Reverts: {bump}\n")));
    assert!(message.contains("Revertbot-Image: ghcr.io/acme/web\n"));
    assert!(message.contains("Rolls ghcr.io/acme/web back from 1.1.0 to 1.0.0."));
}

#[test]
fn whole_commit_and_commit_without_image_revert_everything() {
    let (dir, w, bump) = two_image_history();
    let c = cache();
    let mut req = with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web",
    );
    req.whole_commit = true;
    req.dry_run = true;
    let r = rollback(&req);
    assert_eq!(r.outcome, Outcome::DryRun);
    assert_eq!(r.strategy, Some(Strategy::Revert));
    assert!(
        r.diff.contains("+    newTag: 1.0.0") && r.diff.contains("+    newTag: 2.0.0"),
        "{}",
        r.diff
    );
    assert!(
        w.repo
            .find_reference(&format!("refs/heads/{}", r.branch.unwrap()))
            .is_err(),
        "dry run writes no ref"
    );

    let mut req = revert_request(dir.path().to_str().unwrap(), c.path());
    req.commit = Some(bump.to_string()[..8].to_string());
    let r = rollback(&req);
    assert_eq!(r.strategy, Some(Strategy::Revert));
    assert_eq!(
        r.branch.as_deref(),
        Some(format!("revertbot/revert-{}", &bump.to_string()[..12]).as_str())
    );
    let after = file_at(&w.repo, r.branch.as_deref().unwrap(), K).unwrap();
    assert!(after.contains("newTag: 1.0.0") && after.contains("newTag: 2.0.0"));
}

#[test]
fn a_single_image_bump_is_a_plain_revert() {
    let (dir, mut w) = repo();
    w.write("web.yaml", &deployment("ghcr.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.edit("web.yaml", "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    let c = cache();
    let r = rollback(&with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web",
    ));
    assert_eq!(r.strategy, Some(Strategy::Revert));
    assert_eq!(
        file_at(&w.repo, r.branch.as_deref().unwrap(), "web.yaml").unwrap(),
        deployment("ghcr.io/acme/web:1.0.0")
    );
}

#[test]
fn later_edits_of_the_same_line_fall_back_to_the_semantic_edit() {
    let marker = " # {\"$imagepolicy\": \"flux-system:web:tag\"}";
    let later_edits: [(&str, &str); 2] = [
        // The setter marker removed later.
        (marker, ""),
        // A comment added later on the same line.
        ("newTag: 1.1.0", "newTag: 1.1.0 # pinned during incident 42"),
    ];
    for (from, to) in later_edits {
        let (dir, mut w) = repo();
        let text = format!("images:\n  - name: ghcr.io/acme/web\n    newTag: 1.0.0{marker}\n  - name: ghcr.io/acme/api\n    newTag: 2.0.0\n");
        w.write(K, &text);
        w.commit("init").unwrap();
        w.edit(K, "1.0.0", "1.1.0").edit(K, "2.0.0", "2.1.0");
        w.commit("bump both").unwrap();
        w.edit(K, from, to);
        w.commit("later edit, same value").unwrap();
        let base_text = file_at(&w.repo, "main", K).unwrap();

        let c = cache();
        let r = rollback(&with_image(
            revert_request(dir.path().to_str().unwrap(), c.path()),
            "ghcr.io/acme/web:1.1.0",
        ));
        assert_eq!(r.strategy, Some(Strategy::Semantic), "{from:?}");
        let after = file_at(&w.repo, r.branch.as_deref().unwrap(), K).unwrap();
        // Every other byte of the file is kept.
        assert_eq!(
            after.as_bytes(),
            base_text
                .replacen("newTag: 1.1.0", "newTag: 1.0.0", 1)
                .as_bytes()
        );
        assert_eq!(r.restored.len(), 1);
        assert_eq!(
            (r.restored[0].from.as_deref(), r.restored[0].to.as_deref()),
            (Some("1.1.0"), Some("1.0.0"))
        );
    }
}

#[test]
fn refuses_when_the_place_was_rebumped_or_deleted() {
    for later in ["rebump", "delete"] {
        let (dir, mut w) = repo();
        w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
        w.commit("init").unwrap();
        w.edit(K, "1.0.0", "1.1.0");
        let bump = w.commit("bump").unwrap();
        match later {
            "rebump" => w.edit(K, "1.1.0", "1.2.0"),
            _ => w.remove(K),
        };
        w.commit(later).unwrap();
        let c = cache();
        let mut req = revert_request(dir.path().to_str().unwrap(), c.path());
        req.commit = Some(bump.to_string());
        req.image = Some(revertbot::image::ImageRef::parse("ghcr.io/acme/web").unwrap());
        let (exit, msg) = rollback_err(&req);
        assert_eq!(exit, Kind::CannotRevert, "{later}: {msg}");
        let expected = if later == "rebump" {
            "now holds 1.2.0"
        } else {
            "no longer exists"
        };
        assert!(
            msg.contains(expected) && msg.contains("nothing was pushed"),
            "{msg}"
        );
        assert_eq!(
            w.repo.branches(None).unwrap().count(),
            1,
            "no branch was written"
        );
    }
}

#[test]
fn nothing_to_do_when_someone_already_reverted() {
    let (dir, mut w) = repo();
    w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    w.commit("init").unwrap();
    w.edit(K, "1.0.0", "1.1.0");
    let bump = w.commit("bump").unwrap();
    w.edit(K, "1.1.0", "1.0.0");
    let manual = w.commit("roll web back by hand").unwrap();
    let c = cache();
    let mut req = with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web",
    );
    req.commit = Some(bump.to_string());
    let r = rollback(&req);
    assert_eq!(r.outcome, Outcome::NothingToDo);
    assert_eq!(
        r.already_reverted_by.map(|c| c.sha),
        Some(manual.to_string())
    );
    assert!(r.branch.is_none());
    assert_eq!(w.repo.branches(None).unwrap().count(), 1);
}

#[test]
fn a_revert_of_a_revert_is_refused_unless_allowed() {
    let (dir, mut w) = repo();
    w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    w.commit("init").unwrap();
    w.edit(K, "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    w.edit(K, "1.1.0", "1.0.0");
    w.commit("Revert \"bump\"\n\nThis reverts commit 0123456789abcdef.\n")
        .unwrap();
    let c = cache();
    let req = with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web:1.0.0",
    );
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::CannotRevert);
    assert!(
        msg.contains("is itself a revert") && msg.contains("pass allow-revert-of-revert"),
        "{msg}"
    );
    let mut req = req;
    req.allow_revert_of_revert = true;
    let r = rollback(&req);
    assert_eq!(
        file_at(&w.repo, r.branch.as_deref().unwrap(), K).unwrap(),
        kustomization(&[("ghcr.io/acme/web", "1.1.0")])
    );
}

#[test]
fn a_rerun_reuses_the_branch_and_a_foreign_branch_is_refused() {
    let (dir, w, bump) = two_image_history();
    let c = cache();
    let req = with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web",
    );
    let first = rollback(&req);
    let second = rollback(&req);
    assert_eq!(second.outcome, Outcome::Reused);
    assert_eq!(second.commit, first.commit);

    // Someone else's branch with the same name.
    let branch = first.branch.unwrap();
    let head = w.repo.head().unwrap().peel_to_commit().unwrap();
    w.repo.branch(&branch, &head, true).unwrap();
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::BranchConflict);
    assert!(
        msg.contains(&branch) && msg.contains(&bump.to_string()),
        "{msg}"
    );
}

#[test]
fn an_image_the_commit_does_not_change_is_not_found() {
    let (dir, mut w) = repo();
    w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    let init = w.commit("init").unwrap();
    w.edit(K, "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    let c = cache();
    let mut req = with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/api",
    );
    req.commit = Some("HEAD".into());
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::NotFound, "{msg}");
    req.commit = Some(init.to_string());
    req.image = None;
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::CannotRevert, "{msg}");
    assert!(msg.contains("first commit"), "{msg}");
}

#[test]
fn a_local_repository_pushes_to_its_origin() {
    let (dir, w, _) = two_image_history();
    let origin = common::bare_origin(&w);
    let origin_repo = git2::Repository::open_bare(origin.path()).unwrap();
    let c = cache();
    let mut req = with_image(
        revert_request(dir.path().to_str().unwrap(), c.path()),
        "ghcr.io/acme/web",
    );
    req.push = true;
    let r = rollback(&req);
    assert!(r.pushed);
    let branch = r.branch.unwrap();
    assert_eq!(
        origin_repo
            .refname_to_id(&format!("refs/heads/{branch}"))
            .unwrap()
            .to_string(),
        r.commit.unwrap()
    );
    assert_eq!(r.remote.as_deref(), origin.path().to_str());

    let lonely = repo();
    let mut req = with_image(
        revert_request(lonely.0.path().to_str().unwrap(), c.path()),
        "nginx",
    );
    req.push = true;
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::Usage);
    assert!(msg.contains("has no 'origin' remote"), "{msg}");
}

#[test]
fn the_cli_prints_json_and_exits_with_the_documented_codes() {
    let dir = tempfile::tempdir().unwrap();
    revertbot::demo::build(dir.path()).unwrap();
    let c = cache();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
            // The demo's images were never pushed: no registry is asked.
            .env("REVERTBOT_REGISTRY_CHECK", "false")
            .arg("revert")
            .args([
                "--repo",
                dir.path().to_str().unwrap(),
                "--cache-dir",
                c.path().to_str().unwrap(),
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--image", "ghcr.io/acme/frontend:1.5.0", "--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"], "created");
    assert_eq!(json["strategy"], "partial");
    assert_eq!(json["restored"][0]["from"], "1.5.0");
    assert_eq!(json["restored"][0]["to"], "1.4.0");
    assert_eq!(json["pushed"], false);

    let cases: [(&[&str], i32, &str); 4] = [
        (&["--image", "ghcr.io/acme/frontend:9.9.9"], 4, "stale"),
        (&["--image", "ghcr.io/acme/nothing"], 3, "not referenced"),
        (
            &["--commit", "no-such-commit"],
            2,
            "--commit \"no-such-commit\" is not in the repository",
        ),
        (&["--image", "x", "--timeout", "0"], 2, "--timeout"),
    ];
    for (args, code, needle) in cases {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    let out = run(&[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--commit or --image is required"
    );
}

#[test]
fn images_that_fold_to_one_slug_never_share_a_rollback() {
    let (dir, mut w) = repo();
    let (dash, slash) = ("ghcr.io/acme/api-server", "ghcr.io/acme/api/server");
    w.write(K, &kustomization(&[(dash, "1.0.0"), (slash, "1.0.0")]))
        .write(
            "clusters/prod/deployment.yaml",
            &deployment("ghcr.io/acme/api"),
        );
    w.commit("init").unwrap();
    w.write(K, &kustomization(&[(dash, "1.1.0"), (slash, "1.1.0")]));
    w.commit("bump both").unwrap();
    let c = cache();
    let req = |image: &str| {
        with_image(
            revert_request(dir.path().to_str().unwrap(), c.path()),
            image,
        )
    };
    // A dry run says where each would go: two branches.
    let mut dry = req(dash);
    dry.dry_run = true;
    let dry_dash = rollback(&dry).branch.unwrap();
    let mut dry = req(slash);
    dry.dry_run = true;
    let dry_slash = rollback(&dry).branch.unwrap();
    assert_ne!(dry_dash, dry_slash);

    let first = rollback(&req(dash));
    let second = rollback(&req(slash));
    assert_eq!(first.outcome, Outcome::Created);
    assert_eq!(
        second.outcome,
        Outcome::Created,
        "not the other image's branch"
    );
    assert_eq!(first.branch.as_deref(), Some(dry_dash.as_str()));
    assert_eq!(second.branch.as_deref(), Some(dry_slash.as_str()));
    let on = |branch: &Option<String>| file_at(&w.repo, branch.as_deref().unwrap(), K).unwrap();
    assert_eq!(
        on(&first.branch),
        kustomization(&[(dash, "1.0.0"), (slash, "1.1.0")])
    );
    assert_eq!(
        on(&second.branch),
        kustomization(&[(dash, "1.1.0"), (slash, "1.0.0")])
    );
    // Each rerun finds its own.
    assert_eq!(rollback(&req(slash)).commit, second.commit);
    assert_eq!(rollback(&req(dash)).commit, first.commit);
}

#[test]
fn a_move_to_another_registry_is_rolled_back_as_the_image_it_was() {
    let (dir, mut w) = repo();
    w.write(
        "apps/api.yaml",
        &deployment("old.registry.io/acme/api:1.4.0"),
    )
    .write(
        K,
        "images:\n  - name: acme/api\n    newName: mirror.acme.io/acme/api\n    newTag: 1.4.0\n",
    );
    w.commit("init").unwrap();
    w.edit(
        "apps/api.yaml",
        "old.registry.io/acme/api",
        "ghcr.io/acme/api",
    )
    .edit(K, "newName: mirror.acme.io", "newName: ghcr.io");
    let moved = w.commit("Serve api from ghcr.io").unwrap();
    let c = cache();
    let mut req = revert_request(dir.path().to_str().unwrap(), c.path());
    req.commit = Some(moved.to_string());
    let r = rollback(&req);
    let restored: Vec<String> = r
        .restored
        .iter()
        .map(|p| format!("{}  {}", p.at.file, p.versions()))
        .collect();
    assert_eq!(
        restored,
        [
            "apps/api.yaml  image ghcr.io/acme/api:1.4.0 -> old.registry.io/acme/api:1.4.0",
            "clusters/prod/kustomization.yaml  image ghcr.io/acme/api:1.4.0 -> mirror.acme.io/acme/api:1.4.0",
        ]
    );
    let body = revertbot::forge::body::body(
        &r,
        &revertbot::forge::body::Links {
            repo_web_url: "https://github.com/acme/gitops",
            dialect: revertbot::forge::markdown::Dialect::GitHub,
        },
        None,
        None,
    );
    assert!(
        body.contains("- `apps/api.yaml` `spec.template.spec.containers[0].image`: image `ghcr.io/acme/api:1.4.0` → `old.registry.io/acme/api:1.4.0`\n"),
        "{body}"
    );
}
