//! A webhook body read as JSON, with an error that names the field at fault: serde names a
//! missing field in its message, at the path of its parent, so the two are put together.

use serde::de::DeserializeOwned;

/// Why a body is not what was expected.
pub struct JsonError {
    /// `alerts[0].status`, `rollout.name`…; `None` for the body as a whole.
    pub field: Option<String>,
    /// serde_json's words, ending with where in the body (` at line L column C`).
    pub error: String,
}

impl JsonError {
    /// `field: what is wrong`, with or without serde_json's position in the body.
    pub fn message(&self, with_position: bool) -> String {
        let error = match self.error.rfind(" at line ") {
            Some(at) if !with_position => &self.error[..at],
            _ => &self.error,
        };
        match &self.field {
            Some(f) => format!("{f}: {error}"),
            None => error.to_string(),
        }
    }
}

/// The body as `T`; nothing may follow it but white space.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let error = e.into_inner().to_string();
        let missing = error
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string);
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => Some(name),
            (".", None) => None,
            (parent, Some(name)) => Some(format!("{parent}.{name}")),
            (parent, None) => Some(parent.to_string()),
        };
        JsonError { field, error }
    })?;
    de.end().map_err(|e| JsonError {
        field: None,
        error: e.to_string(),
    })?;
    Ok(value)
}
