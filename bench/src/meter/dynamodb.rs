//! DynamoDB requests as they travel (JSON bodies, `X-Amz-Target` naming the
//! operation), read for billing: which items a request writes, what a read
//! returns, and the units the operation consumes.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::capacity::{Consistency, Item, TableShape, Units, WriteCost, item_size, read_units};

/// One item a write request touches: the table, its key, and whether the
/// write is part of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRef {
    pub table: String,
    pub key: Item,
    pub transactional: bool,
}

/// What one request cost on one item (or, for a query, on one partition):
/// the read units of what it returned, and the table and index writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemCost {
    /// The index a query read (`None`: the table).
    pub index: Option<String>,
    /// The item's partition key (a query's: its partition key condition).
    pub pk: String,
    /// The item's sort key; empty for a query.
    pub sk: String,
    pub read: f64,
    pub write: WriteCost,
}

/// An item a write touched, as it was before and after the request.
#[derive(Clone, Debug)]
pub struct Written {
    pub item: ItemRef,
    pub before: Option<Item>,
    pub after: Option<Item>,
}

/// The items a write operation touches; empty for reads and control-plane
/// calls.
pub fn written_items(operation: &str, request: &Value, shape: &TableShape) -> Vec<ItemRef> {
    let single = |transactional: bool, op: &Value| -> Option<ItemRef> {
        let table = op.get("TableName")?.as_str()?.to_string();
        let key = match op.get("Key") {
            Some(key) => item_from_wire(key)?,
            None => shape.key_of(&item_from_wire(op.get("Item")?)?),
        };
        Some(ItemRef {
            table,
            key,
            transactional,
        })
    };
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => single(false, request).into_iter().collect(),
        "TransactWriteItems" => request
            .get("TransactItems")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|entry| {
                        let (_, op) = entry.as_object()?.iter().next()?;
                        single(true, op)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The units one request consumed; `None` for an operation these rules do
/// not model (control-plane calls, batch operations, transactional reads).
pub fn units(
    operation: &str,
    request: &Value,
    response: &Value,
    written: &[Written],
    shape: &TableShape,
) -> Option<Units> {
    let consistency = || {
        let consistent = request.get("ConsistentRead").and_then(Value::as_bool) == Some(true);
        // An index serves eventually consistent reads only.
        if consistent && request.get("IndexName").is_none() {
            Consistency::Strong
        } else {
            Consistency::Eventual
        }
    };
    let read = |bytes: u64| Units {
        read: read_units(bytes, consistency()),
        write: 0.0,
    };
    match operation {
        "GetItem" => Some(read(
            response
                .get("Item")
                .and_then(item_from_wire)
                .map_or(0, |item| item_size(&item)),
        )),
        // All the items of one page, rounded up once.
        "Query" | "Scan" => Some(read(
            response
                .get("Items")
                .and_then(Value::as_array)
                .map_or(0, |items| {
                    items
                        .iter()
                        .filter_map(item_from_wire)
                        .map(|item| item_size(&item))
                        .sum()
                }),
        )),
        "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" => Some(Units {
            read: 0.0,
            write: written
                .iter()
                .map(|w| {
                    shape.write_cost(w.before.as_ref(), w.after.as_ref(), w.item.transactional)
                })
                .sum(),
        }),
        _ => None,
    }
}

/// The units of `units`, item by item: which item each read and write
/// landed on, and which index partitions each write reached. Empty for an
/// operation these rules do not model.
pub fn item_costs(
    operation: &str,
    request: &Value,
    response: &Value,
    written: &[Written],
    shape: &TableShape,
) -> Vec<ItemCost> {
    let key_string = |item: &Item, name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        Some(AttributeValue::N(n)) => n.clone(),
        _ => String::new(),
    };
    let (pk, sk) = (
        shape.key.first().cloned().unwrap_or_default(),
        shape.key.get(1).cloned().unwrap_or_default(),
    );
    match operation {
        "GetItem" | "Query" | "Scan" => {
            let Some(read) = units(operation, request, response, written, shape) else {
                return Vec::new();
            };
            let (item_pk, item_sk) = match request.get("Key").and_then(item_from_wire) {
                Some(key) => (key_string(&key, &pk), key_string(&key, &sk)),
                None => (query_partition(request).unwrap_or_default(), String::new()),
            };
            vec![ItemCost {
                index: request
                    .get("IndexName")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                pk: item_pk,
                sk: item_sk,
                read: read.read,
                write: WriteCost::default(),
            }]
        }
        "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" => written
            .iter()
            .map(|w| ItemCost {
                index: None,
                pk: key_string(&w.item.key, &pk),
                sk: key_string(&w.item.key, &sk),
                read: 0.0,
                write: shape.write_detail(
                    w.before.as_ref(),
                    w.after.as_ref(),
                    w.item.transactional,
                ),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The partition a query reads: the value its key condition's first
/// clause (`name = :value`, the partition key's) compares with.
fn query_partition(request: &Value) -> Option<String> {
    let condition = request.get("KeyConditionExpression")?.as_str()?;
    let first = condition.split(" AND ").next()?;
    let placeholder = first.split('=').nth(1)?.trim();
    request
        .get("ExpressionAttributeValues")?
        .get(placeholder)?
        .get("S")?
        .as_str()
        .map(str::to_string)
}

/// An item in DynamoDB's JSON (`{"name": {"S": "…"}}`) as the SDK's type.
pub fn item_from_wire(value: &Value) -> Option<Item> {
    value
        .as_object()?
        .iter()
        .map(|(name, v)| Some((name.clone(), attribute_from_wire(v)?)))
        .collect()
}

fn attribute_from_wire(value: &Value) -> Option<AttributeValue> {
    let (tag, inner) = value.as_object()?.iter().next()?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let binary =
        |v: &Value| -> Option<Blob> { Some(Blob::new(STANDARD.decode(v.as_str()?).ok()?)) };
    Some(match tag.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_string()),
        "N" => AttributeValue::N(inner.as_str()?.to_string()),
        "B" => AttributeValue::B(binary(inner)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        "BS" => AttributeValue::Bs(
            inner
                .as_array()?
                .iter()
                .map(binary)
                .collect::<Option<_>>()?,
        ),
        "L" => AttributeValue::L(
            inner
                .as_array()?
                .iter()
                .map(attribute_from_wire)
                .collect::<Option<_>>()?,
        ),
        "M" => AttributeValue::M(item_from_wire(inner)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::store::schema;

    fn shape() -> TableShape {
        TableShape::of(&schema::table_definition()).expect("all attributes projected")
    }

    #[test]
    fn wire_items_decode_every_type() {
        let item = item_from_wire(&json!({
            "s": {"S": "x"}, "n": {"N": "12"}, "b": {"B": "AAE="}, "t": {"BOOL": true},
            "z": {"NULL": true}, "l": {"L": [{"S": "a"}]}, "m": {"M": {"k": {"N": "1"}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]}, "bs": {"BS": ["AA=="]}
        }))
        .expect("a well-formed item");
        assert_eq!(item.len(), 10);
        assert_eq!(item["b"], AttributeValue::B(Blob::new(vec![0, 1])));
        assert_eq!(item_from_wire(&json!({"x": {"WHAT": 1}})), None);
    }

    #[test]
    fn a_transaction_names_every_item_it_writes() {
        let request = json!({"TransactItems": [
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "b"}}}},
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "c"}, "SK": {"S": "d"}, "x": {"S": "y"}}}}
        ]});
        let items = written_items("TransactWriteItems", &request, &shape());
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|i| i.transactional && i.table == "t"));
        // A put is located by the key attributes of its item.
        assert_eq!(items[1].key.len(), 2);
        assert!(written_items("GetItem", &json!({}), &shape()).is_empty());
    }

    #[test]
    fn reads_are_billed_on_what_they_return() {
        let big = "x".repeat(3000);
        let page = json!({"Items": [{"a": {"S": big}}, {"a": {"S": big}}]});
        let index_query = json!({"IndexName": "ByTenant", "ConsistentRead": true});
        // 6,002 bytes in one page: two 4 KB units, halved on an index.
        assert_eq!(
            units("Query", &index_query, &page, &[], &shape()).map(|u| u.read),
            Some(1.0)
        );
        let get = json!({"ConsistentRead": true});
        assert_eq!(
            units("GetItem", &get, &json!({}), &[], &shape()).map(|u| u.read),
            Some(1.0),
            "a miss still costs a unit"
        );
        assert_eq!(
            units("DescribeTable", &json!({}), &json!({}), &[], &shape()),
            None
        );
    }
}
