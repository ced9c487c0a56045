//! Users: `GET /users?username=` (how a reviewer's or assignee's id is found).

use serde_json::Value;

use super::reply::{paginated, Fail, Reply};
use super::route::{Req, Route};
use super::State;

pub(super) const ROUTES: &[Route] = &[Route::get("/api/v4/users", State::list_users)];

impl State {
    fn list_users(&mut self, req: &Req) -> Result<Reply, Fail> {
        self.caller(req.method, req.headers)?;
        let username = req.q("username");
        let search = req.q("search").map(str::to_lowercase);
        let items: Vec<Value> = self
            .users
            .values()
            .filter(|u| username.is_none_or(|n| u.username.eq_ignore_ascii_case(n)))
            .filter(|u| {
                search.as_deref().is_none_or(|s| {
                    u.username.to_lowercase().contains(s) || u.name.to_lowercase().contains(s)
                })
            })
            .map(|u| self.user_json(u))
            .collect();
        Ok(paginated(items, req, &self.web_base()))
    }
}
