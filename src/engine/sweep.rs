//! Sweeps: a grid over learning rate × width × seed, every cell a full run, in parallel on
//! all cores (rayon), each finished row handed to a callback as it completes, cancellable.
//! A grid has a fixed cell order and a description (`grid_json`) that identifies it, so it
//! can be split into shards run by separate processes (`Shard`) and merged back.

use crate::engine::config::{self, Approx, Preset};
use crate::engine::sim::{Simulation, Summary};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// The learning-rate axis of a sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EtaAxis {
    /// η·λ̂0 values (each cell resolves η with its own λ̂0).
    Scaled { from: f64, to: f64, count: usize },
    /// Raw η values.
    Raw { from: f64, to: f64, count: usize },
}

impl EtaAxis {
    /// The grid values, evenly spaced and inclusive of both ends.
    pub fn values(&self) -> Vec<f64> {
        let (from, to, count) = match *self {
            EtaAxis::Scaled { from, to, count } | EtaAxis::Raw { from, to, count } => (from, to, count),
        };
        match count {
            0 => Vec::new(),
            1 => vec![from],
            _ => (0..count).map(|i| from + (to - from) * i as f64 / (count - 1) as f64).collect(),
        }
    }

    /// Parses `A:B:N`.
    pub fn parse(text: &str, scaled: bool) -> Result<EtaAxis, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let bad = || format!("`{text}`: expected FROM:TO:COUNT, e.g. 0.5:5:24");
        if parts.len() != 3 {
            return Err(bad());
        }
        let from: f64 = parts[0].trim().parse().map_err(|_| bad())?;
        let to: f64 = parts[1].trim().parse().map_err(|_| bad())?;
        let count: usize = parts[2].trim().parse().map_err(|_| bad())?;
        if !(from.is_finite() && to.is_finite() && from > 0.0 && to > 0.0) {
            return Err(format!("`{text}`: learning rates must be finite and greater than 0"));
        }
        if count == 0 || count > 100_000 {
            return Err(format!("`{text}`: COUNT must be 1 to 100000"));
        }
        Ok(if scaled { EtaAxis::Scaled { from, to, count } } else { EtaAxis::Raw { from, to, count } })
    }
}

/// A sweep grid over a base preset.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    pub base: Preset,
    pub eta: EtaAxis,
    /// Widths (empty: the preset's own).
    pub widths: Vec<usize>,
    /// Seeds per cell: base seed, base seed + 1, …
    pub seeds: usize,
    /// Model approximations (empty: the preset's own); an axis between η and width.
    pub approxes: Vec<Approx>,
}

/// One grid cell: its preset and its position.
#[derive(Clone, Debug)]
pub struct Cell {
    pub index: usize,
    pub preset: Preset,
}

impl SweepSpec {
    /// Every cell's preset, in grid order (eta outermost, then approximation, then width, then seed); each is
    /// validated, so a width that would not fit in memory is refused before anything runs.
    pub fn cells(&self) -> Result<Vec<Cell>, config::ConfigError> {
        let widths = if self.widths.is_empty() { vec![self.base.model.width] } else { self.widths.clone() };
        let approxes = if self.approxes.is_empty() { vec![self.base.model.approx] } else { self.approxes.clone() };
        let mut cells = Vec::new();
        for eta in self.eta.values() {
            for (&approx, &width) in approxes.iter().flat_map(|a| widths.iter().map(move |w| (a, w))) {
                for k in 0..self.seeds.max(1) {
                    let mut preset = self.base.clone();
                    preset.model.width = width;
                    if !self.widths.is_empty() {
                        // A width axis sets every hidden layer of an mlp (its per-layer list would
                        // otherwise override the swept width).
                        preset.model.widths = None;
                    }
                    preset.model.approx = approx;
                    preset.seed = self.base.seed + k as u64;
                    match self.eta {
                        EtaAxis::Scaled { .. } => {
                            preset.train.eta = None;
                            preset.train.eta_scaled = Some(eta);
                        }
                        EtaAxis::Raw { .. } => {
                            preset.train.eta = Some(eta);
                            preset.train.eta_scaled = None;
                        }
                    }
                    config::validate(&preset, "sweep")?;
                    cells.push(Cell { index: cells.len(), preset });
                }
            }
        }
        Ok(cells)
    }
}

impl SweepSpec {
    /// The grid's identity as JSON: base preset, learning-rate axis, widths and seeds. Two
    /// shard files belong to the same sweep exactly when their descriptions are equal.
    pub fn grid_json(&self) -> serde_json::Value {
        let (kind, from, to, count) = match self.eta {
            EtaAxis::Scaled { from, to, count } => ("eta_scaled", from, to, count),
            EtaAxis::Raw { from, to, count } => ("eta", from, to, count),
        };
        let base: serde_json::Value = serde_json::to_value(&self.base).expect("a preset always serializes");
        serde_json::json!({"base": base, "axis": kind, "from": from, "to": to, "count": count,
            "widths": self.widths, "seeds": self.seeds.max(1), "approxes": self.approxes})
    }
}

/// One process's part of a grid: the cells whose index k satisfies k ≡ index − 1 (mod count),
/// in grid order. Which process runs a cell never changes its result (seeds come from the cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, as Slurm's `SLURM_ARRAY_TASK_ID` from 1.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}`: expected K/N with 1 <= K <= N, e.g. 3/8");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn owns(&self, cell_index: usize) -> bool {
        cell_index % self.count == self.index - 1
    }
}

/// The result of one cell: its summary, or why it could not run.
pub type CellResult = Result<Summary, String>;

/// Runs one cell to the end, or until `cancel` is set (then `None`).
pub fn run_cell(preset: &Preset, cancel: &AtomicBool) -> Option<CellResult> {
    let mut sim = match Simulation::new(preset) {
        Ok(sim) => sim,
        Err(e) => return Some(Err(e)),
    };
    // A sweep row reports the summary only: no automatic λ_H or kernel change per step.
    sim.skip_automatic_extras();
    while sim.step().is_some() {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
    }
    Some(Ok(sim.summary()))
}

/// Runs every cell in parallel; `on_row(index, result)` is called as each finishes (from
/// worker threads). Returns the results in grid order; cancelled cells are `None`.
pub fn run_sweep(cells: &[Cell], cancel: &AtomicBool, on_row: impl Fn(usize, &CellResult) + Sync) -> Vec<Option<CellResult>> {
    let run = || {
        cells
            .par_iter()
            .map(|cell| {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let result = run_cell(&cell.preset, cancel);
                if let Some(r) = &result {
                    on_row(cell.index, r);
                }
                result
            })
            .collect()
    };
    // A pool of its own: the cells (and their models' inner parallel loops) must not occupy
    // rayon's global pool, which the app's live run uses — a sweep would otherwise stall it.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    match rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("sweep-{i}")).build() {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}
