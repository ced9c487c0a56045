//! Jobs recorded before the journal stored subjects kept only their key: the image as the
//! alert named it, or `workload:NAMESPACE/KIND/NAME[:CONTAINER]` of the most likely candidate.
//! The migration that adds the `subject` column fills it in for the open jobs (the only ones a
//! worker will run) from the key and the alert's labels, once; nothing reads keys afterwards.

use crate::alert::workload::from_labels;
use crate::alert::Payload;
use crate::image::ImageRef;
use crate::subject::Subject;

/// How such a key began when it named a workload.
const WORKLOAD_KEY: &str = "workload:";

/// The subject an old open job was routed with; `None` when neither its key nor its alert says
/// (the job then fails, saying so, rather than run on a guess).
pub fn subject_of(target: &str, alert: &str) -> Option<Subject> {
    if target.starts_with(WORKLOAD_KEY) {
        let payload = Payload::from_json(alert.as_bytes()).ok()?;
        let candidates = from_labels(&payload.alerts.first()?.labels);
        return (!candidates.is_empty()).then_some(Subject::Workload(candidates));
    }
    ImageRef::parse(target).ok().map(Subject::Image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_image_key_is_its_image_and_an_old_workload_key_takes_the_alerts_candidates() {
        assert_eq!(
            subject_of("ghcr.io/acme/api:1.4.0", "{}"),
            Some(Subject::Image(
                ImageRef::parse("ghcr.io/acme/api:1.4.0").unwrap()
            ))
        );
        let alert = r#"{"version":"4","status":"firing","receiver":"r","groupKey":"{}:{}",
            "alerts":[{"status":"firing","labels":{"alertname":"X","namespace":"prod",
            "deployment":"frontend","container":"web"},"annotations":{},
            "startsAt":"2026-11-30T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f"}]}"#;
        let Some(Subject::Workload(candidates)) =
            subject_of("workload:prod/Deployment/frontend:web", alert)
        else {
            panic!("a workload key reads back as the alert's workload");
        };
        assert_eq!(candidates[0].path(), "prod/Deployment/frontend:web");
        assert_eq!(subject_of("workload:prod/Deployment/frontend", "{}"), None);
    }
}
