//! `locate` on real repositories built in temp dirs: each reference form, each "does not
//! count" rule, twins, multi-image commits, merges, renames, registry moves, bad blobs, and
//! the not-found and stale answers.

mod common;

use common::{deployment, kustomization, locate, locate_err, repo};
use revertbot::error::Kind;
use revertbot::manifest::Field;

#[test]
fn finds_the_bump_in_each_of_the_five_forms() {
    let forms: [(&str, &str, &str); 5] = [
        (
            "apps/web/kustomization.yaml",
            "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.0.0\n",
            "images[0].newTag",
        ),
        ("apps/web/deploy.yaml", &deployment("ghcr.io/acme/web:1.0.0"), "spec.template.spec.containers[0].image"),
        (
            "apps/web/values.yaml",
            "web:\n  version: 1.0.0 # {\"$imagepolicy\": \"flux-system:web:tag\"}\n  name: ghcr.io/acme/web # {\"$imagepolicy\": \"flux-system:web:name\"}\n",
            "web.version",
        ),
        (
            "apps/web/release.yaml",
            "kind: HelmRelease\nspec:\n  values:\n    image:\n      repository: ghcr.io/acme/web\n      tag: 1.0.0\n",
            "spec.values.image.tag",
        ),
        (
            "apps/web/.argocd-source-web.yaml",
            "kustomize:\n  images:\n  - ghcr.io/acme/web:1.0.0\n",
            "kustomize.images[0]",
        ),
    ];
    for (path, content, yaml_path) in forms {
        let (_dir, mut w) = repo();
        w.write(path, content)
            .write("README.yaml", "about: gitops\n");
        w.commit("add web").unwrap();
        w.author("bot", "bot@example.com")
            .edit(path, "1.0.0", "1.1.0");
        let bump = w.commit("bump").unwrap();
        w.write("README.yaml", "about: gitops repo\n");
        w.commit("unrelated").unwrap();

        let l = locate(&w, "ghcr.io/acme/web:1.1.0");
        assert_eq!(l.commit.sha, bump.to_string(), "{path}");
        assert_eq!(l.commit.author, "bot");
        assert_eq!(l.commits_walked, 2, "{path}");
        assert_eq!(l.changes.len(), 1, "{path}: {:?}", l.changes);
        let c = &l.changes[0];
        assert_eq!(
            (c.at.file.as_str(), c.at.yaml_path.as_str()),
            (path, yaml_path)
        );
        assert_eq!(
            (c.from.as_deref(), c.to.as_deref()),
            (Some("1.0.0"), Some("1.1.0"))
        );
        assert_eq!(c.at.field, Field::Tag);
    }
}

#[test]
fn edits_that_keep_the_value_do_not_count() {
    let (_dir, mut w) = repo();
    let path = "apps/web/kustomization.yaml";
    w.write(
        path,
        &kustomization(&[("ghcr.io/acme/web", "1.0.0"), ("ghcr.io/acme/api", "5.0.0")]),
    )
    .write("apps/web/deployment.yaml", &deployment("ghcr.io/acme/web"));
    w.commit("init").unwrap();
    w.edit(path, "newTag: 1.0.0", "newTag: 1.1.0");
    let bump = w.commit("Update from image update automation").unwrap();
    let noise: [(&str, &str); 5] = [
        ("newTag: 1.1.0", "newTag: \"1.1.0\""),
        (
            "newTag: \"1.1.0\"",
            "newTag: '1.1.0' # {\"$imagepolicy\": \"flux-system:web:tag\"}",
        ),
        (
            " # {\"$imagepolicy\": \"flux-system:web:tag\"}",
            "  # pinned by flux",
        ),
        ("images:\n", "# image tags below are automated\nimages:\n"),
        ("newTag: 5.0.0", "newTag: 5.1.0"),
    ];
    for (from, to) in noise {
        assert!(w.read(path).unwrap().contains(from), "{from}");
        w.edit(path, from, to);
        w.commit("noise").unwrap();
    }
    // Re-order the entries: same values, other YAML paths.
    let text = w.read(path).unwrap().to_string();
    let (head, entries) = text.split_once("images:\n").unwrap();
    let (web, api) = entries.split_at(entries.find("  - name: ghcr.io/acme/api").unwrap());
    w.write(path, &format!("{head}images:\n{api}{web}"));
    w.commit("sort images").unwrap();
    w.write(
        "apps/other/deploy.yaml",
        &deployment("ghcr.io/acme/other:1"),
    );
    w.commit("other file").unwrap();

    let l = locate(&w, "ghcr.io/acme/web:1.1.0");
    assert_eq!(l.commit.sha, bump.to_string());
    assert_eq!(l.commits_walked, 8);
    // The api bump is found separately.
    let api = locate(&w, "ghcr.io/acme/api");
    assert_eq!(api.commit.subject, "noise");
    assert_eq!(api.changes[0].to.as_deref(), Some("5.1.0"));
}

