//! What a command prints: the same result as a human-readable text and as
//! JSON, so `--json` never shows less (or more) than the table does.

use serde_json::Value;

pub struct Output {
    pub human: String,
    pub json: Value,
    /// The command worked but found something an operator must act on
    /// (an audit's unrepaired drift): the process exits 3, so a scheduled
    /// audit can alert on the exit code alone.
    pub needs_attention: bool,
}

impl Output {
    pub fn new(human: String, json: Value) -> Output {
        Output {
            human,
            json,
            needs_attention: false,
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json);
        } else {
            print!("{}", self.human);
        }
    }
}

/// Prints a failure as one line on stderr (as `{"error": …}` with --json).
pub fn print_error(message: &str, json: bool) {
    // Messages from AWS can span lines; a failure is one line.
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if json {
        eprintln!("{}", serde_json::json!({ "error": line }));
    } else {
        eprintln!("error: {line}");
    }
}

/// Columns padded to their widest cell, headers first; control characters
/// in stored text are shown as `?` so a row stays a row.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let header: Vec<String> = headers.iter().map(|h| clean(h)).collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &body {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(body.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()) + 2,
            ));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `label  value` lines, labels aligned: one record.
pub fn record(fields: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|(k, v)| vec![format!("{k}:"), v.clone()])
        .collect();
    // `table` without its header line.
    table(&["", ""], &rows)
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["ID", "NAME"],
            &[
                vec!["a".into(), "Ünïcode".into()],
                vec!["bbbb".into(), "x\ny".into()],
            ],
        );
        assert_eq!(t, "ID    NAME\na     Ünïcode\nbbbb  x?y\n");
    }

    #[test]
    fn records_align_labels() {
        let r = record(&[("id", "1".into()), ("long label", "2".into())]);
        assert_eq!(r, "id:          1\nlong label:  2\n");
    }
}
