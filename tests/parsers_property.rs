//! What the service reads from outside — webhook bodies, matcher strings, configuration, alert
//! labels — generated at random: never a panic, and what is read back is what was written.
//! `PROPTEST_CASES=10000 cargo test --test parsers_property` for a longer run.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use revertbot::alert::rules::{route, Routed};
use revertbot::alert::{Alert, Payload, Status};
use revertbot::config::{Config, Guards, RevertOfRevert, Rule};
use revertbot::image::ImageRef;
use revertbot::matcher::{self, Matcher, Op};
use revertbot::subject::Subject;

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
        max_auto_merges_per_repo_per_hour: 3,
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
        match matcher::parse(&s) {
            Ok(matchers) => prop_assert!(!matchers.is_empty()),
            // A refusal names the text, or the part of it at fault, and says what is wrong.
            Err(e) => {
                let names_a_part = e.starts_with(&format!("{s:?}"))
                    || substrings(s.trim()).any(|part| e.starts_with(&format!("{part:?}: ")));
                prop_assert!(names_a_part, "{:?} for {:?}", e, s);
            }
        }
    }

    #[test]
    fn a_matcher_list_reads_as_written_and_a_broken_one_is_refused_for_its_fault(
        (text, expected) in matcher_text(),
    ) {
        let got = matcher::parse(&text);
        match expected {
            Ok(want) => {
                let got = got.map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
                let got: Vec<(String, Op, String)> =
                    got.into_iter().map(|m| (m.name, m.op, m.value)).collect();
                prop_assert_eq!(got, want, "{:?}", text);
            }
            Err(fault) => match got {
                Ok(m) => prop_assert!(false, "{:?} read as {:?}, not refused for {}", text, m, fault),
                Err(e) => prop_assert!(e.contains(fault), "{:?}: {:?}, not {:?}", text, e, fault),
            },
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
            auto_merge: None,
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
                // Written out again, it is the label as sent (less the blanks around it).
                prop_assert_eq!(got.to_string(), image.trim());
                prop_assert_eq!(Some(got), parsed);
            }
            Routed::Resolved { subject: Subject::Image(got), .. } => {
                prop_assert!(resolved);
                prop_assert_eq!(got.to_string(), image.trim());
                prop_assert_eq!(Some(got), parsed);
            }
            Routed::Rollback { subject: Subject::Workload(_) | Subject::Commit { .. }, .. }
            | Routed::Resolved { subject: Subject::Workload(_) | Subject::Commit { .. }, .. } => {
                prop_assert!(false, "the rule takes the image from its label only");
            }
            Routed::Skipped { reason, .. } => {
                prop_assert!(parsed.is_none() || (!resolved && minutes_ago > 120), "{}", reason);
            }
        }
    }

    #[test]
    fn a_label_built_from_parts_routes_to_exactly_those_parts(
        (label, expected) in image_label(),
        resolved in any::<bool>(),
    ) {
        let rules = [Rule {
            name: "r".into(),
            matchers: matcher::parse(r#"severity="critical""#).unwrap(),
            repo: "gitops".into(),
            image_label: Some("image".into()),
            workload: false,
            auto_merge: None,
        }];
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").unwrap().into();
        let alert = Alert {
            status: if resolved { Status::Resolved } else { Status::Firing },
            labels: [("severity".to_string(), "critical".to_string()), ("image".to_string(), label.clone())].into(),
            annotations: BTreeMap::new(),
            starts_at: (now - chrono::Duration::minutes(5)).to_rfc3339(),
            ends_at: String::new(),
            generator_url: String::new(),
            fingerprint: "f".into(),
        };
        match (route(&alert, &rules, &guards(), now), expected) {
            (Routed::Rollback { subject: Subject::Image(got), .. }, Some(want))
            | (Routed::Resolved { subject: Subject::Image(got), .. }, Some(want)) => {
                prop_assert_eq!((got.name, got.tag, got.digest), want, "{:?}", label);
            }
            (Routed::Skipped { .. }, None) => {}
            (routed, expected) => prop_assert!(
                false,
                "{:?} routed {:?}, expected {:?}",
                label,
                routed,
                expected
            ),
        }
    }
}

/// Every substring of `s` (on character boundaries).
fn substrings(s: &str) -> impl Iterator<Item = &str> {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    (0..bounds.len()).flat_map(move |a| {
        let bounds = bounds.clone();
        (a..bounds.len()).map(move |b| &s[bounds[a]..bounds[b]])
    })
}

/// A label name as Alertmanager writes them.
fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,8}"
}