#[test]
fn twins_in_other_environments_are_reported() {
    let (_dir, mut w) = repo();
    for env in ["dev", "staging", "prod"] {
        w.write(
            &format!("apps/web/{env}/kustomization.yaml"),
            &kustomization(&[("ghcr.io/acme/web", "1.0.0")]),
        );
    }
    w.commit("init").unwrap();
    w.edit("apps/web/dev/kustomization.yaml", "1.0.0", "2.0.0")
        .edit("apps/web/staging/kustomization.yaml", "1.0.0", "2.0.0");
    w.commit("bump dev and staging").unwrap();
    w.edit("apps/web/prod/kustomization.yaml", "1.0.0", "2.0.0");
    let prod = w.commit("bump prod").unwrap();

    let l = locate(&w, "ghcr.io/acme/web:2.0.0");
    assert_eq!(l.commit.sha, prod.to_string());
    assert_eq!(l.changes.len(), 1);
    let twins: Vec<&str> = l.twins.iter().map(|t| t.at.file.as_str()).collect();
    assert_eq!(
        twins,
        [
            "apps/web/dev/kustomization.yaml",
            "apps/web/staging/kustomization.yaml"
        ]
    );

    // Limited to the dev file, the culprit is the earlier commit and prod is a twin.
    let mut q = common::query("ghcr.io/acme/web:2.0.0");
    q.paths = revertbot::manifest::PathFilter::new(&["apps/web/dev/*".into()]).unwrap();
    let dev = revertbot::locate::locate(&w.repo, &q).unwrap();
    assert_eq!(dev.commit.subject, "bump dev and staging");
    assert!(
        dev.twins.is_empty(),
        "twins are searched among the --path files only"
    );
}

#[test]
fn a_commit_bumping_several_images_reports_only_the_asked_one() {
    let (_dir, mut w) = repo();
    let path = "clusters/prod/kustomization.yaml";
    w.write(
        path,
        &kustomization(&[("ghcr.io/acme/web", "1.0.0"), ("ghcr.io/acme/api", "2.0.0")]),
    );
    w.commit("init").unwrap();
    w.edit(path, "1.0.0", "1.0.1").edit(path, "2.0.0", "2.0.1");
    let multi = w.commit("Auto-release multiple (2) images\n\n - ghcr.io/acme/web:1.0.1\n - ghcr.io/acme/api:2.0.1\n").unwrap();
    let l = locate(&w, "ghcr.io/acme/api:2.0.1");
    assert_eq!(l.commit.sha, multi.to_string());
    assert_eq!(l.changes.len(), 1);
    assert_eq!(l.changes[0].at.yaml_path, "images[1].newTag");
}

#[test]
fn a_merged_pull_request_is_found_as_the_merge() {
    let (_dir, mut w) = repo();
    w.write(
        "apps/web/deploy.yaml",
        &deployment("ghcr.io/acme/web:1.0.0"),
    );
    let base = w.commit("init").unwrap();
    w.author("renovate[bot]", "bot@renovateapp.com")
        .edit("apps/web/deploy.yaml", "1.0.0", "1.2.0");
    let branch = w
        .commit("chore(deps): update ghcr.io/acme/web docker tag to v1.2.0")
        .unwrap();
    w.checkout(base).unwrap();
    w.author("Dana", "dana@example.com")
        .write("apps/other.yaml", "a: b\n");
    w.commit("meanwhile on main").unwrap();
    w.write(
        "apps/web/deploy.yaml",
        &deployment("ghcr.io/acme/web:1.2.0"),
    );
    let merge = w
        .merge(branch, "Merge pull request #12 from acme/renovate/web-1.x")
        .unwrap();

    let l = locate(&w, "ghcr.io/acme/web");
    assert_eq!(l.commit.sha, merge.to_string());
    assert_eq!(
        l.commit.subject,
        "Merge pull request #12 from acme/renovate/web-1.x"
    );
}

