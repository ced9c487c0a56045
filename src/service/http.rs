//! The HTTP front: `POST /alerts` (the Alertmanager webhook), `POST /webhooks/argo-rollouts`
//! and `POST /webhooks/flagger` (the canary tools' own webhooks, made into alerts), `POST
//! /webhooks/github`, `POST /webhooks/gitea` and `POST /webhooks/gitlab` (what became of the
//! rollback pull requests, signed by the forge, or carrying GitLab's token),
//! `/healthz`, `/readyz`, `/metrics`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tracing::{debug, info, warn, Instrument};

use super::forge_events;
use super::gitlab_events;
use super::intake;
use super::metrics::{DeliveryResult, Guard};
use super::state::{Shared, Unrecorded};
use super::status;
use crate::alert::{canary, Payload};
use crate::journal::Journal;

pub fn router(shared: Arc<Shared>) -> Router {
    let webhook = Router::new()
        .route("/alerts", post(alerts))
        .route("/webhooks/argo-rollouts", post(argo_rollouts))
        .route("/webhooks/flagger", post(flagger))
        .layer(DefaultBodyLimit::max(
            shared.config().webhook.max_body_bytes,
        ))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            declared_length,
        ))
        .route_layer(middleware::from_fn_with_state(shared.clone(), authorize));
    let status = Router::new()
        .route("/", get(status_index))
        .route("/jobs/{id}", get(status_job))
        .route("/pulls/{number}", get(status_pull))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            authorize_read,
        ));
    // Signed by the forge with its own secret (or carrying GitLab's own token): the webhook's
    // tokens are not asked for.
    let forge_events = Router::new()
        .route("/webhooks/github", post(github_events))
        .route("/webhooks/gitea", post(gitea_events))
        .route("/webhooks/gitlab", post(gitlab_events))
        .layer(DefaultBodyLimit::max(
            shared.config().webhook.max_body_bytes,
        ))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            declared_length,
        ));
    Router::new()
        .merge(webhook)
        .merge(forge_events)
        .merge(status)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The status page: the webhook's credentials, or a read token. A browser is asked for basic
/// credentials when they are accepted.
async fn authorize_read(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if shared.auth().allows_read(header) {
        return next.run(request).await;
    }
    if shared.auth().takes_basic() {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"revertbot\"")],
        )
            .into_response();
    }
    StatusCode::UNAUTHORIZED.into_response()
}

/// Checks the `Authorization` header before the body is read. A refusal says nothing more.
async fn authorize(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if shared.stopping() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down; send it again later",
        );
    }
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if !shared.auth().allows(header) {
        shared.metrics().delivery(DeliveryResult::Unauthorized);
        return StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(request).await
}

/// Refuses a body whose declared length is over `webhook.max_body_bytes` before reading any
/// of it: the client need not send it, and the server need not take it in. A body without a
/// length (chunked) is limited as it is read.
async fn declared_length(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let max = shared.config().webhook.max_body_bytes;
    if declared.is_some_and(|n| n > max as u64) {
        shared.metrics().delivery(DeliveryResult::TooLarge);
        return too_large(max);
    }
    next.run(request).await
}

fn too_large(max: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than webhook.max_body_bytes ({max} bytes)"),
    )
}

/// The answer to a body that could not be read (too large, cut off).
fn rejected(shared: &Shared, rejection: BytesRejection) -> Response {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        shared.metrics().delivery(DeliveryResult::TooLarge);
        return too_large(shared.config().webhook.max_body_bytes);
    }
    shared.metrics().delivery(DeliveryResult::Invalid);
    error(status, &rejection.body_text())
}

async fn argo_rollouts(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    event(&shared, body, canary::argo_rollouts).await
}

async fn flagger(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    event(&shared, body, canary::flagger).await
}

/// How a tool's webhook body becomes an event.
type Parse = fn(&[u8], chrono::DateTime<chrono::Utc>) -> Result<canary::Event, canary::EventError>;

/// A canary tool's event: recorded and answered as an Alertmanager delivery of one alert; an
/// event that asks for nothing is answered 200 and not recorded; a body that is not the
/// tool's event is answered 400 with the field at fault.
async fn event(
    shared: &Arc<Shared>,
    body: Result<Bytes, BytesRejection>,
    parse: Parse,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return rejected(shared, rejection),
    };
    match parse(&body, shared.engine().clock().now()) {
        Err(e) => {
            shared.metrics().delivery(DeliveryResult::Invalid);
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string(), "field": e.field })),
            )
                .into_response()
        }
        Ok(canary::Event::Ignored(why)) => {
            shared.metrics().delivery(DeliveryResult::Ignored);
            debug!("event ignored: {why}");
            (StatusCode::OK, Json(json!({ "ignored": why }))).into_response()
        }
        Ok(canary::Event::Alert(payload)) => {
            let span = tracing::info_span!(
                "delivery",
                receiver = %payload.receiver,
                group = %payload.group_key,
                alerts = payload.alerts.len()
            );
            record(shared, &payload, &body).instrument(span).await
        }
    }
}

