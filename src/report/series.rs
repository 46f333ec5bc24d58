//! The UI-side record of a run: every streamed sample kept in compact columns (one `Vec<f64>`
//! per metric), and the min/max-per-pixel decimation the plots draw so that a million steps
//! still draw at full frame rate. Pure bookkeeping: no physics, no egui.

use crate::engine::sim::{Regime, Sample, extra_presence};

/// The metrics the plots show, one column each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    Loss,
    LambdaHat,
    LambdaHat2,
    WeightNormSq,
    DistFromInit,
}

/// Columnar history of one run: every SPEC §4 column, so the exact samples can be rebuilt
/// (CSV export writes what was shown).
#[derive(Clone, Default)]
pub struct History {
    pub step: Vec<f64>,
    pub eta: Vec<f64>,
    pub loss: Vec<f64>,
    pub lambda_hat: Vec<f64>,
    pub lambda_hat_2: Vec<f64>,
    pub lambda_raw: Vec<f64>,
    pub eta_lambda: Vec<f64>,
    pub weight_norm_sq: Vec<f64>,
    pub dist_from_init: Vec<f64>,
    pub u: Vec<f64>,
    pub v: Vec<f64>,
    pub train_acc: Vec<Option<f64>>,
    pub sparsity: Vec<Option<f64>>,
    pub rho: Vec<Option<f64>>,
    pub v_mean: Vec<Option<f64>>,
    pub lambda_ntk: Vec<Option<f64>>,
    pub loss_top: Vec<Option<f64>>,
    pub test_loss: Vec<Option<f64>>,
    pub test_acc: Vec<Option<f64>>,
    pub agop_alignment: Vec<Option<f64>>,
    pub batch_crit_eta: Vec<Option<f64>>,
    pub regime: Vec<Regime>,
    /// Bumped on every change, so cached decimations know when they are stale.
    pub generation: u64,
}

/// The most samples a history keeps. Beyond it, every other stored sample is dropped (the
/// first and the newest always stay), so a run of any length keeps the whole span at a coarser
/// resolution for its older part. Bound: `HISTORY_LIMIT` × `BYTES_PER_SAMPLE` ≈ 61 MB.
pub const HISTORY_LIMIT: usize = 1 << 18;
/// Bytes one stored sample takes in the columns (11 f64, 9 Option<f64>, the regime).
pub const BYTES_PER_SAMPLE: usize = 11 * 8 + 10 * 16 + 1;

/// Keeps the elements of `column` whose index `keep` accepts.
fn retain_indexed<T>(column: &mut Vec<T>, keep: impl Fn(usize) -> bool) {
    let mut index = 0;
    column.retain(|_| {
        let kept = keep(index);
        index += 1;
        kept
    });
}

impl History {
    /// Bytes held by the columns now (capacity, not just length).
    pub fn memory_bytes(&self) -> usize {
        let f = |v: &Vec<f64>| v.capacity() * 8;
        let o = |v: &Vec<Option<f64>>| v.capacity() * 16;
        [&self.step, &self.eta, &self.loss, &self.lambda_hat, &self.lambda_hat_2, &self.lambda_raw, &self.eta_lambda,
            &self.weight_norm_sq, &self.dist_from_init, &self.u, &self.v]
            .iter()
            .map(|v| f(v))
            .sum::<usize>()
            + [
                &self.train_acc,
                &self.sparsity,
                &self.rho,
                &self.v_mean,
                &self.lambda_ntk,
                &self.loss_top,
                &self.test_loss,
                &self.test_acc,
                &self.agop_alignment,
                &self.batch_crit_eta,
            ]
            .iter().map(|v| o(v)).sum::<usize>()
            + self.regime.capacity()
    }

    /// Drops every other sample (keeping the first and the newest) when the limit is reached,
    /// before the columns would grow past it (so their capacity never exceeds the limit).
    fn thin_if_full(&mut self) {
        let len = self.len();
        if len < HISTORY_LIMIT {
            return;
        }
        let keep = |i: usize| i % 2 == 0 || i + 1 == len;
        retain_indexed(&mut self.step, keep);
        retain_indexed(&mut self.eta, keep);
        retain_indexed(&mut self.loss, keep);
        retain_indexed(&mut self.lambda_hat, keep);
        retain_indexed(&mut self.lambda_hat_2, keep);
        retain_indexed(&mut self.lambda_raw, keep);
        retain_indexed(&mut self.eta_lambda, keep);
        retain_indexed(&mut self.weight_norm_sq, keep);
        retain_indexed(&mut self.dist_from_init, keep);
        retain_indexed(&mut self.u, keep);
        retain_indexed(&mut self.v, keep);
        retain_indexed(&mut self.train_acc, keep);
        retain_indexed(&mut self.sparsity, keep);
        retain_indexed(&mut self.rho, keep);
        retain_indexed(&mut self.v_mean, keep);
        retain_indexed(&mut self.lambda_ntk, keep);
        retain_indexed(&mut self.loss_top, keep);
        retain_indexed(&mut self.test_loss, keep);
        retain_indexed(&mut self.test_acc, keep);
        retain_indexed(&mut self.agop_alignment, keep);
        retain_indexed(&mut self.batch_crit_eta, keep);
        retain_indexed(&mut self.regime, keep);
    }

