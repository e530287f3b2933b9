//! DynamoDB's published billing rules: the size of an item, and the read and
//! write units an operation on items of that size consumes. On-demand tables
//! bill read and write *request* units by exactly the rules provisioned
//! tables use for capacity units, so one set of rules serves both.
//!
//! The emulator's `ReturnConsumedCapacity` cannot be used instead: moto
//! reports nothing for transactions and ignores item sizes and indexes.
//!
//! Sources (AWS DynamoDB Developer Guide):
//! - item size: "DynamoDB item sizes and formats",
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>
//! - reads in 4 KB units (eventually consistent: half), writes in 1 KB units,
//!   a write billed on the larger of the item before and after:
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>
//! - transactions: two units per item instead of one,
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling>
//! - global secondary indexes: every table write that puts, changes or
//!   removes an index entry is also a write to that index (two when the
//!   index key changes: delete the old entry, put the new one),
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes>

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType};
use shared::store::schema::TableDefinition;

pub type Item = HashMap<String, AttributeValue>;

const READ_UNIT_BYTES: u64 = 4 * 1024;
const WRITE_UNIT_BYTES: u64 = 1024;

/// Read and write units (request units on an on-demand table).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

impl std::ops::Add for Units {
    type Output = Units;
    fn add(self, other: Units) -> Units {
        Units {
            read: self.read + other.read,
            write: self.write + other.write,
        }
    }
}

impl std::iter::Sum for Units {
    fn sum<I: Iterator<Item = Units>>(iter: I) -> Units {
        iter.fold(Units::default(), |a, b| a + b)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    Strong,
    /// Half the price of a strongly consistent read; the only kind a global
    /// secondary index serves.
    Eventual,
}

/// The sum over attributes of the name's UTF-8 length and the value's size.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// Strings and binaries: their byte length. Numbers: see `number_size`.
/// Booleans and nulls: 1 byte. Lists and maps: 3 bytes, plus each element's
/// size and 1 byte per element (a map element's name counts too). Sets: the
/// sum of their elements.
fn value_size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<u64>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| name.len() as u64 + value_size(v) + 1)
                .sum::<u64>()
        }
        // A type newer than this code: count it as the smallest value.
        _ => 1,
    }
}

/// "1 byte per two significant digits, plus 1 byte": sign, decimal point and
/// exponent do not count, leading and trailing zeros are trimmed.
fn number_size(n: &str) -> u64 {
    let mantissa = n.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.div_ceil(2) + 1
}

/// Reads are billed per started 4 KB (of one item, or of everything one
/// query page returns), one unit at least.
pub fn read_units(bytes: u64, consistency: Consistency) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    match consistency {
        Consistency::Strong => units,
        Consistency::Eventual => units / 2.0,
    }
}

/// Writes are billed per started 1 KB, one unit at least.
pub fn write_units(bytes: u64) -> f64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}

/// What the billing needs to know of a table: the key attributes of each
/// global secondary index. Every index must project all attributes, so an
/// index entry weighs what the item weighs.
#[derive(Clone, Debug)]
pub struct TableShape {
    pub key: Vec<String>,
    indexes: Vec<IndexShape>,
}

/// One global secondary index: its name and key attributes (partition key
/// first).
#[derive(Clone, Debug)]
struct IndexShape {
    name: String,
    key: Vec<String>,
}

/// What one table write costs, item by item: the table's own write and
/// each index partition it writes to (where the per-partition throughput
/// limits apply).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteCost {
    pub table: f64,
    pub indexes: Vec<IndexWrite>,
}

impl WriteCost {
    pub fn total(&self) -> f64 {
        self.table + self.indexes.iter().map(|i| i.units).sum::<f64>()
    }
}

/// Write units one table write costs in one partition of one index: a
/// moved entry is a delete in the old partition and a put in the new one,
/// two of these.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexWrite {
    pub index: String,
    /// The value of the index's partition key attribute.
    pub partition: String,
    pub units: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("index {0} does not project all attributes; its entry sizes are not modelled")]
    PartialProjection(String),
}

