//! Reading and writing item attributes: the typed accessors every item
//! module reads with, and the two value constructors it writes with. A
//! missing or wrongly typed attribute is an `ItemError` naming the item
//! (its keys) and the attribute, which the store reports as
//! `StoreError::Corrupt`, never as a failure of DynamoDB.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::schema;
use crate::time::{self, Timestamp};

/// A stored item that does not have the shape this code writes.
#[derive(Debug, thiserror::Error)]
#[error("item {item}, attribute `{attribute}`: {problem}")]
pub struct ItemError {
    /// `PK/SK` of the item, as far as it has them.
    pub item: String,
    pub attribute: String,
    pub problem: &'static str,
}

/// An item as DynamoDB returned it, with typed accessors.
#[derive(Clone, Debug, PartialEq)]
pub struct Item(pub HashMap<String, AttributeValue>);

impl From<HashMap<String, AttributeValue>> for Item {
    fn from(m: HashMap<String, AttributeValue>) -> Self {
        Item(m)
    }
}

impl Item {
    /// The error for `attribute` of this item.
    pub fn err(&self, attribute: &str, problem: &'static str) -> ItemError {
        let key = |name| match self.0.get(name) {
            Some(AttributeValue::S(v)) => v.as_str(),
            _ => "?",
        };
        ItemError {
            item: format!("{}/{}", key(schema::PK), key(schema::SK)),
            attribute: attribute.to_string(),
            problem,
        }
    }

    /// An attribute that holds one of a domain enum's spellings.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, ItemError> {
        parse(self.str(name)?).ok_or_else(|| self.err(name, "not one of the known values"))
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(name, "not a string")),
        }
    }

    pub fn str(&self, name: &str) -> Result<&str, ItemError> {
        self.opt_str(name)?.ok_or_else(|| self.err(name, "missing"))
    }

    pub fn opt_num<T: FromStr>(&self, name: &str) -> Result<Option<T>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(n)) => n
                .parse()
                .map(Some)
                .map_err(|_| self.err(name, "not a number of the expected kind")),
            Some(_) => Err(self.err(name, "not a number")),
        }
    }

    pub fn num<T: FromStr>(&self, name: &str) -> Result<T, ItemError> {
        self.opt_num(name)?.ok_or_else(|| self.err(name, "missing"))
    }

    pub fn bool(&self, name: &str) -> Result<bool, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(false),
            Some(AttributeValue::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err(name, "not a boolean")),
        }
    }

    pub fn str_list(&self, name: &str) -> Result<Vec<String>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s.clone()),
                    _ => Err(self.err(name, "list holds a non-string")),
                })
                .collect(),
            Some(_) => Err(self.err(name, "not a list")),
        }
    }

    /// A list of maps, each read as an item of its own (errors name the
    /// list's attribute).
    pub fn map_list(&self, name: &str) -> Result<Vec<Item>, ItemError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::M(m) => Ok(Item(m.clone())),
                    _ => Err(self.err(name, "list holds a non-map")),
                })
                .collect(),
            Some(_) => Err(self.err(name, "not a list")),
        }
    }

    pub fn time(&self, name: &str) -> Result<Timestamp, ItemError> {
        time::parse_iso(self.str(name)?).ok_or_else(|| self.err(name, "not an ISO-8601 time"))
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
