//! Scale on paper, for `bench-cost`: the metered units of one job's life
//! summed item by item and index partition by partition, against
//! DynamoDB's per-partition limits, and the settings of `template.yaml`
//! that bound the service as a whole.

use std::collections::BTreeMap;

use crate::meter::Call;
use crate::meter::items::{ItemClass, Sharing, classify, partition_class};

/// DynamoDB's throughput limit of one partition (and so of one item, which
/// is never split): write units and read units per second.
pub const PARTITION_WRITE_UNITS: f64 = 1_000.0;
pub const PARTITION_READ_UNITS: f64 = 3_000.0;

/// Where some of a job's units land: an item class, a base-table partition
/// key or an index partition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Item(ItemClass),
    /// A base-table partition key value, tenant written `<tid>`.
    TablePartition(String),
    /// An index and its partition key value, tenant written `<tid>`.
    IndexPartition {
        index: String,
        partition: String,
    },
}

impl Target {
    pub fn label(&self) -> String {
        match self {
            Target::Item(class) => class.label.clone(),
            Target::TablePartition(pk) => format!("base table partition `{pk}` (all its items)"),
            Target::IndexPartition { index, partition } => {
                format!("`{index}` partition `{partition}`")
            }
        }
    }

    /// Shared by a tenant's jobs (its limit bounds the tenant), or one job's own.
    pub fn shared(&self) -> bool {
        match self {
            Target::Item(class) => matches!(class.sharing, Sharing::Scope | Sharing::Tenant),
            Target::TablePartition(_) | Target::IndexPartition { .. } => true,
        }
    }
}

/// One step's units on one target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Load {
    pub read: f64,
    pub write: f64,
}

impl Load {
    /// Jobs a second this target takes before it throttles, and whether
    /// writes (rather than reads) are what stop it; `None`: it takes no
    /// units.
    pub fn ceiling(&self) -> Option<(f64, bool)> {
        let writes = (self.write > 0.0).then(|| PARTITION_WRITE_UNITS / self.write);
        let reads = (self.read > 0.0).then(|| PARTITION_READ_UNITS / self.read);
        match (writes, reads) {
            (Some(w), Some(r)) if r < w => Some((r, false)),
            (Some(w), _) => Some((w, true)),
            (None, Some(r)) => Some((r, false)),
            (None, None) => None,
        }
    }
}

/// Units by target and by step, in the order the steps ran.
#[derive(Debug, Default)]
pub struct Attribution {
    pub steps: Vec<String>,
    /// Target → units of each step (same order as `steps`).
    pub by_target: BTreeMap<Target, Vec<Load>>,
}

impl Attribution {
    /// Attributes every metered DynamoDB unit of `steps` (a step's name and
    /// its calls, each step counted `times` per job).
    pub fn of(steps: &[(&str, &[Call], f64)]) -> Attribution {
        let mut out = Attribution {
            steps: steps
                .iter()
                .map(|(name, _, _)| (*name).to_string())
                .collect(),
            by_target: BTreeMap::new(),
        };
        let n = steps.len();
        for (i, (_, calls, times)) in steps.iter().enumerate() {
            for cost in calls.iter().flat_map(|c| &c.items) {
                let mut add = |target: Target, read: f64, write: f64| {
                    let loads = out
                        .by_target
                        .entry(target)
                        .or_insert_with(|| vec![Load::default(); n]);
                    loads[i].read += read * times;
                    loads[i].write += write * times;
                };
                match &cost.index {
                    // A query through an index reads that index's partition.
                    Some(index) => add(
                        Target::IndexPartition {
                            index: index.clone(),
                            partition: partition_class(&cost.pk),
                        },
                        cost.read,
                        0.0,
                    ),
                    None => {
                        if !cost.sk.is_empty() {
                            add(
                                Target::Item(classify(&cost.pk, &cost.sk)),
                                cost.read,
                                cost.write.table,
                            );
                        }
                        add(
                            Target::TablePartition(partition_class(&cost.pk)),
                            cost.read,
                            cost.write.table,
                        );
                    }
                }
                for write in &cost.write.indexes {
                    add(
                        Target::IndexPartition {
                            index: write.index.clone(),
                            partition: partition_class(&write.partition),
                        },
                        0.0,
                        write.units,
                    );
                }
            }
        }
        out
    }

    /// A target's units over the whole job.
    pub fn total(&self, target: &Target) -> Load {
        self.by_target
            .get(target)
            .map(|loads| Load {
                read: loads.iter().map(|l| l.read).sum(),
                write: loads.iter().map(|l| l.write).sum(),
            })
            .unwrap_or_default()
    }

    /// The write units of one step that landed on items whose class label
    /// contains `what`.
    pub fn step_writes_on(&self, step: &str, what: &str) -> f64 {
        let Some(i) = self.steps.iter().position(|s| s == step) else {
            return 0.0;
        };
        self.by_target
            .iter()
            .filter(|(t, _)| matches!(t, Target::Item(c) if c.label.contains(what)))
            .map(|(_, loads)| loads[i].write)
            .sum()
    }
}