    pub fn clear(&mut self) {
        let generation = self.generation + 1;
        *self = History::default();
        self.generation = generation;
    }

    pub fn push(&mut self, sample: &Sample, regime: Regime) {
        self.thin_if_full();
        self.step.push(sample.step as f64);
        self.eta.push(sample.eta);
        self.loss.push(sample.loss);
        self.lambda_hat.push(sample.lambda_hat);
        self.lambda_hat_2.push(sample.lambda_hat_2);
        self.lambda_raw.push(sample.lambda_raw);
        self.eta_lambda.push(sample.eta_lambda);
        self.weight_norm_sq.push(sample.weight_norm_sq);
        self.dist_from_init.push(sample.dist_from_init);
        self.u.push(sample.u);
        self.v.push(sample.v);
        self.train_acc.push(sample.train_acc);
        self.sparsity.push(sample.sparsity);
        self.rho.push(sample.rho);
        self.v_mean.push(sample.v_mean);
        self.lambda_ntk.push(sample.lambda_ntk);
        self.loss_top.push(sample.loss_top);
        self.test_loss.push(sample.test_loss);
        self.test_acc.push(sample.test_acc);
        self.agop_alignment.push(sample.agop_alignment);
        self.batch_crit_eta.push(sample.batch_crit_eta);
        self.regime.push(regime);
        self.generation += 1;
    }

    /// The sample at index `i`, rebuilt exactly from the columns.
    pub fn sample(&self, i: usize) -> Sample {
        Sample {
            step: self.step[i] as u64,
            eta: self.eta[i],
            loss: self.loss[i],
            lambda_hat: self.lambda_hat[i],
            lambda_hat_2: self.lambda_hat_2[i],
            lambda_raw: self.lambda_raw[i],
            eta_lambda: self.eta_lambda[i],
            weight_norm_sq: self.weight_norm_sq[i],
            dist_from_init: self.dist_from_init[i],
            u: self.u[i],
            v: self.v[i],
            train_acc: self.train_acc[i],
            sparsity: self.sparsity[i],
            rho: self.rho[i],
            v_mean: self.v_mean[i],
            lambda_ntk: self.lambda_ntk[i],
            loss_top: self.loss_top[i],
            test_loss: self.test_loss[i],
            test_acc: self.test_acc[i],
            agop_alignment: self.agop_alignment[i],
            batch_crit_eta: self.batch_crit_eta[i],
        }
    }

    /// Every sample as CSV (SPEC §4 columns, via `output::SampleCsv`).
    pub fn to_csv(&self) -> std::io::Result<Vec<u8>> {
        // Every optional column any sample has (SGD's batch rate is absent at step 0).
        let mut present = [false; crate::engine::sim::EXTRA_COUNT];
        for i in 0..self.len() {
            for (p, has) in present.iter_mut().zip(extra_presence(&self.sample(i))) {
                *p |= has;
            }
        }
        let mut csv = crate::report::output::SampleCsv::with_columns(Vec::new(), present);
        for i in 0..self.len() {
            csv.write(&self.sample(i))?;
        }
        csv.finish()
    }

    pub fn len(&self) -> usize {
        self.step.len()
    }

    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    pub fn last_step(&self) -> Option<u64> {
        self.step.last().map(|&s| s as u64)
    }

    pub fn column(&self, metric: Metric) -> &[f64] {
        match metric {
            Metric::Loss => &self.loss,
            Metric::LambdaHat => &self.lambda_hat,
            Metric::LambdaHat2 => &self.lambda_hat_2,
            Metric::WeightNormSq => &self.weight_norm_sq,
            Metric::DistFromInit => &self.dist_from_init,
        }
    }

    /// Index range of the samples whose step lies in `[x_min, x_max]`, plus one either side so
    /// lines run to the plot edge.
    pub fn index_range(&self, x_min: f64, x_max: f64) -> std::ops::Range<usize> {
        let start = self.step.partition_point(|&s| s < x_min).saturating_sub(1);
        let end = (self.step.partition_point(|&s| s <= x_max) + 1).min(self.len());
        start..end.max(start)
    }
}