impl TableShape {
    pub fn of(table: &TableDefinition) -> Result<TableShape, ShapeError> {
        let names = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
            let mut keys: Vec<_> = schema.iter().collect();
            keys.sort_by_key(|k| *k.key_type() != KeyType::Hash);
            keys.iter()
                .map(|k| k.attribute_name().to_string())
                .collect()
        };
        let indexes = table
            .indexes
            .iter()
            .map(|index| {
                let all = index.projection().and_then(|p| p.projection_type())
                    == Some(&ProjectionType::All);
                if all {
                    Ok(IndexShape {
                        name: index.index_name().to_string(),
                        key: names(index.key_schema()),
                    })
                } else {
                    Err(ShapeError::PartialProjection(
                        index.index_name().to_string(),
                    ))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(TableShape {
            key: names(&table.key_schema),
            indexes,
        })
    }

    /// The primary key of an item (or of a request's full item).
    pub fn key_of(&self, item: &Item) -> Item {
        self.key
            .iter()
            .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
            .collect()
    }

    /// What writing one item costs, from the item before and after the write
    /// (`None`: absent). The table is billed on the larger of the two (a
    /// failed condition leaves them equal and still costs that); a
    /// transaction bills the table write twice. Index writes are billed once
    /// each (the doubling applies to the transaction's own items).
    pub fn write_cost(
        &self,
        before: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) -> f64 {
        self.write_detail(before, after, transactional).total()
    }

    /// `write_cost`, told item by item: the table's write and each index
    /// partition's.
    pub fn write_detail(
        &self,
        before: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) -> WriteCost {
        let size = |item: Option<&Item>| item.map_or(0, item_size);
        let table = write_units(size(before).max(size(after)));
        WriteCost {
            table: if transactional { 2.0 * table } else { table },
            indexes: self
                .indexes
                .iter()
                .flat_map(|index| index_writes(index, before, after))
                .collect(),
        }
    }
}

/// The index writes one table write causes, by the partition each lands in.
fn index_writes(
    index: &IndexShape,
    before: Option<&Item>,
    after: Option<&Item>,
) -> Vec<IndexWrite> {
    fn entry_key<'i>(index: &[String], item: Option<&'i Item>) -> Option<Vec<&'i AttributeValue>> {
        let item = item?;
        index.iter().map(|attr| item.get(attr)).collect()
    }
    let size = |item: Option<&Item>| item.map_or(0, item_size);
    let write = |key: &[&AttributeValue], units: f64| IndexWrite {
        index: index.name.clone(),
        partition: key.first().map_or_else(String::new, |v| match v {
            AttributeValue::S(s) => s.clone(),
            AttributeValue::N(n) => n.clone(),
            other => format!("{other:?}"),
        }),
        units,
    };
    match (entry_key(&index.key, before), entry_key(&index.key, after)) {
        (None, None) => Vec::new(),
        (None, Some(new)) => vec![write(&new, write_units(size(after)))],
        (Some(old), None) => vec![write(&old, write_units(size(before)))],
        (Some(old), Some(new)) if old != new => vec![
            write(&old, write_units(size(before))),
            write(&new, write_units(size(after))),
        ],
        (Some(_), Some(_)) if before == after => Vec::new(),
        (Some(_), Some(new)) => vec![write(&new, write_units(size(before).max(size(after))))],
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "unit counts are whole or half units, exact in an f64"
)]
mod tests {
    use super::*;
    use shared::domain::JobStatus;
    use shared::store::job_to_item;
    use shared::store::schema;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_string())
    }

    #[test]
    fn numbers_count_significant_digits_only() {
        assert_eq!(number_size("0"), 1);
        assert_eq!(number_size("7"), 2);
        assert_eq!(number_size("123"), 3);
        assert_eq!(number_size("-12.50"), 3);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("0.001"), 2);
        assert_eq!(number_size("1.5E+10"), 2);
        assert_eq!(number_size("1767225600"), 5);
    }

    #[test]
    fn item_size_follows_the_published_rules() {
        let item = Item::from([
            ("name".into(), s("héllo")),                           // 4 + 6
            ("n".into(), AttributeValue::N("42".into())),          // 1 + 2
            ("ok".into(), AttributeValue::Bool(true)),             // 2 + 1
            ("nil".into(), AttributeValue::Null(true)),            // 3 + 1
            ("l".into(), AttributeValue::L(vec![s("ab"), s("")])), // 1 + 3 + 3 + 1
            (
                "m".into(),
                AttributeValue::M(HashMap::from([("k".into(), s("v"))])), // 1 + 3 + 3
            ),
            (
                "ss".into(),
                AttributeValue::Ss(vec!["a".into(), "bc".into()]),
            ), // 2 + 3
        ]);
        assert_eq!(item_size(&item), 10 + 3 + 3 + 4 + 8 + 7 + 5);
    }

    #[test]
    fn reads_round_up_to_4_kb_and_eventual_reads_cost_half() {
        assert_eq!(read_units(0, Consistency::Strong), 1.0);
        assert_eq!(read_units(4096, Consistency::Strong), 1.0);
        assert_eq!(read_units(4097, Consistency::Strong), 2.0);
        assert_eq!(read_units(4097, Consistency::Eventual), 1.0);
        assert_eq!(read_units(100, Consistency::Eventual), 0.5);
    }

    #[test]
    fn writes_round_up_to_1_kb() {
        assert_eq!(write_units(0), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
    }

    fn job(status: JobStatus) -> Item {
        // Fixed: two jobs made a millisecond apart would differ in their
        // index sort keys, and a moved index entry costs a write more.
        let now = shared::time::parse_iso("2026-11-24T12:00:00.000Z").expect("a timestamp");
        job_to_item(&devstack::provision::test_job(
            "cmkuz35wf00034rk15ycgzvce",
            "ctenant",
            status,
            "A cat",
            now,
        ))
    }

    fn shape() -> TableShape {
        TableShape::of(&schema::table_definition()).expect("the table projects all attributes")
    }

    #[test]
    fn the_table_shape_comes_from_the_schema() {
        let shape = shape();
        assert_eq!(
            shape.key,
            vec![schema::PK.to_string(), schema::SK.to_string()]
        );
        assert_eq!(shape.indexes.len(), 2);
        assert_eq!(shape.key_of(&job(JobStatus::Queued)).len(), 2);
    }

    #[test]
    fn a_new_job_is_written_to_the_table_and_both_indexes() {
        let new = job(JobStatus::Queued);
        assert_eq!(shape().write_cost(None, Some(&new), false), 3.0);
        // In a transaction only the table write doubles.
        assert_eq!(shape().write_cost(None, Some(&new), true), 4.0);
    }

    #[test]
    fn a_status_change_moves_the_status_index_entry() {
        let (queued, running) = (job(JobStatus::Queued), job(JobStatus::Running));
        // Table 1, by-tenant index 1 (projected attributes changed),
        // by-status index 2 (its key changed: delete + put).
        assert_eq!(
            shape().write_cost(Some(&queued), Some(&running), false),
            4.0
        );
    }

    #[test]
    fn a_moved_entry_is_billed_in_both_status_partitions() {
        let (queued, running) = (job(JobStatus::Queued), job(JobStatus::Running));
        let detail = shape().write_detail(Some(&queued), Some(&running), true);
        assert_eq!(detail.table, 2.0);
        let partitions: Vec<(&str, &str)> = detail
            .indexes
            .iter()
            .map(|w| (w.index.as_str(), w.partition.as_str()))
            .collect();
        assert_eq!(
            partitions,
            vec![
                (schema::BY_TENANT, "TENANT#ctenant#test"),
                (
                    schema::BY_TENANT_STATUS,
                    "TENANT#ctenant#test#STATUS#QUEUED"
                ),
                (
                    schema::BY_TENANT_STATUS,
                    "TENANT#ctenant#test#STATUS#RUNNING"
                ),
            ]
        );
        assert_eq!(detail.total(), 5.0);
    }

    #[test]
    fn items_outside_the_indexes_cost_the_table_write_only() {
        let window = Item::from([
            (schema::PK.into(), s("TENANT#t")),
            (schema::SK.into(), s("RPM#29000000")),
            ("count".into(), AttributeValue::N("3".into())),
        ]);
        assert_eq!(shape().write_cost(Some(&window), Some(&window), true), 2.0);
        assert_eq!(shape().write_cost(None, Some(&window), false), 1.0);
    }

    #[test]
    fn a_write_is_billed_on_the_larger_image() {
        let small = Item::from([("a".into(), s("x"))]);
        let large = Item::from([("a".into(), s(&"x".repeat(1500)))]);
        assert_eq!(shape().write_cost(Some(&large), Some(&small), false), 2.0);
        assert_eq!(shape().write_cost(Some(&small), Some(&large), false), 2.0);
    }
}
