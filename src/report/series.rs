//! The UI-side record of a run: streamed samples kept in compact columns (one `Vec<f64>` per
//! metric). Every step of the first `HEAD_STEPS` is kept; after that, samples are grouped in
//! buckets of `span` steps and each closed bucket keeps its first and last sample and, for every
//! column, the sample holding its minimum and its maximum (real samples, with their steps), so
//! a peak is never thinned away. When the columns reach `HISTORY_LIMIT`, the span doubles and
//! neighbouring buckets merge the same way. Pure bookkeeping: no physics, no egui. (The drawing
//! decimation lives in `decimate.rs`, re-exported here.)

use crate::engine::sim::{Regime, Sample, extra_presence};
pub use super::decimate::*;

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
    pub precond_sharpness: Vec<Option<f64>>,
    pub edge_sharpness: Vec<Option<f64>>,
    /// SPEC §11: λ_H (on the steps measured), the top-s split and the kernel change.
    pub hessian_top: Vec<Option<f64>>,
    pub loss_top_s: Vec<Option<f64>>,
    pub loss_rest_s: Vec<Option<f64>>,
    pub kernel_change: Vec<Option<f64>>,
    /// Per-layer sparsity, one column per hidden layer the run reports (`sparsity_1`, …).
    pub layer_sparsity: Vec<Vec<Option<f64>>>,
    pub regime: Vec<Regime>,
    /// Bumped on every change, so cached decimations know when they are stale.
    pub generation: u64,
    /// Steps per tail bucket (0 = not started, i.e. 1).
    pub(super) span: u64,
}

/// The most samples a history keeps. Beyond it, the buckets after the head merge pairwise
/// (each keeps first, last and every column's extremes). Bound: `HISTORY_LIMIT` ×
/// `BYTES_PER_SAMPLE` ≈ 124 MB (with all eight per-layer sparsity columns).
pub const HISTORY_LIMIT: usize = 1 << 18;
/// Bytes one stored sample takes in the columns (11 f64, 16 Option<f64>, the regime, and at
/// most one Option<f64> per hidden layer).
pub const BYTES_PER_SAMPLE: usize = 11 * 8 + 16 * 16 + 1 + crate::engine::sim::MAX_SPARSITY_LAYERS * 16;
/// Every sample with a step up to this is kept, whatever the run's length.
pub const HEAD_STEPS: u64 = 4096;

/// Applies `$body` (a macro-style closure over `$col`) to every column of `$h`.
macro_rules! each_column {
    ($h:expr, $col:ident => $body:expr) => {{
        { let $col = &mut $h.step; $body; }
        { let $col = &mut $h.eta; $body; }
        { let $col = &mut $h.loss; $body; }
        { let $col = &mut $h.lambda_hat; $body; }
        { let $col = &mut $h.lambda_hat_2; $body; }
        { let $col = &mut $h.lambda_raw; $body; }
        { let $col = &mut $h.eta_lambda; $body; }
        { let $col = &mut $h.weight_norm_sq; $body; }
        { let $col = &mut $h.dist_from_init; $body; }
        { let $col = &mut $h.u; $body; }
        { let $col = &mut $h.v; $body; }
        { let $col = &mut $h.train_acc; $body; }
        { let $col = &mut $h.sparsity; $body; }
        { let $col = &mut $h.rho; $body; }
        { let $col = &mut $h.v_mean; $body; }
        { let $col = &mut $h.lambda_ntk; $body; }
        { let $col = &mut $h.loss_top; $body; }
        { let $col = &mut $h.test_loss; $body; }
        { let $col = &mut $h.test_acc; $body; }
        { let $col = &mut $h.agop_alignment; $body; }
        { let $col = &mut $h.batch_crit_eta; $body; }
        { let $col = &mut $h.precond_sharpness; $body; }
        { let $col = &mut $h.edge_sharpness; $body; }
        { let $col = &mut $h.hessian_top; $body; }
        { let $col = &mut $h.loss_top_s; $body; }
        { let $col = &mut $h.loss_rest_s; $body; }
        { let $col = &mut $h.kernel_change; $body; }
        { for $col in $h.layer_sparsity.iter_mut() { $body; } }
        { let $col = &mut $h.regime; $body; }
    }};
}

/// Keeps the rows from `start` on whose flag in `keep` (indexed from `start`) is set.
fn retain_from<T>(column: &mut Vec<T>, start: usize, keep: &[bool]) {
    let tail: Vec<T> = column.drain(start..).zip(keep).filter(|(_, k)| **k).map(|(v, _)| v).collect();
    column.extend(tail);
}