/// One matcher written out, and what it reads as: a bare word, or a quoted value with its
/// escapes; a regex always a valid one.
fn one_matcher() -> impl Strategy<Value = (String, (String, Op, String))> {
    let op = prop_oneof![
        Just(Op::Equal),
        Just(Op::NotEqual),
        Just(Op::Regex),
        Just(Op::NotRegex)
    ];
    (label_name(), op, "[ \t]{0,2}", "[ \t]{0,2}", any::<bool>()).prop_flat_map(
        |(name, op, pad1, pad2, bare)| {
            let symbol = match op {
                Op::Equal => "=",
                Op::NotEqual => "!=",
                Op::Regex => "=~",
                Op::NotRegex => "!~",
            };
            let value: BoxedStrategy<String> = match (op, bare) {
                (Op::Regex | Op::NotRegex, _) => "[a-z0-9_]{0,6}(\\.\\*)?".boxed(),
                (_, true) => "[a-zA-Z0-9_.:/-]{1,8}".boxed(),
                (_, false) => "[a-z \"\\\\\n,{}=!~]{0,8}".boxed(),
            };
            value.prop_map(move |value| {
                let written = if bare && matches!(op, Op::Equal | Op::NotEqual) && !value.is_empty()
                {
                    value.clone()
                } else {
                    let escaped = value
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n");
                    format!("\"{escaped}\"")
                };
                (
                    format!("{name}{pad1}{symbol}{pad2}{written}"),
                    (name.clone(), op, value),
                )
            })
        },
    )
}

/// A matcher list written out with what it reads as, or a text broken on purpose with the
/// words its refusal must hold.
#[allow(clippy::type_complexity)]
fn matcher_text() -> impl Strategy<Value = (String, Result<Vec<(String, Op, String)>, &'static str>)>
{
    let list = || {
        (
            proptest::collection::vec(one_matcher(), 1..4),
            any::<bool>(),
            "[ ]{0,2}",
        )
            .prop_map(|(ms, braces, pad)| {
                let text = ms
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(&format!(",{pad}"));
                let text = if braces { format!("{{{text}}}") } else { text };
                (text, ms.into_iter().map(|(_, m)| m).collect::<Vec<_>>())
            })
    };
    let broken = proptest::sample::select(vec![
        ("", "holds no matcher"),
        ("  ", "holds no matcher"),
        ("{}", "holds no matcher"),
        ("{ , }", "holds no matcher"),
        ("{a=\"b\"", "without its"),
        ("a=\"b", "a quote is not closed"),
        ("a", "give =, !=, =~ or !~"),
        ("a ~ \"b\"", "give =, !=, =~ or !~"),
        ("=\"b\"", "give a label name"),
        ("a=b c", "quote the value"),
        ("a==b", "quote the value"),
        ("a=\"x\\qy\"", "is not an escape"),
        ("a=\"b\" c", "text after the closing quote"),
        ("a=~\"(\"", "is not a valid regular expression"),
        ("a!~\"[\"", "is not a valid regular expression"),
    ]);
    prop_oneof![
        3 => list().prop_map(|(text, ms)| (text, Ok(ms))),
        1 => broken.clone().prop_map(|(text, fault)| (text.to_string(), Err(fault))),
        // A broken matcher after good ones: the list is refused for it.
        1 => (list(), broken).prop_filter_map("a list to append to", |((text, _), (bad, fault))| {
            (!text.starts_with('{') && !bad.trim().is_empty() && !bad.starts_with('{'))
                .then(|| (format!("{text}, {bad}"), Err(fault)))
        }),
    ]
}

/// An image label written from parts, with what it names — (name, tag, digest) when it holds
/// a version — or a label broken on purpose (None), as are labels with no version.
#[allow(clippy::type_complexity)]
fn image_label() -> impl Strategy<Value = (String, Option<(String, Option<String>, Option<String>)>)>
{
    let name = (
        proptest::sample::select(vec![
            "",
            "ghcr.io/",
            "registry.acme.io:5000/",
            "localhost:5000/",
            "docker.io/library/",
        ]),
        "[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?(/[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?){0,2}",
    )
        .prop_map(|(registry, path)| format!("{registry}{path}"));
    let tag = proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}");
    let digest = proptest::option::of("sha256:[0-9a-f]{64}");
    let blank = proptest::sample::select(vec!["", " ", "\t", "\n", "  "]);
    let good = (name.clone(), tag, digest, blank.clone(), blank).prop_map(
        |(name, tag, digest, before, after)| {
            let mut label = name.clone();
            if let Some(t) = &tag {
                label.push_str(&format!(":{t}"));
            }
            if let Some(d) = &digest {
                label.push_str(&format!("@{d}"));
            }
            let meaning = (tag.is_some() || digest.is_some()).then_some((name, tag, digest));
            (format!("{before}{label}{after}"), meaning)
        },
    );
    // Each broken in one known way; never a reference.
    let bad_suffix = proptest::sample::select(vec![
        ":1.5<2",
        ":1 5",
        ":",
        "@sha256:xyz",
        "@sha256:0123456789abcdef",
        "@:0123456789abcdef0123456789abcdef",
        ":1.0/x",
    ]);
    let broken = prop_oneof![
        (name.clone(), bad_suffix).prop_map(|(n, s)| format!("{n}{s}")),
        name.clone()
            .prop_map(|n| format!("{n}:{}", "1".repeat(129))),
        name.clone().prop_map(|n| format!("../{n}:1.0")),
        name.prop_map(|n| format!("{n}/./x:1.0")),
        Just(String::new()),
        Just("  ".to_string()),
    ];
    prop_oneof![
        3 => good,
        1 => broken.prop_map(|label| (label, None)),
    ]
}