async fn alerts(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return rejected(&shared, rejection),
    };
    let payload = match Payload::from_json(&body) {
        Ok(payload) => payload,
        Err(e) => {
            shared.metrics().delivery(DeliveryResult::Invalid);
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.message, "field": e.field })),
            )
                .into_response();
        }
    };
    let span = tracing::info_span!(
        "delivery",
        receiver = %payload.receiver,
        group = %payload.group_key,
        alerts = payload.alerts.len()
    );
    record(&shared, &payload, &body).instrument(span).await
}

async fn record(shared: &Arc<Shared>, payload: &Payload, body: &[u8]) -> Response {
    let now = shared.engine().clock().now();
    let delivery = intake::delivery(
        payload,
        &String::from_utf8_lossy(body),
        shared.config(),
        now,
    );
    // What the log lines need, kept before the delivery goes to the writer.
    let seen: Vec<(String, String, Option<String>, String)> = delivery
        .alerts
        .iter()
        .map(|a| {
            let reason = match &a.decision {
                crate::journal::Decision::Skipped { reason, .. } => reason.clone(),
                _ => String::new(),
            };
            (
                a.fingerprint.clone(),
                a.alertname.clone(),
                a.rule.clone(),
                reason,
            )
        })
        .collect();
    let recorded = match shared.submit(delivery).await {
        Ok(recorded) => recorded,
        Err(Unrecorded::Failed(e)) => {
            warn!("cannot record a delivery: {e}");
            shared.metrics().delivery(DeliveryResult::Unavailable);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the journal cannot be written; send it again later",
            );
        }
        Err(Unrecorded::Closed) => {
            shared.metrics().delivery(DeliveryResult::Unavailable);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the journal is closed; send it again later",
            );
        }
    };
    shared.metrics().delivery(DeliveryResult::Recorded);
    shared.metrics().alerts_decided(&recorded.decisions);
    for ((fingerprint, alertname, rule, reason), decision) in seen.iter().zip(&recorded.decisions) {
        let guard = reason.starts_with("guard max_alert_age");
        if guard {
            shared.metrics().guard(Guard::MaxAlertAge);
        }
        // One line for what starts work or what a guard stopped; duplicates (Alertmanager
        // re-sends every group) and unmatched alerts only at debug level.
        if *decision == "queued" || guard {
            info!(
                fingerprint = %fingerprint,
                alertname = %alertname,
                rule = rule.as_deref().unwrap_or(""),
                decision = *decision,
                "{reason}"
            );
        } else {
            debug!(
                fingerprint = %fingerprint,
                alertname = %alertname,
                rule = rule.as_deref().unwrap_or(""),
                decision = *decision,
                "{reason}"
            );
        }
    }
    if recorded.new_jobs > 0 {
        shared.wake_workers();
    }
    (
        StatusCode::OK,
        Json(json!({ "delivery": recorded.delivery, "alerts": recorded.decisions })),
    )
        .into_response()
}

/// How many jobs and deliveries the status page lists.
const STATUS_LIMIT: u32 = 50;

/// `POST /webhooks/github`.
async fn github_events(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    forge_event(&shared, &forge_events::GITHUB, &headers, body).await
}

/// `POST /webhooks/gitea`: Gitea's and Forgejo's.
async fn gitea_events(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    forge_event(&shared, &forge_events::GITEA, &headers, body).await
}

/// `POST /webhooks/gitlab`: GitLab's merge request events.
async fn gitlab_events(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    forge_event(&shared, &gitlab_events::GITLAB, &headers, body).await
}

