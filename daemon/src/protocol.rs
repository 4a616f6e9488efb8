//! Request and response objects of the daemon protocol (docs/spec/daemon-protocol.md §7, §8).
//!
//! Requests are parsed with serde from one line; responses are written compactly on one line
//! with the fields in the order of the spec's table and empty fields omitted.

use serde::{Deserialize, Deserializer, Serialize};

/// Largest request accepted (docs/spec/daemon-protocol.md §5: at least 16 MiB).
pub const MAX_REQUEST: usize = 16 * 1024 * 1024;

/// Exit code of a success.
pub const EXIT_OK: i32 = 0;
/// Exit code of an error.
pub const EXIT_ERROR: i32 = 1;
/// Exit code "not handled natively — run it in Bash".
pub const EXIT_FALLBACK: i32 = 200;

/// A string field that also accepts `null` (as absent).
fn nullable_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A `[string]` field that also accepts `null` (as empty).
fn nullable_args<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One request (docs/spec/daemon-protocol.md §7). Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Request {
    /// Receiver class (qualified); `""` = no class (ping).
    #[serde(deserialize_with = "nullable_string")]
    pub class: String,
    /// Receiver state JSON as a string; `""` = class-side call.
    #[serde(deserialize_with = "nullable_string")]
    pub instance: String,
    /// Bash-normalized selector.
    #[serde(deserialize_with = "nullable_string")]
    pub selector: String,
    /// Arguments, each a string.
    #[serde(deserialize_with = "nullable_args")]
    pub args: Vec<String>,
    /// Bash session id (sticky when non-empty).
    #[serde(deserialize_with = "nullable_string")]
    pub session_id: String,
    /// Block operation (`register`, `invoke`, `serialize`); non-empty = block request.
    #[serde(deserialize_with = "nullable_string")]
    pub block_op: String,
    /// Block id (`invoke`, `serialize`).
    #[serde(deserialize_with = "nullable_string")]
    pub block_id: String,
    /// `register`: hex chunk; `invoke`: JSON array of argument strings, encoded in a string.
    #[serde(deserialize_with = "nullable_string")]
    pub block_data: String,
    /// `register`: capture values as a JSON array encoded in a string.
    #[serde(deserialize_with = "nullable_string")]
    pub block_captures: String,
    /// Extension: id of the receiver of a native-table instance call (§8.3).
    #[serde(deserialize_with = "nullable_string")]
    pub instance_id: String,
}

impl Request {
    /// True for requests that need no runtime state: `class` `""` and no `block_op` (§5).
    /// They are answered 200 at once, even while another request executes.
    pub fn is_stateless(&self) -> bool {
        self.class.is_empty() && self.block_op.is_empty()
    }

    /// A short description for diagnostics.
    pub fn describe(&self) -> String {
        if !self.block_op.is_empty() {
            format!("block {} {}", self.block_op, self.block_id)
        } else if self.instance.is_empty() {
            format!("{} class>>{}", self.class, self.selector)
        } else {
            format!("{}>>{}", self.class, self.selector)
        }
    }
}

/// Why a request line was refused before execution.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Not a JSON object, or a field of the wrong type.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
}

/// Parses one request line (without its newline).
pub fn parse_request(line: &[u8]) -> Result<Request, ParseError> {
    let text = std::str::from_utf8(line).map_err(|e| ParseError::InvalidJson(e.to_string()))?;
    // serde would accept a JSON array for a struct (fields by position); the spec wants an object.
    match text.trim_start().as_bytes().first() {
        Some(b'{') => {}
        Some(_) => {
            return Err(ParseError::InvalidJson(
                "request is not a JSON object".into(),
            ));
        }
        None => return Err(ParseError::InvalidJson("empty request".into())),
    }
    serde_json::from_str(text).map_err(|e| ParseError::InvalidJson(e.to_string()))
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// One response (docs/spec/daemon-protocol.md §8), fields in the recommended order.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Response {
    /// New receiver state JSON (instance messages).
    #[serde(skip_serializing_if = "is_empty")]
    pub instance: String,
    /// Result text, when non-empty.
    #[serde(skip_serializing_if = "is_empty")]
    pub result: String,
    /// `0`, `1` or `200`; always present.
    pub exit_code: i32,
    /// Error message (exit code 1).
    #[serde(skip_serializing_if = "is_empty")]
    pub error: String,
    /// `"native"` on exit 0 of a message or invoke, `"fallback"` on every 200.
    #[serde(skip_serializing_if = "is_empty")]
    pub execution_mode: String,
    /// Block id (`register`, `serialize`).
    #[serde(skip_serializing_if = "is_empty")]
    pub block_id: String,
    /// Lower-case hex chunk (`serialize`).
    #[serde(skip_serializing_if = "is_empty")]
    pub block_data: String,
}

impl Response {
    /// `{"exit_code":200,"execution_mode":"fallback"}`.
    pub fn fallback() -> Response {
        Response {
            exit_code: EXIT_FALLBACK,
            execution_mode: "fallback".into(),
            ..Response::default()
        }
    }

    /// `{"exit_code":1,"error":<message>}`.
    pub fn error(message: impl Into<String>) -> Response {
        let mut error = message.into();
        if error.is_empty() {
            error = "error".into();
        }
        Response {
            exit_code: EXIT_ERROR,
            error,
            ..Response::default()
        }
    }

    /// A native success with a result text (message sends and invoke).
    pub fn native(result: impl Into<String>) -> Response {
        Response {
            result: result.into(),
            exit_code: EXIT_OK,
            execution_mode: "native".into(),
            ..Response::default()
        }
    }

    /// The response of a parse failure.
    pub fn from_parse_error(e: &ParseError) -> Response {
        Response::error(e.to_string())
    }

    /// `{"exit_code":1,"error":"request too large"}`.
    pub fn too_large() -> Response {
        Response::error("request too large")
    }

    /// The response as one line of compact JSON, with the trailing newline.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing plain strings and an integer cannot fail.
        let mut out = serde_json::to_vec(self)
            .unwrap_or_else(|_| br#"{"exit_code":1,"error":"internal error"}"#.to_vec());
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ping_and_ignores_unknown_fields() {
        let r = parse_request(br#"{"class":"","selector":"ping","args":[],"whatever":1}"#).unwrap();
        assert!(r.is_stateless());
        assert_eq!(r.selector, "ping");
    }

    #[test]
    fn wrong_types_are_invalid_json() {
        for line in [
            &br#"{"class":"Counter","selector":"getValue","args":[5]}"#[..],
            b"this is not json",
            b"[\"a\"]",
            b"{\"class\":1}",
            b"{} x",
        ] {
            let e = parse_request(line).unwrap_err();
            assert!(e.to_string().starts_with("invalid JSON: "), "{e}");
        }
    }

    #[test]
    fn responses_keep_the_table_order_and_omit_empty_fields() {
        let r = Response {
            result: "42".into(),
            ..Response::native("")
        };
        assert_eq!(
            r.to_line(),
            b"{\"result\":\"42\",\"exit_code\":0,\"execution_mode\":\"native\"}\n"
        );
        assert_eq!(
            Response::fallback().to_line(),
            b"{\"exit_code\":200,\"execution_mode\":\"fallback\"}\n"
        );
        let r = Response {
            instance: "{\"a\":\"x\\ny\"}".into(),
            ..Response::native("1")
        };
        let line = r.to_line();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}
