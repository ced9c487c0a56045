//! GitHub Apps: the installation on a repository, installation tokens, and the App's JWT.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::model::{fake_sha, ts, App, Identity, IssuedToken};
use super::reply::{error, not_found, ok, Fail, Reply};
use super::route::{Req, Route};
use super::{Caller, State, DOCS};

pub(super) const ROUTES: &[Route] = &[
    Route::get(
        "/repos/{owner}/{repo}/installation",
        State::get_repo_installation,
    ),
    Route::post(
        "/app/installations/{installation_id}/access_tokens",
        State::create_installation_token,
    ),
];

impl State {
    fn get_repo_installation(&mut self, req: &Req) -> Result<Reply, Fail> {
        let caller = self.app_caller(req.headers)?;
        let k = self.visible_repo(&caller, req.params.get("owner"), req.params.get("repo"))?;
        let Caller::App(app_id) = caller else {
            unreachable!()
        };
        let _ = k;
        Ok(ok(
            StatusCode::OK,
            self.installation_json(&self.apps[&app_id]),
        ))
    }

    fn create_installation_token(&mut self, req: &Req) -> Result<Reply, Fail> {
        let installation_id = req
            .params
            .get("installation_id")
            .parse::<u64>()
            .unwrap_or(0);
        let Caller::App(app_id) = self.app_caller(req.headers)? else {
            unreachable!()
        };
        if self.apps[&app_id].installation_id != installation_id {
            return Err(not_found());
        }
        self.tokens_issued += 1;
        let seed = self.next_id();
        let token = format!(
            "ghs_{}",
            &fake_sha(&format!("token-{app_id}-{}-{seed}", self.tokens_issued))[..36]
        );
        let lifetime = chrono::Duration::from_std(self.token_lifetime).unwrap();
        let expires_at = self.now() + lifetime;
        self.installation_tokens
            .insert(token.clone(), IssuedToken { app_id, expires_at });
        self.issued_order.push(token.clone());
        Ok(ok(
            StatusCode::CREATED,
            json!({
                "token": token,
                "expires_at": ts(expires_at),
                "permissions": app_permissions(),
                "repository_selection": "selected",
            }),
        ))
    }

    /// An App JWT, verified with the App's public key.
    fn app_caller(&self, headers: &HeaderMap) -> Result<Caller, Fail> {
        #[derive(serde::Deserialize)]
        struct Claims {
            iss: Value,
            iat: Option<i64>,
            exp: i64,
        }
        let undecodable = || {
            error(
                StatusCode::UNAUTHORIZED,
                "A JSON web token could not be decoded",
                DOCS,
            )
        };
        let Some(token) = Self::bearer(headers) else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Requires authentication",
                DOCS,
            ));
        };
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(&token)
            .map_err(|_| undecodable())?;
        let iss = match &unverified.claims.iss {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        let app = iss.and_then(|id| self.apps.get(&id)).ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "'Issuer' claim ('iss') must be an Integer",
                DOCS,
            )
        })?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp"]);
        let verified = jsonwebtoken::decode::<Claims>(&token, &app.key, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => error(
                    StatusCode::UNAUTHORIZED,
                    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
                    DOCS,
                ),
                _ => undecodable(),
            }
        })?;
        let now = self.now().timestamp();
        if verified.claims.exp > now + 600 + 60 {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "'Expiration time' claim ('exp') is too far in the future",
                DOCS,
            ));
        }
        if verified.claims.iat.is_some_and(|iat| iat > now + 60) {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
                DOCS,
            ));
        }
        Ok(Caller::App(app.id))
    }

    // -- JSON shapes (GitHub's, as in its OpenAPI description) -------------------------------

    fn installation_json(&self, app: &App) -> Value {
        let api = self.api();
        let account = Identity::org(&app.account);
        json!({
            "id": app.installation_id,
            "client_id": format!("Iv23li{}", &fake_sha(&app.slug)[..14]),
            "account": self.simple_user(&account),
            "repository_selection": "selected",
            "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", app.installation_id),
            "repositories_url": format!("{api}/installation/repositories"),
            "html_url": format!("https://github.com/organizations/{}/settings/installations/{}", app.account, app.installation_id),
            "app_id": app.id,
            "app_slug": app.slug,
            "target_id": account.id,
            "target_type": "Organization",
            "permissions": app_permissions(),
            "events": ["pull_request"],
            "created_at": ts(app.created_at),
            "updated_at": ts(app.created_at),
            "single_file_name": null,
            "has_multiple_single_files": false,
            "single_file_paths": [],
            "suspended_by": null,
            "suspended_at": null,
        })
    }
}

fn app_permissions() -> Value {
    json!({"contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write"})
}
