//! The user's own data (SPEC §13, `data.kind = "csv"`): a CSV file with a header row and numeric
//! columns, one of which (`data.label_column`, default the last) is the target. Every error names
//! the file, the line and the column. Files are read once per (path, size, modification time)
//! and kept, so validating a preset and running it do not parse the file twice.

use crate::engine::dataset::Dataset;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// The largest data file read (bytes); larger files are refused with this limit.
pub const MAX_CSV_BYTES: u64 = 256 << 20;

type Key = (PathBuf, Option<String>, bool, u64, Option<SystemTime>);

/// Loads (or returns the kept copy of) a data file.
pub fn load(path: &Path, label_column: Option<&str>, pm1_labels: bool) -> Result<Arc<Dataset>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read the data file: {e}"))?;
    if meta.len() > MAX_CSV_BYTES {
        return Err(format!("{shown}: {} MB is larger than the {} MB limit for data files", meta.len() >> 20, MAX_CSV_BYTES >> 20));
    }
    static KEPT: OnceLock<Mutex<HashMap<Key, Arc<Dataset>>>> = OnceLock::new();
    let key: Key = (path.to_path_buf(), label_column.map(String::from), pm1_labels, meta.len(), meta.modified().ok());
    let kept = KEPT.get_or_init(Default::default);
    if let Some(data) = kept.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(data.clone());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: cannot read the data file: {e}"))?;
    let data = Arc::new(parse(&bytes, &shown.to_string(), label_column, pm1_labels)?);
    let mut map = kept.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > 16 {
        map.clear();
    }
    map.insert(key, data.clone());
    Ok(data)
}

/// Parses CSV bytes; `file` names the source in errors; `pm1_labels` requires labels ±1 (the
/// logistic and exponential losses need them).
pub fn parse(bytes: &[u8], file: &str, label_column: Option<&str>, pm1_labels: bool) -> Result<Dataset, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        format!("{file}: line {line}: not UTF-8 text")
    })?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).filter(|(_, l)| !l.trim().is_empty());
    let (_, header_line) = lines.next().ok_or_else(|| format!("{file}: the file is empty; expected a header row (x1,…,xd,y) and data rows"))?;
    let header: Vec<&str> = header_line.split(',').map(|h| h.trim().trim_matches('"')).collect();
    if header.len() < 2 {
        return Err(format!("{file}: line 1: the header has {} column; need at least one input column and the label", header.len()));
    }
    if let Some(h) = header.iter().position(|h| h.is_empty()) {
        return Err(format!("{file}: line 1, column {}: empty column name", h + 1));
    }
    let label = match label_column {
        Some(name) => header.iter().position(|h| *h == name).ok_or_else(|| format!("{file}: line 1: no column named `{name}` (data.label_column); the columns are {}", header.join(", ")))?,
        None => header.len() - 1,
    };
    let d = header.len() - 1;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (number, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            return Err(format!("{file}: line {number}: {} cells, but the header has {} columns", cells.len(), header.len()));
        }
        for (j, cell) in cells.iter().enumerate() {
            let cell = cell.trim().trim_matches('"');
            let value: f64 = cell.parse().map_err(|_| format!("{file}: line {number}, column {} ({}): `{cell}` is not a number", j + 1, header[j]))?;
            if !value.is_finite() {
                return Err(format!("{file}: line {number}, column {} ({}): `{cell}` is not a finite number", j + 1, header[j]));
            }
            if j == label {
                if pm1_labels && value != 1.0 && value != -1.0 {
                    return Err(format!("{file}: line {number}, column {} ({}): label {cell} is not +1 or -1, which the logistic and exponential losses need", j + 1, header[j]));
                }
                y.push(value);
            } else {
                x.push(value);
            }
        }
    }
    if y.is_empty() {
        return Err(format!("{file}: no data rows after the header"));
    }
    Ok(Dataset { n: y.len(), d, x, y })
}