/// Marks, in `keep`, the rows of `rows` (one bucket) holding the minimum and the maximum of `column`.
fn mark_extremes(column: &[f64], rows: std::ops::Range<usize>, keep: &mut [bool], offset: usize) {
    let (mut lo, mut hi) = (rows.start, rows.start);
    for i in rows {
        if column[i] < column[lo] {
            lo = i;
        }
        if column[i] > column[hi] {
            hi = i;
        }
    }
    keep[lo - offset] = true;
    keep[hi - offset] = true;
}

/// Like `mark_extremes` for an optional column (rows without a value are ignored).
fn mark_extremes_present(column: &[Option<f64>], rows: std::ops::Range<usize>, keep: &mut [bool], offset: usize) {
    let (mut lo, mut hi): (Option<(usize, f64)>, Option<(usize, f64)>) = (None, None);
    for i in rows {
        let Some(value) = column[i] else { continue };
        if lo.is_none_or(|(_, v)| value < v) {
            lo = Some((i, value));
        }
        if hi.is_none_or(|(_, v)| value > v) {
            hi = Some((i, value));
        }
    }
    for (i, _) in lo.into_iter().chain(hi) {
        keep[i - offset] = true;
    }
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
                &self.precond_sharpness,
                &self.edge_sharpness,
                &self.hessian_top,
                &self.loss_top_s,
                &self.loss_rest_s,
                &self.kernel_change,
            ]
            .iter().map(|v| o(v)).sum::<usize>()
            + self.layer_sparsity.iter().map(o).sum::<usize>()
            + self.regime.capacity()
    }

    /// The tail bucket a step belongs to (None inside the head).
    fn bucket_of(&self, step: f64) -> Option<u64> {
        let step = step as u64;
        (step > HEAD_STEPS).then(|| (step - HEAD_STEPS - 1) / self.span.max(1))
    }

    /// Marks the rows to keep of the bucket `rows`: first, last and every column's extremes.
    fn mark_bucket(&self, rows: std::ops::Range<usize>, keep: &mut [bool], offset: usize) {
        if rows.len() <= 2 {
            for i in rows {
                keep[i - offset] = true;
            }
            return;
        }
        keep[rows.start - offset] = true;
        keep[rows.end - 1 - offset] = true;
        for column in [&self.eta, &self.loss, &self.lambda_hat, &self.lambda_hat_2, &self.lambda_raw, &self.eta_lambda, &self.weight_norm_sq, &self.dist_from_init, &self.u, &self.v] {
            mark_extremes(column, rows.clone(), keep, offset);
        }
        for column in [&self.train_acc, &self.sparsity, &self.rho, &self.v_mean, &self.lambda_ntk, &self.loss_top, &self.test_loss, &self.test_acc, &self.agop_alignment, &self.batch_crit_eta, &self.precond_sharpness, &self.edge_sharpness, &self.hessian_top, &self.loss_top_s, &self.loss_rest_s, &self.kernel_change] {
            mark_extremes_present(column, rows.clone(), keep, offset);
        }
    }

    /// Reduces every closed tail bucket from row `start` on (the bucket holding the newest row
    /// stays whole) to the rows `mark_bucket` keeps.
    fn compact_from(&mut self, start: usize) {
        let len = self.len();
        let open = self.step.last().and_then(|&s| self.bucket_of(s));
        let mut keep = vec![false; len - start];
        let mut i = start;
        while i < len {
            let bucket = self.bucket_of(self.step[i]);
            let mut j = i + 1;
            while j < len && self.bucket_of(self.step[j]) == bucket {
                j += 1;
            }
            if bucket.is_none() || bucket == open {
                keep[i - start..j - start].iter_mut().for_each(|k| *k = true);
            } else {
                self.mark_bucket(i..j, &mut keep, start);
            }
            i = j;
        }
        if keep.iter().all(|k| *k) {
            return;
        }
        each_column!(self, column => retain_from(column, start, &keep));
    }

    /// Before a sample of a new bucket is added: compacts the bucket just closed, and when the
    /// columns are full, doubles the span and merges the whole tail until a quarter is free.
    fn make_room(&mut self, next_step: f64) {
        let Some(next) = self.bucket_of(next_step) else { return };
        if let Some(&last) = self.step.last()
            && let Some(closed) = self.bucket_of(last)
            && closed != next
            && self.span > 1
        {
            let first = self.step.partition_point(|&s| self.bucket_of(s).is_none_or(|b| b < closed));
            self.compact_from(first);
        }
        if self.len() < HISTORY_LIMIT {
            return;
        }
        let head_end = self.step.partition_point(|&s| s <= HEAD_STEPS as f64);
        while self.len() >= HISTORY_LIMIT * 3 / 4 && self.span < u64::MAX / 4 {
            self.span *= 2;
            self.compact_from(head_end);
        }
    }

    /// Steps per tail bucket now (1 until the history first fills).
    pub fn bucket_span(&self) -> u64 {
        self.span.max(1)
    }

    pub fn clear(&mut self) {
        let generation = self.generation + 1;
        *self = History::default();
        self.generation = generation;
    }

    pub fn push(&mut self, sample: &Sample, regime: Regime) {
        if self.span == 0 {
            self.span = 1;
        }
        self.make_room(sample.step as f64);
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
        self.precond_sharpness.push(sample.precond_sharpness);
        self.edge_sharpness.push(sample.edge_sharpness);
        self.hessian_top.push(sample.hessian_top);
        self.loss_top_s.push(sample.loss_top_s);
        self.loss_rest_s.push(sample.loss_rest_s);
        self.kernel_change.push(sample.kernel_change);
        let rows_before = self.step.len() - 1;
        let layers = sample.layer_sparsity.iter().rposition(Option::is_some).map_or(0, |l| l + 1);
        while self.layer_sparsity.len() < layers {
            self.layer_sparsity.push(vec![None; rows_before]);
        }
        for (column, value) in self.layer_sparsity.iter_mut().zip(sample.layer_sparsity) {
            column.push(value);
        }
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
            precond_sharpness: self.precond_sharpness[i],
            edge_sharpness: self.edge_sharpness[i],
            hessian_top: self.hessian_top[i],
            loss_top_s: self.loss_top_s[i],
            loss_rest_s: self.loss_rest_s[i],
            kernel_change: self.kernel_change[i],
            layer_sparsity: std::array::from_fn(|l| self.layer_sparsity.get(l).and_then(|column| column[i])),
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

    /// The first `len` rows (a replay or animation frame at row `len − 1`): the same samples and
    /// buckets, as the history looked when that row arrived (thinning aside).
    pub fn prefix(&self, len: usize) -> History {
        let len = len.min(self.len());
        let mut h = self.clone();
        for column in [&mut h.step, &mut h.eta, &mut h.loss, &mut h.lambda_hat, &mut h.lambda_hat_2, &mut h.lambda_raw, &mut h.eta_lambda, &mut h.weight_norm_sq, &mut h.dist_from_init, &mut h.u, &mut h.v] {
            column.truncate(len);
        }
        for column in [&mut h.train_acc, &mut h.sparsity, &mut h.rho, &mut h.v_mean, &mut h.lambda_ntk, &mut h.loss_top, &mut h.test_loss, &mut h.test_acc, &mut h.agop_alignment, &mut h.batch_crit_eta, &mut h.precond_sharpness, &mut h.edge_sharpness, &mut h.hessian_top, &mut h.loss_top_s, &mut h.loss_rest_s, &mut h.kernel_change] {
            column.truncate(len);
        }
        h.layer_sparsity.iter_mut().for_each(|column| column.truncate(len));
        h.regime.truncate(len);
        h.generation = self.generation.wrapping_add(1 + len as u64);
        h
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

    /// A long run keeps every step of the head, the exact peak of every column and the newest
    /// sample, in step order.
    #[test]
    fn a_long_history_keeps_the_head_and_every_extreme() {
        let mut history = History::default();
        let n = 1_000_000u64;
        let mut sample = Sample {
            step: 0, eta: 1.0, loss: 0.0, lambda_hat: 0.0, lambda_hat_2: 0.0, lambda_raw: 0.0, eta_lambda: 0.0,
            weight_norm_sq: 0.0, dist_from_init: 0.0, u: 0.0, v: 0.0, train_acc: None, sparsity: None, rho: None,
            v_mean: None, lambda_ntk: None, loss_top: None, test_loss: None, test_acc: None, agop_alignment: None, batch_crit_eta: None, precond_sharpness: None, edge_sharpness: None, ..Default::default()
        };
        for step in 0..=n {
            let t = step as f64;
            sample.step = step;
            sample.loss = 1.0 + (t * 0.37).sin();
            sample.lambda_hat = 2.0 + (t * 0.011).cos();
            if step == 777_777 {
                sample.loss = 175.8;
            }
            if step == 500_001 {
                sample.lambda_hat = -3.0;
            }
            history.push(&sample, Regime::Stable);
        }
        assert!(history.len() <= HISTORY_LIMIT);
        for step in 0..=HEAD_STEPS {
            assert_eq!(history.step[step as usize], step as f64);
        }
        let peak = history.loss.iter().copied().fold(f64::MIN, f64::max);
        assert_eq!(peak, 175.8);
        let i = history.loss.iter().position(|&l| l == 175.8).unwrap();
        assert_eq!(history.step[i], 777_777.0);
        assert!(history.lambda_hat.contains(&-3.0));
        assert_eq!(history.last_step(), Some(n));
        assert!(history.step.windows(2).all(|w| w[0] < w[1]));
        assert!(history.bucket_span() > 1);
    }
}
