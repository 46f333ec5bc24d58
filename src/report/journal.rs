//! Sweep journals and their merge: a sweep run with `--resume` or `--shard` appends each
//! finished cell to its CSV at once (one whole line per write, flushed), so a process killed at
//! any moment loses at most the cells in flight; on restart the cells already there are skipped
//! and a torn last line is dropped. `merge` checks that journals come from the same grid,
//! names missing and duplicated cells, and writes the plain sweep CSV in grid order, byte for
//! byte what a single-process sweep writes.
//!
//! Format: line 1 `# catapult-lab sweep journal v1 cells=N shard=K/N grid=<JSON>`, line 2 the
//! header `cell,` + the summary columns, then one row per finished cell in completion order.

use super::output::{SUMMARY_COLUMNS, summary_row};
use crate::engine::sim::Summary;
use crate::engine::sweep::Shard;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const MAGIC: &str = "# catapult-lab sweep journal v1";

/// What a journal's first line says: the grid, its size and the shard the file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalHeader {
    pub cells: usize,
    pub shard: Shard,
    /// The grid description (`SweepSpec::grid_json`), compact JSON.
    pub grid: String,
}

impl JournalHeader {
    fn line(&self) -> String {
        format!("{MAGIC} cells={} shard={}/{} grid={}\n", self.cells, self.shard.index, self.shard.count, self.grid)
    }

    fn parse(line: &str, file: &Path) -> Result<JournalHeader, String> {
        let bad = |what: &str| format!("{}: line 1: {what} (not a sweep journal written by `sweep --resume` or `--shard`)", file.display());
        let rest = line.strip_prefix(MAGIC).ok_or_else(|| bad("no journal header"))?;
        let rest = rest.trim_start();
        let (cells, rest) = rest.strip_prefix("cells=").and_then(|r| r.split_once(' ')).ok_or_else(|| bad("no cells="))?;
        let (shard, grid) = rest.strip_prefix("shard=").and_then(|r| r.split_once(' ')).ok_or_else(|| bad("no shard="))?;
        let grid = grid.strip_prefix("grid=").ok_or_else(|| bad("no grid="))?;
        Ok(JournalHeader {
            cells: cells.parse().map_err(|_| bad("cells= is not a number"))?,
            shard: Shard::parse(shard).map_err(|e| bad(&format!("shard={e}")))?,
            grid: grid.trim_end().to_string(),
        })
    }
}

fn header_row() -> String {
    format!("cell,{}\n", SUMMARY_COLUMNS.join(","))
}

/// The cells a journal holds: cell index → its summary fields as written.
struct Contents {
    header: JournalHeader,
    rows: BTreeMap<usize, Vec<String>>,
}

/// Reads a journal. `complete_len` is the byte length up to the last whole line (a torn last
/// line lies beyond it). Duplicated cells inside one file are an error naming them.
fn read_journal(path: &Path) -> Result<(Contents, usize), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[..complete_len]).map_err(|e| format!("{}: not UTF-8 text: {e}", path.display()))?;
    let mut lines = text.lines();
    let header = JournalHeader::parse(lines.next().unwrap_or(""), path)?;
    match lines.next() {
        Some(line) if format!("{line}\n") == header_row() => {}
        Some(_) => return Err(format!("{}: line 2: expected the header `cell,{}…`", path.display(), SUMMARY_COLUMNS[0])),
        None => return Ok((Contents { header, rows: BTreeMap::new() }, complete_len)),
    }
    let mut rows = BTreeMap::new();
    for (number, line) in lines.enumerate().map(|(i, l)| (i + 3, l)) {
        let fields: Vec<String> = line.split(',').map(String::from).collect();
        if fields.len() != SUMMARY_COLUMNS.len() + 1 {
            return Err(format!("{}: line {number}: {} fields, expected {}", path.display(), fields.len(), SUMMARY_COLUMNS.len() + 1));
        }
        let cell: usize = fields[0].parse().map_err(|_| format!("{}: line {number}: cell `{}` is not a number", path.display(), fields[0]))?;
        if cell >= header.cells || !header.shard.owns(cell) {
            return Err(format!("{}: line {number}: cell {cell} is not in shard {}/{} of {} cells", path.display(), header.shard.index, header.shard.count, header.cells));
        }
        if rows.insert(cell, fields[1..].to_vec()).is_some() {
            return Err(format!("{}: line {number}: cell {cell} appears twice", path.display()));
        }
    }
    Ok((Contents { header, rows }, complete_len))
}

/// An open journal that finished cells are appended to, one flushed line each.
pub struct Journal {
    file: Mutex<File>,
    path: PathBuf,
}

