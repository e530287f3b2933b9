//! Validation of `POST /v1/images/generate` bodies. Every rejection names the
//! field at fault, because the contract promises that and because a client
//! developer fixing a 400 needs nothing else.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::{AspectRatio, Mode};
use crate::netguard::{self, UrlPolicy};

pub const MAX_PROMPT_CHARS: usize = 8_000;
/// Any valid body fits, however its JSON is escaped: 8,000 prompt
/// characters written as `\u` surrogate pairs are 96 KB (contract 1.1);
/// anything larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
const FIELDS: [&str; 6] = [
    "prompt",
    "mode",
    "inputImageUrl",
    "aspectRatio",
    "webhookUrl",
    "deadlineSeconds",
];
/// `deadlineSeconds`: at least 10 s, at most a day (contract 1.1).
pub const DEADLINE_SECONDS: std::ops::RangeInclusive<u32> = 10..=86_400;

/// A submit request that passed validation, with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmitRequest {
    pub prompt: String,
    pub mode: Mode,
    pub input_image_url: Option<String>,
    pub aspect_ratio: AspectRatio,
    /// Where this job's webhook goes instead of the tenant's URL (1.1).
    pub webhook_url: Option<String>,
    /// No attempt starts later than this many seconds after the submit (1.1).
    pub deadline_seconds: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

fn invalid(msg: impl Into<String>) -> ValidationError {
    ValidationError(msg.into())
}

impl SubmitRequest {
    /// Parses and validates a raw body. `url_policy` says whether plain
    /// `http` and loopback hosts are acceptable (local stack only).
    pub fn from_body(body: &[u8], url_policy: UrlPolicy) -> Result<Self, ValidationError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid(format!(
                "Request body is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(invalid(
                "Request body is required: a JSON object with a `prompt`",
            ));
        }
        let fields = serde_json::from_slice::<Fields>(body)
            .map_err(|e| {
                if e.is_data() {
                    invalid("Request body must be a JSON object")
                } else {
                    invalid(format!(
                        "Request body is not valid JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ))
                }
            })?
            .0;

        let mut prompt = None;
        let mut mode = None;
        let mut input_image_url = None;
        let mut aspect_ratio = None;
        let mut webhook_url = None;
        let mut deadline_seconds = None;
        for (name, value) in fields {
            let slot = match name.as_str() {
                "prompt" => &mut prompt,
                "mode" => &mut mode,
                "inputImageUrl" => &mut input_image_url,
                "aspectRatio" => &mut aspect_ratio,
                "webhookUrl" => &mut webhook_url,
                "deadlineSeconds" => &mut deadline_seconds,
                _ => {
                    return Err(invalid(format!(
                        "Unknown field `{}`; allowed fields are {}",
                        printable(&name),
                        FIELDS.map(|f| format!("`{f}`")).join(", ")
                    )));
                }
            };
            if slot.replace(value).is_some() {
                return Err(invalid(format!("Field `{name}` appears more than once")));
            }
        }

        let prompt = match prompt {
            None => return Err(invalid("Field `prompt` is required")),
            Some(v) => validate_prompt(v)?,
        };
        let mode = match optional_string("mode", mode)? {
            None => Mode::Final,
            Some(s) => Mode::parse(&s).ok_or_else(|| {
                invalid(format!(
                    "Field `mode` must be `draft` or `final`, not `{}`",
                    printable(&s)
                ))
            })?,
        };
        let aspect_ratio = match optional_string("aspectRatio", aspect_ratio)? {
            None => AspectRatio::DEFAULT,
            Some(s) => AspectRatio::parse(&s).ok_or_else(|| {
                invalid(format!(
                    "Field `aspectRatio` must be one of {}, not `{}`",
                    AspectRatio::ALLOWED.join(", "),
                    printable(&s)
                ))
            })?,
        };
        let input_image_url = optional_url("inputImageUrl", input_image_url, url_policy)?;
        let webhook_url = optional_url("webhookUrl", webhook_url, url_policy)?;
        let deadline_seconds = deadline(deadline_seconds)?;
        Ok(SubmitRequest {
            prompt,
            mode,
            input_image_url,
            aspect_ratio,
            webhook_url,
            deadline_seconds,
        })
    }

    /// A fingerprint of the request's meaning, not of its bytes: the same
    /// fields in another order, other whitespace or with defaults spelled out
    /// are the same request for idempotency.
    pub fn fingerprint(&self) -> String {
        let mut canonical = vec![
            Value::from(self.prompt.as_str()),
            Value::from(self.mode.as_str()),
            self.input_image_url
                .as_deref()
                .map_or(Value::Null, Value::from),
            Value::from(self.aspect_ratio.as_str()),
        ];
        // 1.1 fields join only when given, so every 1.0 request keeps the
        // fingerprint its stored idempotency records were made with.
        if let Some(url) = &self.webhook_url {
            canonical.push(serde_json::json!({ "webhookUrl": url }));
        }
        if let Some(seconds) = self.deadline_seconds {
            canonical.push(serde_json::json!({ "deadlineSeconds": seconds }));
        }
        let canonical = Value::Array(canonical);
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Whether a character shows: not whitespace and not a default-ignorable
/// code point (Unicode's `Default_Ignorable_Code_Point`: zero-width
/// characters, joiners, bidi controls, variation selectors, the Hangul
/// fillers, U+FEFF, tags, …), which render as nothing.
fn is_visible(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        ))
}