/// A forge's signed delivery about a rollback pull request, recorded once on its jobs;
/// anything else the forge sends is answered 2xx and kept nothing of.
async fn forge_event(
    shared: &Arc<Shared>,
    hook: &forge_events::Hook,
    headers: &axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if shared.stopping() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down; send it again later",
        );
    }
    let Some(secret) = shared.auth().forge_hook(hook.forge) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "the {} webhook is off: set {} to take it",
                hook.forge, hook.setting
            ),
        );
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return rejected(shared, rejection),
    };
    if !hook.proven(secret, &body, headers) {
        shared.metrics().delivery(DeliveryResult::Unauthorized);
        return error(StatusCode::UNAUTHORIZED, &hook.unproven());
    }
    let given = forge_events::Hook::header(hook.delivery, headers).filter(|d| !d.is_empty());
    let delivery = match given {
        Some(delivery) => delivery.to_string(),
        None if hook.delivery_from_body => forge_events::delivery_of_body(&body),
        None => {
            shared.metrics().delivery(DeliveryResult::Invalid);
            return error(
                StatusCode::BAD_REQUEST,
                &format!("{} is missing", hook.delivery.join(" or ")),
            );
        }
    };
    let delivery = delivery.as_str();
    match forge_events::Hook::header(hook.event, headers).unwrap_or("") {
        "ping" => return Json(json!({ "pong": true })).into_response(),
        e if e == hook.pull_event => {}
        other => return Json(json!({ "ignored": format!("event {other}") })).into_response(),
    }
    let event = match (hook.read)(hook.forge, delivery, &body) {
        Ok(forge_events::Told::Event(event)) => event,
        Ok(forge_events::Told::Ignored(why)) => {
            return Json(json!({ "ignored": why })).into_response()
        }
        Err(why) => {
            shared.metrics().delivery(DeliveryResult::Invalid);
            return error(StatusCode::BAD_REQUEST, &why);
        }
    };
    match shared.journal().pull_event(&event, shared.now_ms()).await {
        Err(e) => {
            warn!("cannot record {} delivery {delivery}: {e:#}", hook.forge);
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the journal cannot be written; send it again",
            )
        }
        Ok(r) if r.replayed => Json(json!({ "replayed": true })).into_response(),
        Ok(r) if r.jobs == 0 => {
            Json(json!({ "ignored": "not a pull request revertbot opened" })).into_response()
        }
        Ok(r) => {
            if r.newly_merged {
                if let Some(seconds) = (hook.merge_seconds)(&body) {
                    shared.metrics().pull_request_merged(seconds);
                }
            }
            info!(
                forge = hook.forge,
                pull_request = %event.pull_url,
                by = event.closed_by.as_deref().unwrap_or(""),
                "pull request {} ({})",
                event.state,
                event.event
            );
            Json(json!({ "recorded": r.jobs, "state": event.state })).into_response()
        }
    }
}

async fn status_index(State(shared): State<Arc<Shared>>) -> Response {
    let since = shared.now_ms() - status::SUMMARY_DAYS * 24 * 3_600_000;
    let read = shared
        .journal()
        .call(move |j| {
            Ok((
                j.rollback_summary(since)?,
                j.jobs(STATUS_LIMIT)?,
                j.deliveries(STATUS_LIMIT)?,
            ))
        })
        .await;
    match read {
        Ok((rollbacks, jobs, deliveries)) => html(status::index(&rollbacks, &jobs, &deliveries)),
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the journal cannot be read",
        ),
    }
}

async fn status_job(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let id = id.parse::<i64>().ok();
    one_page(&shared, "no such job", move |j| match id {
        Some(id) => Ok(j.job(id)?.map(|detail| status::job(&detail))),
        None => Ok(None),
    })
    .await
}

/// A pull request the local forge keeps.
async fn status_pull(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> Response {
    let number = number.parse::<u64>().ok();
    one_page(&shared, "no such pull request", move |j| match number {
        Some(n) => Ok(j.local_pull(n)?.map(|pull| status::pull(&pull))),
        None => Ok(None),
    })
    .await
}

/// A page of one thing read from the journal: 404 when there is no such thing, 503 when the
/// journal cannot be read.
async fn one_page(
    shared: &Shared,
    missing: &str,
    read: impl FnOnce(&dyn Journal) -> anyhow::Result<Option<String>> + Send + 'static,
) -> Response {
    match shared.journal().call(read).await {
        Ok(Some(page)) => html(page),
        Ok(None) => error(StatusCode::NOT_FOUND, missing),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the journal cannot be read",
        ),
    }
}

fn html(page: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Nothing on the page runs or loads anything.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'",
            ),
        ],
        page,
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let writable = shared.journal().writable().await;
    if shared.stopping() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if !writable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the journal cannot be written",
        );
    }
    if !shared.ready() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not every repository has been fetched yet",
        );
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    if let Ok(pending) = shared.journal().pending().await {
        shared.metrics().pending(pending);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics().encode(),
    )
        .into_response()
}
