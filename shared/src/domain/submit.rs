//! Validation of `POST /v1/images/generate` bodies. Every rejection names the
//! field at fault, because the contract promises that and because a client
//! developer fixing a 400 needs nothing else.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use sha2::{Digest, Sha256};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::options::{
    DATA_URL_TYPES, MAX_DATA_URL_BYTES, MAX_INPUT_IMAGES, MAX_TOTAL_INPUT_BYTES, NUMBER_OF_IMAGES,
    OUTPUT_QUALITY,
};
use crate::domain::{AspectRatio, GenerationOptions, ImageSize, Mode, OutputFormat};
use crate::netguard::{self, UrlPolicy};

pub const MAX_PROMPT_CHARS: usize = 8_000;
/// Any valid body fits, however its JSON is escaped: 8,000 prompt
/// characters written as `\u` surrogate pairs are 96 KB (contract 1.1);
/// anything larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A body that carries `data:` input images may be this large (5 MB).
pub const MAX_BODY_BYTES_WITH_DATA_URLS: usize = 5_000_000;
const FIELDS: [&str; 11] = [
    "prompt",
    "mode",
    "inputImageUrl",
    "inputImageUrls",
    "aspectRatio",
    "imageSize",
    "numberOfImages",
    "outputFormat",
    "outputQuality",
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
    /// The input images, in order: `inputImageUrl`'s one, or `inputImageUrls`.
    pub inputs: Vec<InputImage>,
    /// Whether they came as `inputImageUrls` (the list), which the list
    /// item's 1.0 `inputImageUrl` does not echo.
    pub inputs_listed: bool,
    pub aspect_ratio: AspectRatio,
    /// `imageSize`, `numberOfImages`, `outputFormat`, `outputQuality` (1.1).
    pub options: GenerationOptions,
    /// Where this job's webhook goes instead of the tenant's URL (1.1).
    pub webhook_url: Option<String>,
    /// No attempt starts later than this many seconds after the submit (1.1).
    pub deadline_seconds: Option<u32>,
}

/// One input image of a submit: a URL the worker fetches, or the decoded
/// bytes of a `data:` URL, which generate stores before the job exists.
#[derive(Clone, PartialEq, Eq)]
pub enum InputImage {
    Url(String),
    Data {
        media_type: &'static str,
        bytes: Vec<u8>,
    },
}

impl std::fmt::Debug for InputImage {
    /// Never the bytes: a request may be logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputImage::Url(url) => write!(f, "Url({url})"),
            InputImage::Data { media_type, bytes } => {
                write!(f, "Data({media_type}, {} bytes)", bytes.len())
            }
        }
    }
}

