//! `--data` files: one iteration per row of a CSV file with a header or of a JSON array of
//! objects, each column an input. As with Newman, a UTF-8 byte-order mark is skipped and a CSV
//! row shorter than the header leaves the missing columns unset.

/// Reads `--data`: a CSV file with a header row, or a JSON array of objects; one iteration per
/// row, each column an input.
pub fn read_data(path: &std::path::Path) -> Result<Vec<Vec<(String, String)>>, String> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read `--data {name}`: {e}"))?;
    // Spreadsheet programs write a byte-order mark, which would otherwise start the first
    // column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows = if is_json {
        json_rows(text)
    } else {
        csv_rows(text)
    }
    .map_err(|e| format!("`--data {name}`: {e}"))?;
    if rows.is_empty() {
        return Err(format!("`--data {name}` has no rows"));
    }
    Ok(rows)
}

fn json_rows(text: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    let serde_json::Value::Array(items) = value else {
        return Err("expected a JSON array of objects, one per iteration".into());
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            serde_json::Value::Object(map) => Ok(map
                .into_iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k, text)
                })
                .collect()),
            _ => Err(format!("item {} is not an object", index + 1)),
        })
        .collect()
}

/// Parses CSV (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes).
fn csv_rows(text: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "a quoted field opened before line {line} is never closed"
        ));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let mut records = records.into_iter();
    let header = records.next().ok_or("the file is empty")?;
    records
        .enumerate()
        .map(|(index, values)| {
            // Newman sets only the columns a short row has; a longer row has values with no
            // name, which is a mistake.
            if values.len() > header.len() {
                return Err(format!(
                    "row {} has {} fields, the header has only {}",
                    index + 2,
                    values.len(),
                    header.len()
                ));
            }
            Ok(header.iter().cloned().zip(values).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_with_quotes_and_line_breaks() {
        let rows = csv_rows("user,note\nann,\"a, b\"\n\"bo\"\"b\",\"two\nlines\"\n").unwrap();
        assert_eq!(
            rows[0],
            vec![
                ("user".into(), "ann".into()),
                ("note".into(), "a, b".into())
            ]
        );
        assert_eq!(
            rows[1],
            vec![
                ("user".into(), "bo\"b".into()),
                ("note".into(), "two\nlines".into())
            ]
        );
    }

    #[test]
    fn a_short_row_leaves_its_missing_columns_unset_and_a_long_row_is_an_error() {
        let rows = csv_rows("a,b,c\n1,2,3\n4\n5,\n").unwrap();
        assert_eq!(rows[1], vec![("a".into(), "4".into())]);
        assert_eq!(
            rows[2],
            vec![("a".into(), "5".into()), ("b".into(), String::new())]
        );
        assert_eq!(
            csv_rows("a,b\n1,2\n1,2,3\n").unwrap_err(),
            "row 3 has 3 fields, the header has only 2"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_column_name() {
        let dir = std::env::temp_dir().join(format!("apiflow-data-bom-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("rows.csv");
        std::fs::write(&csv, "\u{feff}user,n\nann,1\n").unwrap();
        let json = dir.join("rows.json");
        std::fs::write(&json, "\u{feff}[{\"user\": \"bob\"}]").unwrap();
        let from_csv = read_data(&csv);
        let from_json = read_data(&json);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(from_csv.unwrap()[0][0], ("user".into(), "ann".into()));
        assert_eq!(from_json.unwrap()[0][0], ("user".into(), "bob".into()));
    }

    #[test]
    fn reads_json_rows() {
        let rows = json_rows(r#"[{"user": "ann", "n": 2}]"#).unwrap();
        assert_eq!(
            rows[0],
            vec![("user".into(), "ann".into()), ("n".into(), "2".into())]
        );
        assert!(json_rows("{}").is_err());
    }
}
