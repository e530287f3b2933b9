//! Reading and writing item attributes, and the job item format.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{AspectRatio, Job, JobError, JobStatus, KeyMode, Mode};
use crate::store::schema;
use crate::time::{self, Timestamp};

#[derive(Debug, thiserror::Error)]
#[error("attribute `{attribute}`: {problem}")]
pub struct ItemError {
    attribute: String,
    problem: &'static str,
}

/// An item as DynamoDB returned it, with typed accessors.
#[derive(Clone, Debug)]
pub struct Item(pub HashMap<String, AttributeValue>);

impl From<HashMap<String, AttributeValue>> for Item {
    fn from(m: HashMap<String, AttributeValue>) -> Self {
        Item(m)
    }
}

impl Item {
    pub(crate) fn err(attribute: &str, problem: &'static str) -> ItemError {
        ItemError {
            attribute: attribute.to_string(),
            problem,
        }
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(_) => Err(Self::err(name, "not a string")),
        }
    }

    pub fn str(&self, name: &str) -> Result<&str, ItemError> {
        self.opt_str(name)?
            .ok_or_else(|| Self::err(name, "missing"))
    }

    pub fn opt_num<T: FromStr>(&self, name: &str) -> Result<Option<T>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(n)) => n
                .parse()
                .map(Some)
                .map_err(|_| Self::err(name, "not a number of the expected kind")),
            Some(_) => Err(Self::err(name, "not a number")),
        }
    }

    pub fn num<T: FromStr>(&self, name: &str) -> Result<T, ItemError> {
        self.opt_num(name)?
            .ok_or_else(|| Self::err(name, "missing"))
    }

    pub fn bool(&self, name: &str) -> Result<bool, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(false),
            Some(AttributeValue::Bool(b)) => Ok(*b),
            Some(_) => Err(Self::err(name, "not a boolean")),
        }
    }

    pub fn str_list(&self, name: &str) -> Result<Vec<String>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s.clone()),
                    _ => Err(Self::err(name, "list holds a non-string")),
                })
                .collect(),
            Some(_) => Err(Self::err(name, "not a list")),
        }
    }

    pub fn time(&self, name: &str) -> Result<Timestamp, ItemError> {
        time::parse_iso(self.str(name)?).ok_or_else(|| Self::err(name, "not an ISO-8601 time"))
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The full item of a job, including both index keys.
pub fn job_to_item(job: &Job) -> HashMap<String, AttributeValue> {
    let created = time::iso_millis(&job.created_at);
    let scope_pk = schema::scope_pk(job.scope());
    let mut item = HashMap::from([
        (schema::PK.into(), s(&scope_pk)),
        (schema::SK.into(), s(schema::job_sk(&job.id))),
        ("type".into(), s("JOB")),
        ("jobId".into(), s(&job.id)),
        ("tenantId".into(), s(&job.tenant_id)),
        ("status".into(), s(job.status.as_str())),
        ("prompt".into(), s(&job.prompt)),
        ("mode".into(), s(job.mode.as_str())),
        ("aspectRatio".into(), s(job.aspect_ratio.as_str())),
        ("keyMode".into(), s(job.key_mode.as_str())),
        (
            "resultUrls".into(),
            AttributeValue::L(job.result_urls.iter().map(s).collect()),
        ),
        ("attempts".into(), n(job.attempts)),
        ("createdAt".into(), s(&created)),
        ("updatedAt".into(), s(time::iso_millis(&job.updated_at))),
        (schema::BY_TENANT_PK.into(), s(&scope_pk)),
        (
            schema::BY_TENANT_SK.into(),
            s(schema::created_sk(&created, &job.id)),
        ),
        (
            schema::BY_TENANT_STATUS_PK.into(),
            s(schema::status_pk(job.scope(), job.status)),
        ),
        (
            schema::BY_TENANT_STATUS_SK.into(),
            s(schema::created_sk(&created, &job.id)),
        ),
    ]);
    if let Some(url) = &job.input_image_url {
        item.insert("inputImageUrl".into(), s(url));
    }
    if let Some(err) = &job.error {
        item.insert("errorCode".into(), s(&err.code));
        item.insert("errorMessage".into(), s(&err.message));
    }
    item
}

pub fn job_from_item(item: &Item) -> Result<Job, ItemError> {
    let bad = |attr: &str, problem| Item::err(attr, problem);
    let status = item.str("status")?;
    let error = match item.opt_str("errorCode")? {
        None => None,
        Some(code) => Some(JobError {
            code: code.to_string(),
            message: item
                .opt_str("errorMessage")?
                .unwrap_or_default()
                .to_string(),
        }),
    };
    Ok(Job {
        id: item.str("jobId")?.to_string(),
        tenant_id: item.str("tenantId")?.to_string(),
        status: JobStatus::parse(status).ok_or_else(|| bad("status", "unknown status"))?,
        prompt: item.str("prompt")?.to_string(),
        mode: Mode::parse(item.str("mode")?).ok_or_else(|| bad("mode", "unknown mode"))?,
        input_image_url: item.opt_str("inputImageUrl")?.map(str::to_string),
        aspect_ratio: AspectRatio::parse(item.str("aspectRatio")?)
            .ok_or_else(|| bad("aspectRatio", "unknown ratio"))?,
        key_mode: KeyMode::parse(item.str("keyMode")?)
            .ok_or_else(|| bad("keyMode", "unknown key mode"))?,
        result_urls: item.str_list("resultUrls")?,
        error,
        attempts: item.opt_num("attempts")?.unwrap_or(0),
        created_at: item.time("createdAt")?,
        updated_at: item.time("updatedAt")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_item_round_trips() {
        let now = time::parse_iso("2026-01-26T09:36:16.288Z").unwrap();
        let job = Job {
            id: "cmkuz35wf00034rk15ycgzvce".into(),
            tenant_id: "t1".into(),
            status: JobStatus::Failed,
            prompt: "A cat".into(),
            mode: Mode::Draft,
            input_image_url: Some("https://example.com/a.png".into()),
            aspect_ratio: AspectRatio::parse("16:9").unwrap(),
            key_mode: KeyMode::Test,
            result_urls: vec!["https://cdn/x/0.png".into()],
            error: Some(JobError {
                code: "CONTENT_BLOCKED".into(),
                message: "blocked".into(),
            }),
            attempts: 2,
            created_at: now,
            updated_at: now,
        };
        let item = Item(job_to_item(&job));
        assert_eq!(job_from_item(&item).unwrap(), job);
        assert_eq!(
            item.str(schema::BY_TENANT_STATUS_PK).unwrap(),
            "TENANT#t1#test#STATUS#FAILED"
        );
        assert_eq!(
            item.str(schema::BY_TENANT_SK).unwrap(),
            "2026-01-26T09:36:16.288Z#cmkuz35wf00034rk15ycgzvce"
        );
    }
}