/// Points to draw for `ys` against `xs` over `range`: all of them when there are few, else per
/// bucket (≈ one pixel column) the minimum and the maximum in the order they occur, which
/// keeps every spike visible. `transform` maps a value to what is plotted (e.g. log10).
pub fn decimate(xs: &[f64], ys: &[f64], range: std::ops::Range<usize>, buckets: usize, transform: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let count = range.len();
    let buckets = buckets.max(1);
    if count <= 2 * buckets {
        return range.map(|i| [xs[i], transform(ys[i])]).collect();
    }
    let mut out = Vec::with_capacity(2 * buckets + 2);
    let start = range.start;
    for b in 0..buckets {
        let lo = start + b * count / buckets;
        let hi = start + (b + 1) * count / buckets;
        if lo >= hi {
            continue;
        }
        let (mut i_min, mut i_max) = (lo, lo);
        for i in lo..hi {
            if ys[i] < ys[i_min] {
                i_min = i;
            }
            if ys[i] > ys[i_max] {
                i_max = i;
            }
        }
        let (first, second) = if i_min <= i_max { (i_min, i_max) } else { (i_max, i_min) };
        out.push([xs[first], transform(ys[first])]);
        if second != first {
            out.push([xs[second], transform(ys[second])]);
        }
    }
    // Always end on the newest sample so the current point is where the line ends.
    let last = range.end - 1;
    if out.last().map(|p| p[0]) != Some(xs[last]) {
        out.push([xs[last], transform(ys[last])]);
    }
    out
}

/// True when a recent sample of an optional column carries a value (the column applies to this
/// run; e.g. SGD's batch rate is absent at step 0 only).
pub fn has_values(column: &[Option<f64>]) -> bool {
    column.iter().rev().take(4).any(Option::is_some)
}

/// Like `decimate`, for an optional column: the samples without a value are skipped.
pub fn decimate_present(xs: &[f64], ys: &[Option<f64>], range: std::ops::Range<usize>, buckets: usize, transform: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    let (steps, values): (Vec<f64>, Vec<f64>) = range.filter_map(|i| ys[i].map(|y| (xs[i], y))).unzip();
    if steps.is_empty() {
        return Vec::new();
    }
    decimate(&steps, &values, 0..steps.len(), buckets, transform)
}

/// Runs of equal regime over `range` as (first step, last step, regime).
pub fn regime_runs(xs: &[f64], regimes: &[Regime], range: std::ops::Range<usize>) -> Vec<(f64, f64, Regime)> {
    let mut runs: Vec<(f64, f64, Regime)> = Vec::new();
    for i in range {
        match runs.last_mut() {
            Some(run) if run.2 == regimes[i] => run.1 = xs[i],
            _ => runs.push((xs[i], xs[i], regimes[i])),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident_bytes() -> Option<usize> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse::<usize>().ok().map(|kb| kb * 1024)
    }

    /// A long headless run (1.5 million steps of a real Simulation) stays within the stated
    /// bound: at most `HISTORY_LIMIT` samples, columns of at most that capacity.
    #[test]
    fn a_long_run_stays_within_the_memory_bound() {
        let overrides = [
            ("model.width".to_string(), serde_json::json!(10)),
            ("train.steps".to_string(), serde_json::json!(1_500_000)),
            ("train.eta_scaled".to_string(), serde_json::json!(1.5)),
        ];
        let preset = crate::engine::library::shipped("catapult-uv", &overrides).unwrap().unwrap();
        let mut sim = crate::engine::sim::Simulation::new(&preset).unwrap();
        let before = resident_bytes();
        let mut history = History::default();
        history.push(sim.first_sample(), Regime::Stable);
        while let Some(sample) = sim.step() {
            history.push(&sample, Regime::Stable);
        }
        let bound = HISTORY_LIMIT * BYTES_PER_SAMPLE;
        assert!(history.len() <= HISTORY_LIMIT, "{} samples kept", history.len());
        assert!(history.memory_bytes() <= bound, "{} bytes > bound {bound}", history.memory_bytes());
        assert_eq!(history.step[0], 0.0, "the start is kept");
        assert_eq!(history.last_step(), Some(1_500_000), "the newest sample is kept");
        assert!(history.step.windows(2).all(|w| w[0] < w[1]), "steps stay in order");
        if let (Some(before), Some(after)) = (before, resident_bytes()) {
            // Other tests run in this process too: allow generous slack over the bound.
            assert!(after.saturating_sub(before) < 4 * bound, "resident memory grew by {} bytes", after - before);
        }
        eprintln!("history: {} samples, {} bytes (bound {bound})", history.len(), history.memory_bytes());
    }

    #[test]
    fn decimation_keeps_extremes_and_last_point() {
        let xs: Vec<f64> = (0..1_000_000).map(|i| i as f64).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| (x * 0.001).sin()).collect();
        ys[123_456] = 50.0;
        let points = decimate(&xs, &ys, 0..xs.len(), 1000, |y| y);
        assert!(points.len() <= 2001);
        assert!(points.iter().any(|p| p[1] == 50.0));
        assert_eq!(points.last().unwrap()[0], 999_999.0);
        assert!(points.windows(2).all(|w| w[0][0] <= w[1][0]));
    }

    #[test]
    fn small_histories_are_drawn_whole() {
        let xs = [0.0, 1.0, 2.0];
        let ys = [3.0, 1.0, 2.0];
        assert_eq!(decimate(&xs, &ys, 0..3, 100, |y| y).len(), 3);
    }
}
