//! What the service reads from outside — webhook bodies, matcher strings, configuration, alert
//! labels — generated at random: never a panic, and what is read back is what was written.
//! `PROPTEST_CASES=10000 cargo test --test parsers_property` for a longer run.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use revertbot::alert::rules::{route, Routed, Subject};
use revertbot::alert::{Alert, Payload, Status};
use revertbot::config::{Config, Guards, RevertOfRevert, Rule};
use revertbot::image::ImageRef;
use revertbot::matcher::{self, Matcher, Op};

/// Text that looks like what it fuzzes: mostly its own alphabet, now and then anything.
fn text(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(proptest::sample::select(alphabet.chars().collect::<Vec<_>>()), 0..max)
            .prop_map(|c| c.into_iter().collect()),
        1 => proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        text("4firingresolved\"\\ {}", 12).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                proptest::sample::select(vec![
                    "version",
                    "status",
                    "alerts",
                    "labels",
                    "annotations",
                    "startsAt",
                    "receiver",
                    "groupKey",
                    "externalURL",
                    "fingerprint",
                    "x",
                ])
                .prop_map(str::to_string),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn guards() -> Guards {
    Guards {
        dry_run: false,
        max_rollbacks_per_repo_per_hour: 3,
        max_alert_age: Duration::from_secs(7_200),
        culprit_grace: Duration::from_secs(600),
        revert_of_revert: RevertOfRevert::Refuse,
    }
}

proptest! {
    #[test]
    fn any_body_is_a_payload_or_an_error_naming_what_is_wrong(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = Payload::from_json(&bytes) {
            prop_assert!(!e.message.is_empty());
            prop_assert!(!e.message.contains('\n'));
        }
    }

    #[test]
    fn payload_shaped_json_never_panics(value in json_value()) {
        let bytes = value.to_string().into_bytes();
        match Payload::from_json(&bytes) {
            Ok(p) => prop_assert_eq!(p.version, "4"),
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
    }

    #[test]
    fn any_matcher_string_parses_or_is_refused(s in text("abc_=!~\"\\{}, .*|", 24)) {
        if let Ok(matchers) = matcher::parse(&s) {
            prop_assert!(!matchers.is_empty());
        }
    }

    #[test]
    fn a_matcher_written_out_reads_back_the_same(
        name in "[a-zA-Z_][a-zA-Z0-9_]{0,10}",
        op in prop_oneof![Just(Op::Equal), Just(Op::NotEqual), Just(Op::Regex), Just(Op::NotRegex)],
        value in text("ab\"\\\n ,{}=", 12),
    ) {
        let Ok(m) = Matcher::new(&name, op, &value) else {
            // Only a regex can be refused.
            prop_assert!(matches!(op, Op::Regex | Op::NotRegex));
            return Ok(());
        };
        let read = matcher::parse(&m.to_string()).unwrap();
        prop_assert_eq!(read, vec![m]);
    }

    #[test]
    fn any_configuration_text_loads_or_lists_its_problems(s in text("abcdeilnoprstuvwy_:- \n[]{}'\"0123456789./", 200)) {
        match Config::load(&s, &BTreeMap::new()) {
            Ok(c) => prop_assert!(!c.repos.is_empty() && !c.rules.is_empty()),
            Err(problems) => {
                prop_assert!(!problems.0.is_empty());
                for p in &problems.0 {
                    prop_assert!(p.contains(": "), "{}", p);
                }
            }
        }
    }

    #[test]
    fn labels_route_to_an_image_only_when_it_is_a_versioned_reference(
        image in text("ghcr.io/acme:1.5-@sha256:0123456789abcdef ../\n<>", 40),
        severity in prop_oneof![Just("critical".to_string()), text("a-z", 8)],
        resolved in any::<bool>(),
        minutes_ago in 0i64..600,
    ) {
        let rules = [Rule {
            name: "r".into(),
            matchers: matcher::parse(r#"severity="critical""#).unwrap(),
            repo: "gitops".into(),
            image_label: Some("image".into()),
            workload: false,
        }];
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").unwrap().into();
        let alert = Alert {
            status: if resolved { Status::Resolved } else { Status::Firing },
            labels: [("severity".to_string(), severity.clone()), ("image".to_string(), image.clone())].into(),
            annotations: BTreeMap::new(),
            starts_at: (now - chrono::Duration::minutes(minutes_ago)).to_rfc3339(),
            ends_at: String::new(),
            generator_url: String::new(),
            fingerprint: "f".into(),
        };
        let parsed = ImageRef::parse(image.trim()).ok().filter(|i| i.tag.is_some() || i.digest.is_some());
        match route(&alert, &rules, &guards(), now) {
            Routed::Unmatched => prop_assert_ne!(severity, "critical"),
            Routed::Rollback { subject: Subject::Image(got), .. } => {
                prop_assert!(!resolved && minutes_ago <= 120);
                prop_assert_eq!(Some(got), parsed);
            }
            Routed::Resolved { subject: Subject::Image(got), .. } => {
                prop_assert!(resolved);
                prop_assert_eq!(Some(got), parsed);
            }
            Routed::Rollback { subject: Subject::Workload(_), .. }
            | Routed::Resolved { subject: Subject::Workload(_), .. } => {
                prop_assert!(false, "the rule takes the image from its label only");
            }
            Routed::Skipped { reason, .. } => {
                prop_assert!(parsed.is_none() || (!resolved && minutes_ago > 120), "{}", reason);
            }
        }
    }
}