/// `deadlineSeconds`: a whole number in range, written as JSON allows
/// (`600`, `600.0`, `6e2`: JSON Schema's `integer`), never a string or a
/// fraction; `null` is absent, as for every optional field.
fn deadline(value: Option<Value>) -> Result<Option<u32>, ValidationError> {
    let refused = || {
        invalid(format!(
            "Field `deadlineSeconds` must be an integer from {} to {}",
            DEADLINE_SECONDS.start(),
            DEADLINE_SECONDS.end()
        ))
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
                    .map(|f| f as u64)
            })
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| DEADLINE_SECONDS.contains(n))
            .map(Some)
            .ok_or_else(refused),
        Some(_) => Err(refused()),
    }
}

/// An optional URL field under the outbound policy (`inputImageUrl`, which
/// the worker fetches; `webhookUrl`, which the webhook sender posts to),
/// normalised as the guard parses it.
fn optional_url(
    name: &str,
    value: Option<Value>,
    url_policy: UrlPolicy,
) -> Result<Option<String>, ValidationError> {
    optional_string(name, value)?
        .map(|s| {
            netguard::check_url(&s, url_policy)
                .map(|u| u.to_string())
                .map_err(|e| invalid(format!("Field `{name}` {e}")))
        })
        .transpose()
}

fn validate_prompt(value: Value) -> Result<String, ValidationError> {
    let Value::String(prompt) = value else {
        return Err(invalid(format!(
            "Field `prompt` must be a string, not {}",
            type_name(&value)
        )));
    };
    if prompt.trim().is_empty() {
        return Err(invalid("Field `prompt` must not be empty"));
    }
    if !prompt.chars().any(is_visible) {
        return Err(invalid(
            "Field `prompt` must contain at least one visible character, not only whitespace or invisible ones (zero-width, U+FEFF, fillers)",
        ));
    }
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(invalid(format!(
            "Field `prompt` is {chars} characters long; the maximum is {MAX_PROMPT_CHARS}"
        )));
    }
    if let Some(c) = prompt
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(format!(
            "Field `prompt` contains the control character U+{:04X}",
            c as u32
        )));
    }
    Ok(prompt)
}

/// `null` counts as absent, so clients may send every key explicitly.
fn optional_string(field: &str, value: Option<Value>) -> Result<Option<String>, ValidationError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!(
            "Field `{field}` must be a string, not {}",
            type_name(&other)
        ))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Echoes user input into a message safely: short (64 characters), no