#[test]
fn multi_document_files() {
    let (_dir, mut w) = repo();
    let doc = |tag: &str| deployment(&format!("nginx:{tag}"));
    w.write("all.yaml", &format!("{}---\n{}", doc("1.25"), doc("1.25")));
    w.commit("init").unwrap();
    w.write("all.yaml", &format!("{}---\n{}", doc("1.25"), doc("1.26")));
    let bump = w.commit("bump second").unwrap();
    let l = locate(&w, "docker.io/library/nginx:1.26");
    assert_eq!(l.commit.sha, bump.to_string());
    assert_eq!((l.changes[0].at.document, l.changes[0].at.line), (1, 21));
}

#[test]
fn follows_renamed_files_and_registry_moves() {
    let (_dir, mut w) = repo();
    w.write("apps/web.yaml", &deployment("docker.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.edit("apps/web.yaml", "1.0.0", "1.1.0");
    let bump = w.commit("bump").unwrap();
    w.rename("apps/web.yaml", "apps/web/deployment.yaml");
    w.commit("move into a directory").unwrap();
    w.edit(
        "apps/web/deployment.yaml",
        "docker.io/acme/web",
        "ghcr.io/acme/web",
    );
    w.commit("move to ghcr").unwrap();
    w.rename("apps/web/deployment.yaml", "apps/web/prod.yaml")
        .edit("apps/web/prod.yaml", "name: app", "name: web");
    w.commit("rename and edit").unwrap();

    let l = locate(&w, "ghcr.io/acme/web:1.1.0");
    assert_eq!(l.commit.sha, bump.to_string());
    assert_eq!(l.changes[0].at.file, "apps/web.yaml");
    assert_eq!(l.commits_walked, 4);
}

#[test]
fn a_registry_move_with_a_new_tag_is_where_the_reference_starts() {
    let (_dir, mut w) = repo();
    w.write("web.yaml", &deployment("docker.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.edit(
        "web.yaml",
        "docker.io/acme/web:1.0.0",
        "ghcr.io/acme/web:1.1.0",
    );
    w.commit("move and bump").unwrap();
    let (exit, msg) = locate_err(&w, "ghcr.io/acme/web:1.1.0");
    assert_eq!(exit, Kind::NotFound);
    assert!(msg.contains("no commit changed its value"), "{msg}");
}

#[test]
fn bad_blobs_in_history_are_skipped_not_fatal() {
    let (_dir, mut w) = repo();
    w.write("web.yaml", &deployment("ghcr.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.write("web.yaml", "image: ghcr.io/acme/web:1.0.1\n  broken: [\n");
    w.commit("broken").unwrap();
    w.write_bytes("other.yaml", b"image: ghcr.io/acme/web:\xff\xfe\n");
    w.write("web.yaml", &deployment("ghcr.io/acme/web:1.1.0"));
    let fixed = w.commit("fix and bump").unwrap();
    w.symlink("link.yaml", "web.yaml");
    w.commit("symlink").unwrap();

    // The broken version references nothing: the fix is where the reference starts.
    let (exit, _) = locate_err(&w, "ghcr.io/acme/web:1.1.0");
    assert_eq!(exit, Kind::NotFound);
    w.edit("web.yaml", "1.1.0", "1.2.0");
    w.commit("bump").unwrap();
    let l = locate(&w, "ghcr.io/acme/web:1.2.0");
    assert_eq!(l.commit.subject, "bump");
    assert!(
        l.twins.is_empty(),
        "the symlink is not a second file: {:?}",
        l.twins
    );
    let _ = fixed;
}

#[test]
fn stale_version_says_what_git_holds() {
    let (_dir, mut w) = repo();
    w.write("web.yaml", &deployment("ghcr.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.edit("web.yaml", "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    let (exit, msg) = locate_err(&w, "ghcr.io/acme/web:1.0.5");
    assert_eq!(exit, Kind::Stale);
    assert!(msg.contains("tag 1.1.0 in web.yaml:10"), "{msg}");
}

#[test]
fn not_referenced_and_never_bumped() {
    let (_dir, mut w) = repo();
    w.write("a.yaml", &deployment("tracker/frontend-maintenance:1"))
        .write("b.yaml", &deployment("ghcr.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.write(
        "a.yaml",
        &format!(
            "# comment\n{}",
            deployment("tracker/frontend-maintenance:1")
        ),
    );
    w.commit("comment").unwrap();

    let (exit, msg) = locate_err(&w, "tracker/frontend");
    assert_eq!(exit, Kind::NotFound);
    assert!(msg.contains("searched 2 YAML files"), "{msg}");
    let (exit, msg) = locate_err(&w, "tracker/frontend-maintenance:1");
    assert_eq!(exit, Kind::NotFound);
    assert!(msg.contains("walked 1 commits"), "{msg}");
}

#[test]
fn a_persons_revert_of_a_bump_is_itself_a_value_change() {
    let (_dir, mut w) = repo();
    w.write("web.yaml", &deployment("ghcr.io/acme/web:1.0.0"));
    w.commit("init").unwrap();
    w.edit("web.yaml", "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    w.edit("web.yaml", "1.1.0", "1.0.0");
    let revert = w
        .commit("Revert \"bump\"\n\nThis reverts commit 123.\n")
        .unwrap();
    let l = locate(&w, "ghcr.io/acme/web:1.0.0");
    assert_eq!(l.commit.sha, revert.to_string());
    assert_eq!(l.changes[0].from.as_deref(), Some("1.1.0"));
}

#[test]
fn a_registry_migration_of_several_images_follows_each_one() {
    let (_dir, mut w) = repo();
    let k = "apps/kustomization.yaml";
    w.write(k, "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.3.0\n  - name: ghcr.io/acme/api\n    newTag: 1.3.0\n");
    w.commit("add").unwrap();
    w.edit(k, "1.3.0", "1.4.0").edit(k, "1.3.0", "1.4.0");
    let release = w.commit("release").unwrap();
    w.edit(k, "ghcr.io/acme/web", "registry.acme.io/acme/web")
        .edit(k, "ghcr.io/acme/api", "registry.acme.io/acme/api");
    w.commit("move").unwrap();
    let l = locate(&w, "registry.acme.io/acme/web:1.4.0");
    assert_eq!(l.commit.sha, release.to_string());
    assert_eq!(l.changes.len(), 1);
}

#[test]
fn a_move_by_adding_new_name_to_a_kustomize_entry_is_followed() {
    let (_dir, mut w) = repo();
    let k = "apps/kustomization.yaml";
    w.write(
        k,
        "images:\n  - name: ghcr.io/acme/web\n    newTag: 1.3.0\n",
    );
    w.commit("add").unwrap();
    w.edit(k, "1.3.0", "1.4.0");
    let bump = w.commit("bump").unwrap();
    w.edit(
        k,
        "    newTag",
        "    newName: registry.acme.io/acme/web\n    newTag",
    );
    w.commit("mirror the registry").unwrap();
    let l = locate(&w, "registry.acme.io/acme/web:1.4.0");
    assert_eq!(l.commit.sha, bump.to_string());
}

#[test]
fn a_later_reordering_does_not_make_the_changed_place_its_own_twin() {
    let (_dir, mut w) = repo();
    let k = "apps/kustomization.yaml";
    w.write(
        k,
        &kustomization(&[("ghcr.io/acme/web", "1.0.0"), ("ghcr.io/acme/api", "2.0.0")]),
    );
    w.commit("init").unwrap();
    w.edit(k, "1.0.0", "1.1.0");
    let bump = w.commit("bump").unwrap();
    w.write(
        k,
        &kustomization(&[("ghcr.io/acme/api", "2.0.0"), ("ghcr.io/acme/web", "1.1.0")]),
    );
    w.commit("sort").unwrap();
    let l = locate(&w, "ghcr.io/acme/web:1.1.0");
    assert_eq!(l.commit.sha, bump.to_string());
    assert!(l.twins.is_empty(), "{:?}", l.twins);
}

/// What `locate` answered, in a form two runs can be compared by.
fn answer(w: &revertbot::gitstore::RepoWriter, image: &str, rev: &str) -> String {
    let mut q = common::query(image);
    q.rev = rev.to_string();
    match revertbot::locate::locate(&w.repo, &q) {
        Ok(l) => format!(
            "{} after {} commits: {:?}",
            l.commit.sha, l.commits_walked, l.changes
        ),
        Err(e) => format!("{e:#}"),
    }
}

fn git(dir: &std::path::Path, args: &[&str], stdin: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "git {args:?}");
}

#[test]
fn a_commit_graph_gives_the_same_answers_without_reading_commits() {
    let (dir, mut w) = repo();
    w.write(
        "apps/web/deploy.yaml",
        &deployment("ghcr.io/acme/web:1.0.0"),
    )
    .write(
        "apps/api/deploy.yaml",
        &deployment("ghcr.io/acme/api:1.0.0"),
    )
    .write("apps/db/deploy.yaml", &deployment("ghcr.io/acme/db:1.0.0"));
    let mut commits = vec![w.commit("init").unwrap()];
    for i in 1..300 {
        match i % 3 {
            0 => w.write(
                "apps/web/deploy.yaml",
                &deployment(&format!("ghcr.io/acme/web:1.0.{i}")),
            ),
            1 => w.write(
                "apps/db/deploy.yaml",
                &format!("# edit {i}\n{}", deployment("ghcr.io/acme/db:1.0.0")),
            ),
            _ if i == 20 => w.edit("apps/api/deploy.yaml", "1.0.0", "2.0.0"),
            _ => w.write("clusters/prod/notes.yaml", &format!("note: {i}\n")),
        };
        commits.push(w.commit(&format!("commit {i}")).unwrap());
    }
    let queries = [
        ("ghcr.io/acme/web", "HEAD".to_string()),
        ("ghcr.io/acme/web", commits[150].to_string()),
        ("ghcr.io/acme/api:2.0.0", "HEAD".to_string()),
        ("ghcr.io/acme/db", "HEAD".to_string()),
    ];
    let answers = |w| -> Vec<String> { queries.iter().map(|(i, r)| answer(w, i, r)).collect() };
    let without_graph = answers(&w);
    assert!(
        without_graph[2].starts_with(&commits[20].to_string()),
        "{without_graph:?}"
    );
    assert!(
        without_graph[3].contains("walked 299 commits"),
        "{without_graph:?}"
    );

    // A graph that stops short of the tip (written before the last hundred commits), then one
    // covering everything.
    git(
        dir.path(),
        &["commit-graph", "write", "--stdin-commits"],
        &format!("{}\n", commits[199]),
    );
    assert_eq!(answers(&w), without_graph);
    git(dir.path(), &["commit-graph", "write", "--reachable"], "");
    assert_eq!(answers(&w), without_graph);

    // The walk reads the graph, not the commits it covers: without those commit objects it
    // still answers (the culprits' are kept: their details are reported).
    for c in &commits[..150] {
        if *c == commits[20] {
            continue;
        }
        let hex = c.to_string();
        let loose = dir
            .path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]);
        std::fs::remove_file(&loose).unwrap();
    }
    assert_eq!(answers(&w)[2..], without_graph[2..]);
}

#[test]
fn a_commit_graph_is_written_when_missing_and_rewritten_when_far_behind() {
    use revertbot::gitstore::commit_graph::refresh;
    let (dir, mut w) = repo();
    let mut commits = Vec::new();
    let mut commit = |w: &mut revertbot::gitstore::RepoWriter, i: usize| {
        w.write(
            "a.yaml",
            &format!("# edit {i}\n{}", deployment("ghcr.io/acme/web:1.0.0")),
        );
        commits.push(w.commit(&format!("commit {i}")).unwrap());
    };
    for i in 0..5 {
        commit(&mut w, i);
    }
    assert!(refresh(&w.repo, w.head().unwrap()).unwrap(), "no graph yet");
    git(dir.path(), &["commit-graph", "verify"], "");
    assert!(!refresh(&w.repo, w.head().unwrap()).unwrap(), "up to date");
    // 999 commits newer than the graph: walks read them raw. 1,000: rewritten.
    for i in 5..1004 {
        commit(&mut w, i);
    }
    assert!(!refresh(&w.repo, w.head().unwrap()).unwrap(), "999 behind");
    commit(&mut w, 1004);
    assert!(refresh(&w.repo, w.head().unwrap()).unwrap(), "1,000 behind");
    git(dir.path(), &["commit-graph", "verify"], "");

    // The walk reads the graph libgit2 wrote: without the commit objects it covers (but the
    // newest), it still walks the whole history.
    for c in &commits[..900] {
        let hex = c.to_string();
        std::fs::remove_file(
            dir.path()
                .join(".git/objects")
                .join(&hex[..2])
                .join(&hex[2..]),
        )
        .unwrap();
    }
    let (_, msg) = locate_err(&w, "ghcr.io/acme/web");
    assert!(msg.contains("walked 1004 commits"), "{msg}");
}
