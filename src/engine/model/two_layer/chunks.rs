//! How the two-layer net's loops split the neurons into work chunks: chunk sizes fixed by the
//! problem's shape only (never by the thread count), run on rayon when the work is large, and
//! partial sums added in chunk order, so every result is bit-identical whatever the threads.

use super::*;

impl TwoLayer {
    pub(super) fn parallel(&self) -> bool {
        self.parallel_for(self.n * (self.d + 1))
    }

    /// Whether passes costing `per_neuron` multiply-adds per neuron go parallel.
    pub(super) fn parallel_for(&self, per_neuron: usize) -> bool {
        self.m * per_neuron >= PARALLEL_WORK && self.m > self.chunk_for(per_neuron)
    }

    /// Neurons per chunk of a pass costing `per_neuron` multiply-adds per neuron, from the
    /// problem's shape only.
    pub(super) fn chunk_for(&self, per_neuron: usize) -> usize {
        let min = if self.d >= GEMM_D { GEMM_CHUNK_MIN } else { CHUNK_MIN };
        CHUNK_WORK.div_ceil(per_neuron).max(min)
    }

    /// Runs `f` on every neuron chunk and returns the per-chunk results in chunk order.
    pub(super) fn map_chunks<T: Send>(&self, f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send) -> Vec<T> {
        self.map_chunks_for(self.n * (self.d + 1), f)
    }

    /// `map_chunks` for a pass costing `per_neuron` multiply-adds per neuron (the d = 1 class
    /// passes cost O(1) per neuron whatever n is).
    pub(super) fn map_chunks_for<T: Send>(&self, per_neuron: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send) -> Vec<T> {
        let size = self.chunk_for(per_neuron);
        let chunks = self.m.div_ceil(size);
        let range = |c: usize| c * size..((c + 1) * size).min(self.m);
        if self.parallel_for(per_neuron) { (0..chunks).into_par_iter().map(|c| f(range(c))).collect() } else { (0..chunks).map(|c| f(range(c))).collect() }
    }

    /// Runs `f(first neuron, rows of a, rows of b)` on matching neuron chunks of two
    /// neuron-major arrays with `wa` and `wb` values per neuron.
    pub(super) fn for_chunks_mut(&self, a: &mut [f64], wa: usize, b: &mut [f64], wb: usize, f: impl Fn(usize, &mut [f64], &mut [f64]) + Sync + Send) {
        self.for_chunks_mut_for(self.n * (self.d + 1), a, wa, b, wb, f);
    }

    /// `for_chunks_mut` for a pass costing `per_neuron` multiply-adds per neuron.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn for_chunks_mut_for(
        &self,
        per_neuron: usize,
        a: &mut [f64],
        wa: usize,
        b: &mut [f64],
        wb: usize,
        f: impl Fn(usize, &mut [f64], &mut [f64]) + Sync + Send,
    ) {
        let size = self.chunk_for(per_neuron);
        if self.parallel_for(per_neuron) {
            a.par_chunks_mut(size * wa).zip(b.par_chunks_mut(size * wb)).enumerate().for_each(|(c, (ra, rb))| f(c * size, ra, rb));
        } else {
            a.chunks_mut(size * wa).zip(b.chunks_mut(size * wb)).enumerate().for_each(|(c, (ra, rb))| f(c * size, ra, rb));
        }
    }
}

/// Adds chunk partial vectors in order into `out`.
pub(super) fn sum_partials(partials: Vec<Vec<f64>>, out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    for part in partials {
        for (o, p) in out.iter_mut().zip(&part) {
            *o += p;
        }
    }
}