/// control characters, so an error message stays one line.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// A JSON object's members in order, duplicates kept, so that a body with a
/// key twice is refused instead of silently taking the last value.
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if fields.len() >= 16 {
                        return Err(serde::de::Error::custom("too many fields"));
                    }
                    fields.push((k, v));
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<SubmitRequest, String> {
        SubmitRequest::from_body(body.as_bytes(), UrlPolicy::Production).map_err(|e| e.0)
    }

    #[test]
    fn minimal_body_gets_defaults() {
        let r = parse(r#"{"prompt":"A cat"}"#).unwrap();
        assert_eq!(r.mode, Mode::Final);
        assert_eq!(r.aspect_ratio.as_str(), "1:1");
        assert_eq!(r.input_image_url, None);
    }

    #[test]
    fn every_field_is_read() {
        let r = parse(
            r#"{"prompt":"A cat","mode":"draft","aspectRatio":"16:9","inputImageUrl":"https://example.com/a.png"}"#,
        )
        .unwrap();
        assert_eq!(r.mode, Mode::Draft);
        assert_eq!(r.aspect_ratio.as_str(), "16:9");
        assert_eq!(
            r.input_image_url.as_deref(),
            Some("https://example.com/a.png")
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("{", "not valid JSON"),
            ("[1,2]", "must be a JSON object"),
            ("\"prompt\"", "must be a JSON object"),
            ("", "body is required"),
            ("{}", "`prompt` is required"),
            (r#"{"prompt":""}"#, "`prompt` must not be empty"),
            (r#"{"prompt":"   \n"}"#, "`prompt` must not be empty"),
            (
                r#"{"prompt":"\u200b\ufeff\u3164 \u2060\u034f"}"#,
                "`prompt` must contain at least one visible character",
            ),
            (
                r#"{"prompt":42}"#,
                "`prompt` must be a string, not a number",
            ),
            (r#"{"prompt":null}"#, "`prompt` must be a string, not null"),
            (
                r#"{"prompt":"a","mode":"fast"}"#,
                "`mode` must be `draft` or `final`",
            ),
            (r#"{"prompt":"a","mode":1}"#, "`mode` must be a string"),
            (
                r#"{"prompt":"a","aspectRatio":"7:5"}"#,
                "`aspectRatio` must be one of",
            ),
            (
                r#"{"prompt":"a","inputImageUrl":"ftp://x/y.png"}"#,
                "`inputImageUrl`",
            ),
            (
                r#"{"prompt":"a","inputImageUrl":"not a url"}"#,
                "`inputImageUrl`",
            ),
            (
                r#"{"prompt":"a","inputImageUrl":"http://example.com/a.png"}"#,
                "`inputImageUrl`",
            ),
            (
                r#"{"prompt":"a","inputImageUrl":"https://127.0.0.1/a.png"}"#,
                "`inputImageUrl`",
            ),
            (r#"{"prompt":"a","colour":"red"}"#, "Unknown field `colour`"),
            (
                r#"{"prompt":"a","prompt":"b"}"#,
                "`prompt` appears more than once",
            ),
            (r#"{"prompt":"a\u0000b"}"#, "control character U+0000"),
        ];
        for (body, expected) in cases {
            let err = parse(body).expect_err(body);
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn prompt_length_counts_characters_not_bytes() {
        let ok = "é".repeat(MAX_PROMPT_CHARS);
        assert!(parse(&serde_json::json!({ "prompt": ok }).to_string()).is_ok());
        let long = "a".repeat(MAX_PROMPT_CHARS + 1);
        let err = parse(&serde_json::json!({ "prompt": long }).to_string()).unwrap_err();
        assert!(err.contains("maximum is 8000"), "{err}");
    }

    #[test]
    fn oversized_and_invalid_utf8_bodies_are_refused() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(SubmitRequest::from_body(&big, UrlPolicy::Production).is_err());
        let bad = b"{\"prompt\":\"\xff\xfe\"}";
        let err = SubmitRequest::from_body(bad, UrlPolicy::Production).unwrap_err();
        assert!(err.0.contains("not valid JSON"), "{}", err.0);
    }

    #[test]
    fn the_longest_prompt_fits_however_it_is_escaped() {
        // 8,000 characters, each an astral one written as a `\u` surrogate
        // pair: 96 KB of JSON.
        let body = format!(
            r#"{{"prompt":"{}"}}"#,
            "\\ud83d\\ude00".repeat(MAX_PROMPT_CHARS)
        );
        assert!(body.len() > 96_000, "{}", body.len());
        let request = SubmitRequest::from_body(body.as_bytes(), UrlPolicy::Production).unwrap();
        assert_eq!(request.prompt.chars().count(), MAX_PROMPT_CHARS);
    }

    #[test]
    fn local_policy_allows_http_to_loopback() {
        let body = r#"{"prompt":"a","inputImageUrl":"http://127.0.0.1:9000/a.png"}"#;
        assert!(SubmitRequest::from_body(body.as_bytes(), UrlPolicy::Local).is_ok());
    }

    #[test]
    fn fingerprint_ignores_spelling_but_not_meaning() {
        let a = parse(r#"{"prompt":"A cat"}"#).unwrap();
        let b = parse(r#"{ "mode":"final",  "prompt":"A cat","aspectRatio":"1:1" }"#).unwrap();
        let c = parse(r#"{"prompt":"A cat","mode":"draft"}"#).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