impl Journal {
    /// Opens `path` for the sweep `header`. With `resume` and an existing file of the same grid
    /// and shard, keeps its rows (dropping a torn last line) and returns the cells done; a file
    /// of another grid or shard is an error naming what differs. Without `resume` it starts anew.
    pub fn open(path: &Path, header: &JournalHeader, resume: bool) -> Result<(Journal, BTreeSet<usize>), String> {
        let existing = resume && std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        let mut done = BTreeSet::new();
        if existing {
            let (contents, complete_len) = read_journal(path)?;
            if contents.header.grid != header.grid || contents.header.cells != header.cells {
                return Err(format!("{}: --resume: the file holds another sweep grid (preset, axis, widths or seeds differ); use another --csv file", path.display()));
            }
            if contents.header.shard != header.shard {
                return Err(format!(
                    "{}: --resume: the file holds shard {}/{}, not {}/{}",
                    path.display(), contents.header.shard.index, contents.header.shard.count, header.shard.index, header.shard.count
                ));
            }
            done = contents.rows.keys().copied().collect();
            let file = OpenOptions::new().write(true).open(path).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            // Drop a torn last line (a process killed mid-write), and restore a lost header row.
            file.set_len(complete_len as u64).map_err(|e| format!("{}: cannot truncate: {e}", path.display()))?;
            drop(file);
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if text.lines().count() < 2 {
                std::fs::write(path, header.line() + &header_row()).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            }
        } else {
            std::fs::write(path, header.line() + &header_row()).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        }
        let file = OpenOptions::new().append(true).open(path).map_err(|e| format!("{}: cannot append: {e}", path.display()))?;
        Ok((Journal { file: Mutex::new(file), path: path.to_path_buf() }, done))
    }

    /// Appends one finished cell as a single write of one whole line.
    pub fn append(&self, cell: usize, summary: &Summary) -> Result<(), String> {
        let line = format!("{cell},{}\n", summary_row(summary).join(","));
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(line.as_bytes()).and_then(|_| file.flush()).map_err(|e| format!("{}: cannot append: {e}", self.path.display()))
    }
}

/// Cell indices as short ranges: `0-2, 5, 9-11`.
fn ranges(cells: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let mut j = i;
        while j + 1 < cells.len() && cells[j + 1] == cells[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { cells[i].to_string() } else { format!("{}-{}", cells[i], cells[j]) });
        i = j + 1;
    }
    parts.join(", ")
}

/// Merges journals of one grid into the plain sweep CSV (summary columns, rows in grid order).
/// Inputs of different grids, duplicated cells and missing cells are errors that name them.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<u8>, String> {
    let first = paths.first().ok_or("merge: give at least one journal file")?;
    let mut all: BTreeMap<usize, (Vec<String>, &Path)> = BTreeMap::new();
    let mut duplicated = Vec::new();
    let mut reference: Option<(JournalHeader, &Path)> = None;
    for path in paths {
        let (contents, _) = read_journal(path)?;
        match &reference {
            None => reference = Some((contents.header.clone(), path)),
            Some((h, p)) => {
                if h.grid != contents.header.grid || h.cells != contents.header.cells {
                    return Err(format!("merge: {} and {} come from different sweep grids", p.display(), path.display()));
                }
            }
        }
        for (cell, row) in contents.rows {
            if let Some((_, other)) = all.get(&cell) {
                duplicated.push(format!("cell {cell} in {} and {}", other.display(), path.display()));
            } else {
                all.insert(cell, (row, path));
            }
        }
    }
    let (header, _) = reference.expect("one file read");
    if !duplicated.is_empty() {
        return Err(format!("merge: duplicated cells: {}", duplicated.join("; ")));
    }
    let missing: Vec<usize> = (0..header.cells).filter(|c| !all.contains_key(c)).collect();
    if !missing.is_empty() {
        let count = header.shard.count;
        let shards: BTreeSet<usize> = missing.iter().map(|c| c % count + 1).collect();
        let shards: Vec<String> = shards.iter().map(|k| format!("{k}/{count}")).collect();
        return Err(format!(
            "merge: {} of {} cells missing: {} (shards {}; first input {})",
            missing.len(), header.cells, ranges(&missing), shards.join(", "), first.display()
        ));
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| format!("merge: {e}");
    writer.write_record(SUMMARY_COLUMNS).map_err(io)?;
    for (row, _) in all.values() {
        writer.write_record(row).map_err(io)?;
    }
    writer.into_inner().map_err(|e| format!("merge: {e}"))
}