/// The few settings of `template.yaml` the service's bounds depend on,
/// read from its text (the file is CloudFormation YAML with `!Ref` tags,
/// which a plain YAML reader refuses; the lines read here are simple).
pub struct Template {
    lines: Vec<String>,
}

impl Template {
    pub fn read() -> std::io::Result<Template> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        Ok(Template {
            lines: std::fs::read_to_string(path)?
                .lines()
                .map(str::to_string)
                .collect(),
        })
    }

    /// The lines of a block: `header` at `indent` spaces, up to the next
    /// line at that indent or less.
    fn block(&self, indent: usize, header: &str) -> &[String] {
        let prefix = format!("{}{header}:", " ".repeat(indent));
        let Some(start) = self.lines.iter().position(|l| l.trim_end() == prefix) else {
            return &[];
        };
        let rest = &self.lines[start + 1..];
        let end = rest
            .iter()
            .position(|l| {
                let depth = l.len() - l.trim_start().len();
                !l.trim().is_empty() && depth <= indent
            })
            .unwrap_or(rest.len());
        &rest[..end]
    }

    fn field<'l>(lines: &'l [String], name: &str) -> Option<&'l str> {
        let key = format!("{name}:");
        lines.iter().find_map(|l| {
            l.trim()
                .strip_prefix(&key)
                .map(|v| v.trim().trim_matches('"'))
        })
    }

    /// A parameter's `Default` (or another of its fields).
    pub fn parameter(&self, name: &str, field: &str) -> Option<String> {
        let params = self.block(0, "Parameters");
        let start = params
            .iter()
            .position(|l| l.trim_end() == format!("  {name}:"))?;
        let rest = &params[start + 1..];
        let end = rest
            .iter()
            .position(|l| l.starts_with("  ") && !l.starts_with("   "))
            .unwrap_or(rest.len());
        Template::field(&rest[..end], field).map(str::to_string)
    }

    /// A parameter's default as a number.
    pub fn parameter_number(&self, name: &str, field: &str) -> Option<f64> {
        self.parameter(name, field)?.parse().ok()
    }

    /// A resource's field (the first line of that name in its block), with
    /// a `!Ref` to a parameter resolved to the parameter's default, and an
    /// `!If [cond, !Ref P, …]` to P's.
    pub fn resource_field(&self, resource: &str, name: &str) -> Option<String> {
        let value = self.resource_value(resource, name)?;
        Some(match Template::referenced(&value) {
            Some(p) => self.parameter(p, "Default")?,
            None => value,
        })
    }

    /// The parameter a resource's field refers to, by name.
    pub fn resource_parameter(&self, resource: &str, name: &str) -> Option<String> {
        let value = self.resource_value(resource, name)?;
        Template::referenced(&value).map(str::to_string)
    }

    /// A resource's field as written (the first line of that name in its
    /// block).
    fn resource_value(&self, resource: &str, name: &str) -> Option<String> {
        let resources = self.block(0, "Resources");
        let start = resources
            .iter()
            .position(|l| l.trim_end() == format!("  {resource}:"))?;
        let rest = &resources[start + 1..];
        let end = rest
            .iter()
            .position(|l| {
                l.starts_with("  ") && !l.starts_with("   ") && !l.trim().starts_with('#')
            })
            .unwrap_or(rest.len());
        Template::field(&rest[..end], name).map(str::to_string)
    }

    /// The parameter a value's `!Ref` names, if it has one.
    fn referenced(value: &str) -> Option<&str> {
        value
            .split("!Ref ")
            .nth(1)
            .map(|p| p.split([',', ']', ' ']).next().unwrap_or_default())
    }

    /// Whether the table declares local secondary indexes (which keep an
    /// item collection on one partition: no split by sort key).
    pub fn has_local_secondary_indexes(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.trim_start().starts_with("LocalSecondaryIndexes:"))
    }

    /// The table's global secondary index names.
    pub fn global_secondary_indexes(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.trim().strip_prefix("- IndexName:"))
            .map(|n| n.trim().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_settings_are_found() {
        let t = Template::read().expect("template.yaml next to the bench crate");
        assert!(
            t.parameter_number("WorkerMaxConcurrency", "Default")
                .is_some()
        );
        assert!(t.resource_field("WorkerFunction", "BatchSize").is_some());
        assert!(
            t.resource_field("WorkerFunction", "MaximumConcurrency")
                .is_some()
        );
        assert_eq!(
            t.resource_parameter("WorkerFunction", "MaximumConcurrency")
                .as_deref(),
            Some("WorkerMaxConcurrency")
        );
        assert_eq!(t.global_secondary_indexes().len(), 2);
    }

    #[test]
    fn a_ceiling_is_set_by_the_scarcer_of_reads_and_writes() {
        let write_bound = Load {
            read: 1.0,
            write: 4.0,
        };
        assert_eq!(write_bound.ceiling(), Some((250.0, true)));
        let read_bound = Load {
            read: 1.0,
            write: 0.0,
        };
        assert_eq!(read_bound.ceiling(), Some((3_000.0, false)));
        assert_eq!(Load::default().ceiling(), None);
    }
}
