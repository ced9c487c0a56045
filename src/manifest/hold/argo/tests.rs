//! Holds and lifts on Applications and ImageUpdaters, round trips byte for byte.

use super::verify::verify;
use super::*;
use crate::manifest::hold::{Edited, HoldError};
use crate::manifest::yaml::parse_documents;

const APP: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web:~1.5
    argocd-image-updater.argoproj.io/web.update-strategy: semver # keep
spec:
  project: default
";

const UPDATER: &str = "\
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: updater
  namespace: argocd
spec:
  commonUpdateSettings:
    updateStrategy: semver
    ignoreTags: [\"latest\", \"dev\"]
  applicationRefs:
    - namePattern: \"web-*\"
      images:
        - alias: web
          imageName: ghcr.io/acme/web:~1.5
        - alias: api
          imageName: ghcr.io/acme/api
    - namePattern: web-prod
      images:
        - alias: web-prod
          imageName: ghcr.io/acme/web:1.x
";

fn app(name: &str, alias: &str) -> Config {
    Config {
        document: 0,
        kind: ConfigKind::Annotations,
        name: name.into(),
        alias: alias.into(),
    }
}

fn updater(alias: &str) -> Config {
    Config {
        document: 0,
        kind: ConfigKind::ImageUpdater,
        name: "updater".into(),
        alias: alias.into(),
    }
}

fn changed(edit: Result<Edited, HoldError>) -> String {
    match edit {
        Ok(Edited::Changed(text)) => text,
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Holds, checks holding again changes nothing and that lifting gives `text` back byte for
/// byte (and lifting again changes nothing); returns the held text.
fn round_trip(text: &str, config: &Config, tag: &str) -> String {
    let held = changed(hold(text, config, tag));
    assert_eq!(hold(&held, config, tag), Ok(Edited::Unchanged));
    assert_eq!(
        changed(unhold(&held, config, tag)),
        text,
        "unhold of:\n{held}"
    );
    assert_eq!(unhold(text, config, tag), Ok(Edited::Unchanged));
    held
}

#[test]
fn inserts_an_alias_key_after_the_image_list() {
    let held = round_trip(APP, &app("web", "web"), "1.5.0");
    assert_eq!(
        held,
        "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web:~1.5
    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"
    argocd-image-updater.argoproj.io/web.update-strategy: semver # keep
spec:
  project: default
"
    );
}

#[test]
fn appends_to_an_existing_alias_key_in_its_style() {
    for (written, expected) in [
        ("\"latest\"", "\"latest, 1.5.0\""),
        ("'latest'", "'latest, 1.5.0'"),
        ("latest", "latest, 1.5.0"),
        ("\"\"", "\"1.5.0\""),
        ("\"lat\\u0065st\"  # why", "\"lat\\u0065st, 1.5.0\"  # why"),
    ] {
        let line = format!("    argocd-image-updater.argoproj.io/web.ignore-tags: {written}\n");
        let text = APP.replace("spec:\n", &format!("{line}spec:\n"));
        let held = round_trip(&text, &app("web", "web"), "1.5.0");
        let want = line.replace(written, expected);
        assert_eq!(held, text.replace(&line, &want));
    }
}

#[test]
fn a_plain_value_that_would_need_quotes_becomes_double_quoted() {
    let line = "    argocd-image-updater.argoproj.io/web.ignore-tags: dev\n";
    let text = APP.replace("spec:\n", &format!("{line}spec:\n"));
    let config = app("web", "web");
    let held = changed(hold(&text, &config, "x:"));
    assert_eq!(
        held,
        text.replace(
            line,
            "    argocd-image-updater.argoproj.io/web.ignore-tags: \"dev, x:\"\n"
        )
    );
    // `"dev"` and `dev` both give that text: lifting keeps the quotes.
    let lifted = changed(unhold(&held, &config, "x:"));
    assert_eq!(lifted, text.replace(" dev\n", " \"dev\"\n"));
}

#[test]
fn holds_only_the_image_asked_for_among_several_aliases() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: frontend=ghcr.io/acme/frontend:~1.5, api=ghcr.io/acme/api
    argocd-image-updater.argoproj.io/frontend.ignore-tags: latest
    argocd-image-updater.argoproj.io/api.ignore-tags: dev
";
    let found = configs(text, "ghcr.io/acme/api", None);
    assert_eq!(found, [app("shop", "api")]);
    let held = round_trip(text, &found[0], "2.0.1");
    assert_eq!(
            held,
            "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: frontend=ghcr.io/acme/frontend:~1.5, api=ghcr.io/acme/api
    argocd-image-updater.argoproj.io/frontend.ignore-tags: latest
    argocd-image-updater.argoproj.io/api.ignore-tags: dev, 2.0.1
"
        );
    assert_eq!(
        configs(text, "ghcr.io/acme/frontend", Some("shop")),
        [app("shop", "frontend")]
    );
    assert!(configs(text, "ghcr.io/acme/frontend", Some("other")).is_empty());
}

#[test]
fn finds_the_application_in_a_later_document() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";
    let text = format!("{deployment}---\n{APP}");
    let found = configs(&text, "ghcr.io/acme/web", Some("web"));
    let config = Config {
        document: 1,
        ..app("web", "web")
    };
    assert_eq!(found, std::slice::from_ref(&config));
    let held = round_trip(&text, &config, "1.5.0");
    assert!(held.starts_with(deployment));
    assert!(held
        .contains("web:~1.5\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"\n"));
    let wrong = Config {
        document: 0,
        ..config
    };
    assert!(hold(&text, &wrong, "1.5.0").is_err());
}

#[test]
fn an_image_without_alias_uses_the_app_wide_key() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: proxy
  annotations:
    argocd-image-updater.argoproj.io/image-list: docker.io/library/nginx:~1.25
spec: {}
";
    // Docker Hub spellings are one image.
    let found = configs(text, "nginx", None);
    assert_eq!(found, [app("proxy", "")]);
    let held = round_trip(text, &found[0], "1.25.4");
    assert_eq!(
        held,
        text.replace(
            "nginx:~1.25\n",
            "nginx:~1.25\n    argocd-image-updater.argoproj.io/ignore-tags: \"1.25.4\"\n"
        )
    );
    // An existing app-wide key gets the pattern appended.
    let held2 = round_trip(&held, &found[0], "1.25.5");
    assert!(
        held2.contains("/ignore-tags: \"1.25.4, 1.25.5\"\n"),
        "{held2}"
    );
}

#[test]
fn a_new_alias_key_keeps_what_the_app_wide_key_ignored() {
    let text = APP.replace(
        "spec:\n",
        "    argocd-image-updater.argoproj.io/ignore-tags: latest, dev\nspec:\n",
    );
    let held = round_trip(&text, &app("web", "web"), "1.5.0");
    assert!(held.contains(
        "web:~1.5\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"latest, dev, 1.5.0\"\n"
    ));
    // Ignored app-wide already: nothing to add, and nothing of ours to lift.
    assert_eq!(
        hold(&text, &app("web", "web"), "dev"),
        Ok(Edited::Unchanged)
    );
    assert_eq!(
        unhold(&text, &app("web", "web"), "dev"),
        Ok(Edited::Unchanged)
    );
}

#[test]
fn escapes_glob_metacharacters_of_a_tag() {
    let held = round_trip(APP, &app("web", "web"), "v1.*[rc]");
    assert!(
        held.contains("web.ignore-tags: \"v1.\\\\*\\\\[rc\\\\]\"\n"),
        "{held}"
    );
    let docs = parse_documents(&held).unwrap();
    let value = docs[0]
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get_scalar("argocd-image-updater.argoproj.io/web.ignore-tags"))
        .unwrap();
    assert_eq!(value.value, r"v1.\*\[rc\]");
    let plain = APP.replace(
        "spec:\n",
        "    argocd-image-updater.argoproj.io/web.ignore-tags: latest\nspec:\n",
    );
    let held = round_trip(&plain, &app("web", "web"), "v1.*");
    assert!(held.contains("web.ignore-tags: latest, v1.\\*\n"), "{held}");
}

#[test]
fn inserts_after_a_multi_line_image_list() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: >-
      web=ghcr.io/acme/web,
      api=registry.local:5000/acme/api:1.x

    argocd-image-updater.argoproj.io/write-back-method: git
";
    let found = configs(text, "registry.local:5000/acme/api", None);
    assert_eq!(found, [app("shop", "api")]);
    let held = round_trip(text, &found[0], "1.2.3");
    assert_eq!(
        held,
        text.replace(
            "1.x\n",
            "1.x\n    argocd-image-updater.argoproj.io/api.ignore-tags: \"1.2.3\"\n"
        )
    );
    let quoted = text
        .replace(
            ">-\n      web=ghcr.io/acme/web,\n      api",
            "\"web=ghcr.io/acme/web,\n      api",
        )
        .replace("1.x\n", "1.x\"\n");
    let held = round_trip(&quoted, &found[0], "1.2.3");
    assert!(
        held.contains("1.x\"\n    argocd-image-updater.argoproj.io/api.ignore-tags: \"1.2.3\"\n")
    );
}