impl InputImage {
    /// What the fingerprint hashes: the URL, or the data URL's type and
    /// the SHA-256 of its bytes (the same image however it was encoded).
    fn canonical(&self) -> Value {
        match self {
            InputImage::Url(url) => Value::from(url.as_str()),
            InputImage::Data { media_type, bytes } => {
                let digest = Sha256::digest(bytes);
                Value::from(format!(
                    "data:{media_type};sha256,{}",
                    digest
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                ))
            }
        }
    }
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
        if body.len() > MAX_BODY_BYTES_WITH_DATA_URLS {
            return Err(invalid(format!(
                "Request body is larger than {MAX_BODY_BYTES_WITH_DATA_URLS} bytes"
            )));
        }
        // Only a body that carries a data: image may pass 256 KiB: one
        // without the bytes `data:` anywhere is refused unparsed.
        if body.len() > MAX_BODY_BYTES && !body.windows(5).any(|w| w.eq_ignore_ascii_case(b"data:"))
        {
            return Err(too_large_without_data_urls());
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
        let mut input_image_urls = None;
        let mut aspect_ratio = None;
        let mut image_size = None;
        let mut number_of_images = None;
        let mut output_format = None;
        let mut output_quality = None;
        let mut webhook_url = None;
        let mut deadline_seconds = None;
        for (name, value) in fields {
            let slot = match name.as_str() {
                "prompt" => &mut prompt,
                "mode" => &mut mode,
                "inputImageUrl" => &mut input_image_url,
                "inputImageUrls" => &mut input_image_urls,
                "aspectRatio" => &mut aspect_ratio,
                "imageSize" => &mut image_size,
                "numberOfImages" => &mut number_of_images,
                "outputFormat" => &mut output_format,
                "outputQuality" => &mut output_quality,
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

        if body.len() > MAX_BODY_BYTES
            && !carries_data_url(input_image_url.as_ref(), input_image_urls.as_ref())
        {
            return Err(too_large_without_data_urls());
        }
        let prompt = match prompt {
            None => return Err(invalid("Field `prompt` is required")),
            Some(v) => validate_prompt(v)?,
        };
        let mode = one_of("mode", mode, Mode::parse, "`draft` or `final`")?.unwrap_or(Mode::Final);
        let aspect_ratio = one_of(
            "aspectRatio",
            aspect_ratio,
            AspectRatio::parse,
            &format!("one of {}", AspectRatio::ALLOWED.join(", ")),
        )?
        .unwrap_or(AspectRatio::DEFAULT);
        let (inputs, inputs_listed) = inputs(input_image_url, input_image_urls, url_policy)?;
        let options =
            generation_options(image_size, number_of_images, output_format, output_quality)?;
        let webhook_url = optional_url("webhookUrl", webhook_url, url_policy)?;
        let deadline_seconds = deadline(deadline_seconds)?;
        Ok(SubmitRequest {
            prompt,
            mode,
            inputs,
            inputs_listed,
            aspect_ratio,
            options,
            webhook_url,
            deadline_seconds,
        })
    }

    /// A fingerprint of the request's meaning, not of its bytes: the same
    /// fields in another order, other whitespace or with defaults spelled out
    /// are the same request for idempotency.
    pub fn fingerprint(&self) -> String {
        let single = match (self.inputs_listed, self.inputs.first()) {
            (false, Some(input)) => input.canonical(),
            _ => Value::Null,
        };
        let mut canonical = vec![
            Value::from(self.prompt.as_str()),
            Value::from(self.mode.as_str()),
            single,
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
        // Options join only when they differ from the default, so a body
        // that spells a default out is the same request as one without it.
        if self.inputs_listed {
            let listed: Vec<Value> = self.inputs.iter().map(InputImage::canonical).collect();
            canonical.push(serde_json::json!({ "inputImageUrls": listed }));
        }
        let o = &self.options;
        let size = o.image_size_for(self.mode);
        if size != ImageSize::default_for(self.mode) {
            canonical.push(serde_json::json!({ "imageSize": size.as_str() }));
        }
        if o.number_of_images != 1 {
            canonical.push(serde_json::json!({ "numberOfImages": o.number_of_images }));
        }
        if o.output_format != OutputFormat::Png {
            canonical.push(serde_json::json!({
                "outputFormat": o.output_format.as_str(),
                "outputQuality": o.quality(),
            }));
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

fn too_large_without_data_urls() -> ValidationError {
    invalid(format!(
        "Request body is larger than {MAX_BODY_BYTES} bytes (only a body that carries data: input images may be up to {MAX_BODY_BYTES_WITH_DATA_URLS} bytes)"
    ))
}

/// Whether the input fields, as sent, hold a `data:` URL.
fn carries_data_url(single: Option<&Value>, listed: Option<&Value>) -> bool {
    let is_data = |v: &Value| {
        v.as_str()
            .and_then(|s| s.get(..5))
            .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
    };
    single.is_some_and(is_data)
        || listed
            .and_then(Value::as_array)
            .is_some_and(|entries| entries.iter().any(is_data))
}

/// `deadlineSeconds`: a whole number in range; see `whole_number`.
fn deadline(value: Option<Value>) -> Result<Option<u32>, ValidationError> {
    whole_number("deadlineSeconds", value, DEADLINE_SECONDS)
}

/// An optional integer field in `range`, written as JSON allows (`600`,
/// `600.0`, `6e2`: JSON Schema's `integer`), never a string or a
/// fraction; `null` is absent, as for every optional field.
fn whole_number(
    name: &str,
    value: Option<Value>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, ValidationError> {
    let refused = || {
        invalid(format!(
            "Field `{name}` must be an integer from {} to {}",
            range.start(),
            range.end()
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
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(refused),
        Some(_) => Err(refused()),
    }
}

/// `imageSize`, `numberOfImages`, `outputFormat`, `outputQuality`.
fn generation_options(
    image_size: Option<Value>,
    number_of_images: Option<Value>,
    output_format: Option<Value>,
    output_quality: Option<Value>,
) -> Result<GenerationOptions, ValidationError> {
    let image_size = one_of(
        "imageSize",
        image_size,
        ImageSize::parse,
        "`1K`, `2K` or `4K`",
    )?;
    let widen = |r: std::ops::RangeInclusive<u8>| u32::from(*r.start())..=u32::from(*r.end());
    let number_of_images =
        whole_number("numberOfImages", number_of_images, widen(NUMBER_OF_IMAGES))?
            .map_or(1, |n| n as u8);
    let output_format = one_of(
        "outputFormat",
        output_format,
        OutputFormat::parse,
        "`png`, `jpeg` or `webp`",
    )?
    .unwrap_or_default();
    let output_quality =
        whole_number("outputQuality", output_quality, widen(OUTPUT_QUALITY))?.map(|q| q as u8);
    if output_quality.is_some() && !output_format.is_lossy() {
        return Err(invalid(
            "Field `outputQuality` applies only to `outputFormat` `jpeg` or `webp`; png is lossless",
        ));
    }
    Ok(GenerationOptions {
        image_size,
        number_of_images,
        output_format,
        output_quality,
    })
}

/// `inputImageUrl` or `inputImageUrls` (never both), each entry a URL
/// under the outbound policy or a `data:` image; and whether the list was
/// the field used.
fn inputs(
    single: Option<Value>,
    listed: Option<Value>,
    url_policy: UrlPolicy,
) -> Result<(Vec<InputImage>, bool), ValidationError> {
    let listed = match listed {
        None | Some(Value::Null) => None,
        Some(Value::Array(entries)) => Some(entries),
        Some(other) => {
            return Err(invalid(format!(
                "Field `inputImageUrls` must be an array of strings, not {}",
                type_name(&other)
            )));
        }
    };
    let single = optional_string("inputImageUrl", single)?;
    let inputs = match (single, listed) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Fields `inputImageUrl` and `inputImageUrls` cannot both be given; put every input in `inputImageUrls`",
            ));
        }
        (Some(url), None) => {
            return Ok((vec![input_image("inputImageUrl", url, url_policy)?], false));
        }
        (None, None) => return Ok((Vec::new(), false)),
        (None, Some(entries)) => entries,
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUT_IMAGES {
        return Err(invalid(format!(
            "Field `inputImageUrls` must have 1 to {MAX_INPUT_IMAGES} entries, not {}",
            inputs.len()
        )));
    }
    let mut total = 0;
    let mut images = Vec::with_capacity(inputs.len());
    for (i, entry) in inputs.into_iter().enumerate() {
        let name = format!("inputImageUrls[{i}]");
        let Value::String(url) = entry else {
            return Err(invalid(format!(
                "Field `{name}` must be a string, not {}",
                type_name(&entry)
            )));
        };
        let image = input_image(&name, url, url_policy)?;
        if let InputImage::Data { bytes, .. } = &image {
            total += bytes.len();
        }
        images.push(image);
    }
    if total > MAX_TOTAL_INPUT_BYTES {
        return Err(invalid(format!(
            "Field `inputImageUrls` carries {total} bytes of data: images; all inputs of a job together may be at most {MAX_TOTAL_INPUT_BYTES} bytes"
        )));
    }
    Ok((images, true))
}

/// One input: a `data:` image (decoded here, so its size and type are
/// known at submit), or a URL under the outbound policy.
fn input_image(
    name: &str,
    value: String,
    url_policy: UrlPolicy,
) -> Result<InputImage, ValidationError> {
    if value
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
    {
        return data_url(name, &value);
    }
    netguard::check_url(&value, url_policy)
        .map(|u| InputImage::Url(u.to_string()))
        .map_err(|e| invalid(format!("Field `{name}` {e}")))
}

/// `data:image/png;base64,…`: one of the four image types, base64, at
/// most 3 MB decoded, and bytes that are the image type they claim.
fn data_url(name: &str, value: &str) -> Result<InputImage, ValidationError> {
    let malformed = || {
        invalid(format!(
            "Field `{name}` is not a valid data URL; expected `data:image/png;base64,…` (or image/jpeg, image/webp, image/gif)"
        ))
    };
    let (header, payload) = value[5..].split_once(',').ok_or_else(malformed)?;
    let media_type = header
        .strip_suffix(";base64")
        .ok_or_else(malformed)?
        .to_ascii_lowercase();
    let media_type = DATA_URL_TYPES
        .into_iter()
        .find(|t| *t == media_type)
        .ok_or_else(|| {
            invalid(format!(
                "Field `{name}` is a data URL of type `{}`; accepted are {}",
                printable(&media_type),
                DATA_URL_TYPES.join(", ")
            ))
        })?;
    // Refused before decoding: base64 is 4 characters per 3 bytes.
    if payload.len() / 4 * 3 > MAX_DATA_URL_BYTES + 2 {
        return Err(too_large_data_url(name, payload.len() / 4 * 3));
    }
    let bytes = STANDARD.decode(payload.as_bytes()).map_err(|_| {
        invalid(format!(
            "Field `{name}` is a data URL whose base64 does not decode"
        ))
    })?;
    if bytes.len() > MAX_DATA_URL_BYTES {
        return Err(too_large_data_url(name, bytes.len()));
    }
    let claimed = match media_type {
        "image/png" => image::ImageFormat::Png,
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/webp" => image::ImageFormat::WebP,
        _ => image::ImageFormat::Gif,
    };
    if image::guess_format(&bytes).ok() != Some(claimed) {
        return Err(invalid(format!(
            "Field `{name}` is a data URL whose bytes are not a {media_type} image"
        )));
    }
    Ok(InputImage::Data { media_type, bytes })
}

fn too_large_data_url(name: &str, bytes: usize) -> ValidationError {
    invalid(format!(
        "Field `{name}` is a data URL of {bytes} bytes; at most {MAX_DATA_URL_BYTES} bytes (decoded) are accepted"
    ))
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

/// An optional string field that must be one of a domain type's
/// spellings (`allowed` says which, for the message).
fn one_of<T>(
    field: &str,
    value: Option<Value>,
    parse: impl FnOnce(&str) -> Option<T>,
    allowed: &str,
) -> Result<Option<T>, ValidationError> {
    optional_string(field, value)?
        .map(|s| {
            parse(&s).ok_or_else(|| {
                invalid(format!(
                    "Field `{field}` must be {allowed}, not `{}`",
                    printable(&s)
                ))
            })
        })
        .transpose()
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
        assert!(r.inputs.is_empty());
        assert_eq!(r.options, GenerationOptions::default());
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
            r.inputs,
            [InputImage::Url("https://example.com/a.png".into())]
        );
        assert!(!r.inputs_listed);
    }

    fn png_data_url(bytes: usize) -> String {
        // A PNG signature, then filler: the submit checks the type, the
        // worker decodes.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(bytes.max(8), 0);
        format!("data:image/png;base64,{}", STANDARD.encode(png))
    }

    #[test]
    fn generation_options_are_read_with_their_defaults() {
        let r = parse(
            r#"{"prompt":"A cat","imageSize":"4K","numberOfImages":3,"outputFormat":"webp","outputQuality":40}"#,
        )
        .unwrap();
        assert_eq!(
            r.options,
            GenerationOptions {
                image_size: Some(ImageSize::K4),
                number_of_images: 3,
                output_format: OutputFormat::Webp,
                output_quality: Some(40),
            }
        );
        let r = parse(r#"{"prompt":"A cat","outputFormat":"jpeg"}"#).unwrap();
        assert_eq!(r.options.quality(), 90);
        assert_eq!(r.options.image_size_for(Mode::Final), ImageSize::K2);
    }

    #[test]
    fn input_image_lists_and_data_urls_are_read() {
        let one = png_data_url(100);
        let body = serde_json::json!({
            "prompt": "A cat",
            "inputImageUrls": ["https://example.com/a.png", one],
        });
        let r = parse(&body.to_string()).unwrap();
        assert!(r.inputs_listed);
        assert_eq!(
            r.inputs[0],
            InputImage::Url("https://example.com/a.png".into())
        );
        assert!(
            matches!(&r.inputs[1], InputImage::Data { media_type: "image/png", bytes } if bytes.len() == 100)
        );
        // A data URL in the 1.0 field too, and a 2 MB one fits the 5 MB body.
        let body = serde_json::json!({"prompt": "A cat", "inputImageUrl": png_data_url(2_000_000)});
        assert!(parse(&body.to_string()).is_ok());
    }

    #[test]
    fn generation_option_errors_name_the_field() {
        let fourteen: Vec<String> = (0..14)
            .map(|i| format!("https://example.com/{i}.png"))
            .collect();
        assert!(
            parse(&serde_json::json!({"prompt": "a", "inputImageUrls": fourteen}).to_string())
                .is_ok()
        );
        let fifteen: Vec<String> = (0..15)
            .map(|i| format!("https://example.com/{i}.png"))
            .collect();
        let huge = vec![Value::from(1); 10_000];
        let cases = [
            (
                serde_json::json!({"prompt": "a", "imageSize": "8K"}),
                "`imageSize` must be",
            ),
            (
                serde_json::json!({"prompt": "a", "imageSize": 1}),
                "`imageSize` must be a string",
            ),
            (
                serde_json::json!({"prompt": "a", "numberOfImages": 5}),
                "`numberOfImages` must be an integer from 1 to 4",
            ),
            (
                serde_json::json!({"prompt": "a", "numberOfImages": 0}),
                "`numberOfImages`",
            ),
            (
                serde_json::json!({"prompt": "a", "numberOfImages": 1.5}),
                "`numberOfImages`",
            ),
            (
                serde_json::json!({"prompt": "a", "numberOfImages": "2"}),
                "`numberOfImages`",
            ),
            (
                serde_json::json!({"prompt": "a", "outputFormat": "gif"}),
                "`outputFormat` must be",
            ),
            (
                serde_json::json!({"prompt": "a", "outputQuality": 50}),
                "`outputQuality` applies only",
            ),
            (
                serde_json::json!({"prompt": "a", "outputFormat": "png", "outputQuality": 50}),
                "`outputQuality` applies only",
            ),
            (
                serde_json::json!({"prompt": "a", "outputFormat": "jpeg", "outputQuality": 101}),
                "`outputQuality` must be an integer from 1 to 100",
            ),
            (
                serde_json::json!({"prompt": "a", "outputFormat": "jpeg", "outputQuality": 0}),
                "`outputQuality`",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": fifteen}),
                "`inputImageUrls` must have 1 to 14 entries, not 15",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": []}),
                "`inputImageUrls` must have 1 to 14",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": huge}),
                "`inputImageUrls` must have 1 to 14 entries, not 10000",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": "https://example.com/a.png"}),
                "`inputImageUrls` must be an array",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": [1]}),
                "`inputImageUrls[0]` must be a string, not a number",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": [["https://example.com/a.png"]]}),
                "`inputImageUrls[0]` must be a string, not an array",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": ["https://example.com/a.png", "ftp://x/y"]}),
                "`inputImageUrls[1]`",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrl": "https://example.com/a.png", "inputImageUrls": ["https://example.com/b.png"]}),
                "cannot both be given",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrl": "data:image/png;base64"}),
                "`inputImageUrl` is not a valid data URL",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrl": "data:image/png,abc"}),
                "`inputImageUrl` is not a valid data URL",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrl": "data:image/svg+xml;base64,PHN2Zz4="}),
                "of type `image/svg+xml`",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrl": "data:image/png;base64,!!!!"}),
                "base64 does not decode",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrl": "data:image/jpeg;base64,iVBORw0KGgo="}),
                "not a image/jpeg image",
            ),
            (
                serde_json::json!({"prompt": "a", "inputImageUrls": [png_data_url(3_100_000)]}),
                "`inputImageUrls[0]` is a data URL of",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(&body.to_string()).expect_err(expected);
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn body_limits_depend_on_data_urls() {
        // 300 KB of prompt-free padding without a data URL: over 256 KiB.
        let padded = format!(r#"{{"prompt":"a cat{}"}}"#, " ".repeat(300_000));
        let err = parse(&padded).unwrap_err();
        assert!(err.contains("larger than 262144 bytes"), "{err}");
        // A 6 MB body is refused whatever it carries.
        let six = serde_json::json!({"prompt": "a", "inputImageUrls": [png_data_url(2_000_000), png_data_url(2_000_000)]});
        let err = parse(&six.to_string()).unwrap_err();
        assert!(err.contains("larger than 5000000 bytes"), "{err}");
    }

    #[test]
    fn fingerprints_cover_every_option() {
        let base = parse(r#"{"prompt":"A cat"}"#).unwrap().fingerprint();
        let spelled =
            parse(r#"{"prompt":"A cat","imageSize":"2K","numberOfImages":1,"outputFormat":"png"}"#)
                .unwrap()
                .fingerprint();
        assert_eq!(base, spelled, "defaults spelled out are the same request");
        let jpeg90 = parse(r#"{"prompt":"A cat","outputFormat":"jpeg"}"#)
            .unwrap()
            .fingerprint();
        let jpeg90_spelled =
            parse(r#"{"prompt":"A cat","outputFormat":"jpeg","outputQuality":90}"#)
                .unwrap()
                .fingerprint();
        assert_eq!(jpeg90, jpeg90_spelled);
        let others = [
            r#"{"prompt":"A cat","imageSize":"4K"}"#,
            r#"{"prompt":"A cat","numberOfImages":2}"#,
            r#"{"prompt":"A cat","outputFormat":"webp"}"#,
            r#"{"prompt":"A cat","outputFormat":"jpeg","outputQuality":30}"#,
            r#"{"prompt":"A cat","inputImageUrls":["https://example.com/a.png"]}"#,
            r#"{"prompt":"A cat","inputImageUrls":["https://example.com/a.png","https://example.com/b.png"]}"#,
            r#"{"prompt":"A cat","inputImageUrls":["https://example.com/b.png","https://example.com/a.png"]}"#,
        ];
        let mut seen = vec![base, jpeg90];
        for body in others {
            let f = parse(body).unwrap().fingerprint();
            assert!(!seen.contains(&f), "{body}");
            seen.push(f);
        }
        let a = serde_json::json!({"prompt": "A cat", "inputImageUrl": png_data_url(10)});
        let b = serde_json::json!({"prompt": "A cat", "inputImageUrl": png_data_url(11)});
        assert_ne!(
            parse(&a.to_string()).unwrap().fingerprint(),
            parse(&b.to_string()).unwrap().fingerprint()
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