#[test]
fn appends_to_a_block_scalar_value() {
    let text = APP.replace(
        "spec:\n",
        "    argocd-image-updater.argoproj.io/web.ignore-tags: |\n      latest, dev\nspec:\n",
    );
    let held = round_trip(&text, &app("web", "web"), "1.5.0");
    assert!(
        held.contains("|\n      latest, dev, 1.5.0\nspec:"),
        "{held}"
    );
}

#[test]
fn keeps_crlf_and_a_missing_final_newline() {
    let crlf = APP.replace('\n', "\r\n");
    let held = round_trip(&crlf, &app("web", "web"), "1.5.0");
    assert!(held
        .contains("~1.5\r\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"\r\n"));
    let short = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web";
    let held = round_trip(short, &app("web", "web"), "1.5.0");
    assert!(
        held.ends_with("acme/web\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"")
    );
}

#[test]
fn flow_annotations_are_left_to_a_person() {
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  annotations: {argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web}\n";
    assert_eq!(configs(text, "ghcr.io/acme/web", None), [app("web", "web")]);
    let err = hold(text, &app("web", "web"), "1.5.0").unwrap_err();
    assert!(err.0.contains("flow style"), "{err}");
}

#[test]
fn unhold_of_a_hold_made_by_hand_takes_out_the_one_pattern() {
    let with = |value: &str| {
        APP.replace(
            "spec:\n",
            &format!("    argocd-image-updater.argoproj.io/web.ignore-tags: {value}\nspec:\n"),
        )
    };
    let config = app("web", "web");
    let out = changed(unhold(&with("1.5.0, latest,dev"), &config, "1.5.0"));
    assert_eq!(out, with("latest,dev"));
    let out = changed(unhold(&with("'latest , 1.5.0, dev'"), &config, "1.5.0"));
    assert_eq!(out, with("'latest , dev'"));
    // The only pattern, with an app-wide key below: an empty alias key keeps it unread.
    let both = with("\"1.5.0\"").replace(
        "spec:\n",
        "    argocd-image-updater.argoproj.io/ignore-tags: latest\nspec:\n",
    );
    let out = changed(unhold(&both, &config, "1.5.0"));
    assert!(out.contains("web.ignore-tags: \"\"\n"), "{out}");
    // Without one, the key goes; but `""` is what a hold into `""` came from.
    assert_eq!(changed(unhold(&with("1.5.0"), &config, "1.5.0")), APP);
    let out = changed(unhold(&with("\"1.5.0\""), &config, "1.5.0"));
    assert_eq!(out, with("\"\""));
}

#[test]
fn image_updater_copies_the_inherited_list_into_a_new_image_list() {
    let held = round_trip(UPDATER, &updater("web"), "1.5.0");
    assert_eq!(
        held,
        "\
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: updater
  namespace: argocd
spec:
  commonUpdateSettings:
    updateStrategy: semver
    ignoreTags: [\"latest\", \"dev\"]
  applicationRefs:
    - namePattern: \"web-*\"
      images:
        - alias: web
          imageName: ghcr.io/acme/web:~1.5
          commonUpdateSettings:
            ignoreTags:
              - \"latest\"
              - \"dev\"
              - \"1.5.0\"
        - alias: api
          imageName: ghcr.io/acme/api
    - namePattern: web-prod
      images:
        - alias: web-prod
          imageName: ghcr.io/acme/web:1.x
"
    );
    let crlf = UPDATER.replace('\n', "\r\n");
    assert_eq!(
        round_trip(&crlf, &updater("web"), "1.5.0"),
        held.replace('\n', "\r\n")
    );
    // Ignored through the spec's list already.
    assert_eq!(hold(UPDATER, &updater("web"), "dev"), Ok(Edited::Unchanged));
    assert_eq!(
        unhold(UPDATER, &updater("web"), "dev"),
        Ok(Edited::Unchanged)
    );
}

#[test]
fn image_updater_prefers_the_application_refs_list_to_the_specs() {
    let text = UPDATER.replace(
            "    - namePattern: \"web-*\"\n",
            "    - namePattern: \"web-*\"\n      commonUpdateSettings:\n        ignoreTags:\n          - nightly\n",
        );
    let held = round_trip(&text, &updater("api"), "2.0.0");
    assert!(
        held.contains(
            "imageName: ghcr.io/acme/api
          commonUpdateSettings:
            ignoreTags:
              - \"nightly\"
              - \"2.0.0\"
    - namePattern: web-prod"
        ),
        "{held}"
    );
}

#[test]
fn image_updater_appends_to_the_images_own_list() {
    let block = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            ignoreTags:\n            - 'old'  # why\n",
        );
    let held = round_trip(&block, &updater("api"), "2.0.0");
    assert_eq!(
        held,
        block.replace("# why\n", "# why\n            - \"2.0.0\"\n")
    );
    let flow = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            ignoreTags: [old, \"beta\" ]\n",
        );
    let held = round_trip(&flow, &updater("api"), "2.0.0");
    assert_eq!(held, flow.replace("\"beta\" ]", "\"beta\", \"2.0.0\" ]"));
    let multi_line = flow.replace(
        "[old, \"beta\" ]",
        "[\n              old,\n              beta,\n            ]",
    );
    let held = round_trip(&multi_line, &updater("api"), "2.0.0");
    assert_eq!(held, multi_line.replace("beta,", "beta, \"2.0.0\","));
    let empty = flow.replace("[old, \"beta\" ]", "[]");
    let held = round_trip(&empty, &updater("api"), "2.0.0");
    assert_eq!(held, empty.replace("[]", "[\"2.0.0\"]"));
}

#[test]
fn image_updater_adds_ignore_tags_to_existing_settings() {
    let text = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            updateStrategy: digest\n",
        );
    let held = round_trip(&text, &updater("api"), "2.0.0");
    assert_eq!(
        held,
        text.replace(
            "updateStrategy: digest\n",
            "updateStrategy: digest
            ignoreTags:
              - \"latest\"
              - \"dev\"
              - \"2.0.0\"
"
        )
    );
}

#[test]
fn image_updater_without_any_ignore_list() {
    let text = UPDATER.replace(
            "  commonUpdateSettings:\n    updateStrategy: semver\n    ignoreTags: [\"latest\", \"dev\"]\n",
            "",
        );
    let held = round_trip(&text, &updater("web-prod"), "1.5.0");
    assert!(held.ends_with(
        "imageName: ghcr.io/acme/web:1.x
          commonUpdateSettings:
            ignoreTags:
              - \"1.5.0\"
"
    ));
}

#[test]
fn image_updater_lift_of_a_hand_written_hold() {
    let text = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            ignoreTags:\n              - latest\n              - 2.0.0\n              - dev\n",
        );
    let out = changed(unhold(&text, &updater("api"), "2.0.0"));
    // What is left is what the spec ignores: the image's own list is redundant and goes.
    assert_eq!(out, UPDATER);
    let kept = text.replace("- dev\n", "- beta\n");
    let out = changed(unhold(&kept, &updater("api"), "2.0.0"));
    assert_eq!(out, kept.replace("              - 2.0.0\n", ""));
}

#[test]
fn image_updater_configs_follow_the_name_pattern() {
    let web = "ghcr.io/acme/web";
    assert_eq!(
        configs(UPDATER, web, None),
        [updater("web"), updater("web-prod")]
    );
    // The exact name beats the wildcard.
    assert_eq!(
        configs(UPDATER, web, Some("web-prod")),
        [updater("web-prod")]
    );
    assert_eq!(configs(UPDATER, web, Some("web-staging")), [updater("web")]);
    assert!(configs(UPDATER, web, Some("shop")).is_empty());
    assert_eq!(
        configs(UPDATER, "ghcr.io/acme/api", Some("web-1")),
        [updater("api")]
    );
    assert!(configs(UPDATER, "ghcr.io/acme/other", None).is_empty());
    assert!(configs("a: [", web, None).is_empty());
}

#[test]
fn image_updater_alias_in_two_refs_is_ambiguous() {
    let text = UPDATER.replace("alias: web-prod", "alias: web");
    let err = hold(&text, &updater("web"), "1.5.0").unwrap_err();
    assert!(err.0.contains("2 images aliased `web`"), "{err}");
}

#[test]
fn verification_refuses_a_file_that_says_something_else() {
    let config = app("web", "web");
    let held = changed(hold(APP, &config, "1.5.0"));
    let want = ["1.5.0".to_string()];
    assert_eq!(verify(APP, &held, &config, &want), Ok(()));
    let other = held.replace("semver", "latest");
    let err = verify(APP, &other, &config, &want).unwrap_err();
    assert!(err.0.contains("changes other values"), "{err}");
    let err = verify(APP, &held, &config, &["1.5.1".to_string()]).unwrap_err();
    assert!(err.0.contains("instead of"), "{err}");
    let err = verify(APP, "a: [", &config, &want).unwrap_err();
    assert!(err.0.contains("not valid YAML"), "{err}");
}

#[test]
fn an_alias_with_a_slash_uses_an_underscore_in_its_key() {
    let text = APP.replace("web=ghcr", "team/web=ghcr");
    let found = configs(&text, "ghcr.io/acme/web", None);
    assert_eq!(found, [app("web", "team/web")]);
    let held = round_trip(&text, &found[0], "1.5.0");
    assert!(held.contains("argocd-image-updater.argoproj.io/team_web.ignore-tags: \"1.5.0\"\n"));
}

#[test]
fn no_prefix_of_a_file_panics() {
    let fixtures = [
            APP.to_string(),
            UPDATER.to_string(),
            APP.replace("web:~1.5", "web:~1.5\n    argocd-image-updater.argoproj.io/web.ignore-tags: >\n      a,\n      \"b\""),
            UPDATER.replace("[\"latest\", \"dev\"]", "[\"la\\\"t\", 'd''v', ]"),
        ];
    for text in &fixtures {
        for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            let part = &text[..end];
            for config in [app("web", "web"), updater("web"), updater("api")] {
                let _ = configs(part, "ghcr.io/acme/web", Some("web"));
                if let Ok(Edited::Changed(held)) = hold(part, &config, "1.5.0") {
                    assert_eq!(
                        unhold(&held, &config, "1.5.0"),
                        Ok(Edited::Changed(part.into()))
                    );
                }
                let _ = unhold(part, &config, "dev");
            }
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(hold("a: [", &app("web", "web"), "1").is_err());
    assert!(hold(APP, &app("web", "web"), "").is_err());
    assert!(hold(APP, &app("web", "web"), "a,b").is_err());
    assert!(hold(APP, &app("web", "other"), "1").is_err());
    assert!(hold(APP, &app("api", "web"), "1").is_err());
    assert!(hold(APP, &updater("web"), "1").is_err());
    let null = UPDATER.replace(
        "          imageName: ghcr.io/acme/api\n",
        "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n",
    );
    assert!(hold(&null, &updater("api"), "2.0.0").is_err());
    let flow_image = UPDATER.replace(
        "        - alias: api\n          imageName: ghcr.io/acme/api\n",
        "        - {alias: api, imageName: ghcr.io/acme/api}\n",
    );
    assert!(hold(&flow_image, &updater("api"), "2.0.0").is_err());
}
