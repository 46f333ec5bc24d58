//! The layered network's plain gradient-descent step fused with the forward pass at the new
//! weights (`Model::descend` for `approx = network`). Layer by layer, W_l's rows are taken in
//! the row parts the products split them into; each part is updated by one GEMM
//! (W ← W − η c_l (z∘Δ_l)ᵀ H_{l−1}, Δ and H of the old state), its weight norms are summed, and
//! its rows are multiplied against the new H_{l−1} for the forward product while they are still
//! in cache: the weights come from memory once per step for all three instead of three times.
//! The part then writes its units' columns of z_l and h_l = σ(z_l) from its block of the
//! product while that is in cache too (no whole-layer transpose and activation pass after).
//! The GEMM calls are the unfused ones (same shapes, parts and operands), so the bits are the
//! same. The new activations go into a second state, since the update needs the old ones.
//! With fewer examples than inputs the input layer's product is made in the rows' space
//! instead (`input_layer`): the same weights, its outputs equal to rounding.

use super::Mlp;
use super::forward::{PartFinish, State, product_row_chunk, rm, shaped, tr};
use super::input_layer::{self, InputBase};
use crate::engine::linalg::gemm;
use crate::engine::model::norm_and_dist_sq;
use rayon::prelude::*;
use std::ops::Range;

/// Parameters per block of the weight norms: small enough that both cores share a layer, large
/// enough that a block's sum is a long vector loop.
pub(crate) const STATS_CHUNK: usize = 1 << 15;

/// Entries of z∘Δ_k from which it is made on every core.
const PARALLEL_ENTRIES: usize = 1 << 15;

/// Per `STATS_CHUNK` block of w and w0: (Σ w², Σ (w − w0)²), in order.
pub(crate) fn block_norms(w: &[f64], w0: &[f64]) -> Vec<(f64, f64)> {
    w.chunks(STATS_CHUNK).zip(w0.chunks(STATS_CHUNK)).map(|(w, w0)| norm_and_dist_sq(w, w0)).collect()
}

/// `block_norms` with the blocks on every core.
pub(crate) fn block_norms_parallel(w: &[f64], w0: &[f64]) -> Vec<(f64, f64)> {
    w.par_chunks(STATS_CHUNK).zip(w0.par_chunks(STATS_CHUNK)).with_min_len(4).map(|(w, w0)| norm_and_dist_sq(w, w0)).collect()
}

impl Mlp {
    /// Rows per part when layer k's update and forward product on n rows are made together:
    /// the forward product is transposed and both products split W_k's rows the same way.
    pub(crate) fn fused_layer_chunk(&self, n: usize, k: usize) -> Option<usize> {
        let (o, i) = (self.dims[k + 1], self.dims[k]);
        if !self.transposed_forward(n, k) {
            return None;
        }
        let update = product_row_chunk(o, n, i)?;
        (product_row_chunk(o, i, n)? == update).then_some(update)
    }

    /// Whether the fused step on n rows makes the input layer's product in the rows' space
    /// (`input_layer`: the network, its input layer trained, fused, fewer rows than inputs).
    pub(crate) fn input_layer_in_rows_space(&self, n: usize) -> bool {
        self.approx == crate::engine::config::Approx::Network && self.trained[0] && InputBase::applies(n, self.dims[0], self.dims[1]) && self.fused_layer_chunk(n, 0).is_some()
    }

    /// The parameter ranges layer k's weight norms are summed over, in order (each then in
    /// `STATS_CHUNK` blocks): the fused row parts or the whole weight matrix, then the bias. The
    /// fused step and a fresh pass sum the same blocks in the same order: the same bits.
    pub(crate) fn norm_parts(&self, k: usize) -> Vec<Range<usize>> {
        let (w_range, b_range) = self.layer_ranges(k);
        let i = self.dims[k];
        let mut parts: Vec<Range<usize>> = match self.fused_layer_chunk(self.state.n, k) {
            Some(chunk) => (w_range.start..w_range.end).step_by(chunk * i).map(|s| s..(s + chunk * i).min(w_range.end)).collect(),
            None => vec![w_range],
        };
        if !b_range.is_empty() {
            parts.push(b_range);
        }
        parts
    }

    /// w ← w − η Jᵀz for the network, with the forward pass at the new w into `next` (its
    /// backward pass is left to the caller); `old` is the state at the old w on the rows `x`.
    /// The input layer's product goes through `base` when it applies (`input_layer`).
    /// Returns the trained layers' norm block sums in the order of `norm_parts`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn descend_and_forward(&self, w: &mut [f64], z: &[f64], eta: f64, x: &[f64], old: &State, next: &mut State, base: &mut InputBase) -> Vec<(f64, f64)> {
        let n = old.n;
        let scale = -eta;
        self.prepare_state(x, n, next);
        let mut sums = Vec::new();
        let mut zp = std::mem::take(&mut next.scaled);
        for k in 0..=self.depth() {
            let (o, i) = (self.dims[k + 1], self.dims[k]);
            let (w_range, b_range) = self.layer_ranges(k);
            let fused = self.fused_layer_chunk(n, k);
            if self.trained[k] {
                // A = z∘Δ_k at the old weights (n × o, row-major), in a buffer kept between steps,
                // rows on every core for large layers.
                zp.resize(n * o, 0.0);
                let scale_row = |((out, row), &zi): ((&mut [f64], &[f64]), &f64)| out.iter_mut().zip(row).for_each(|(a, x)| *a = x * zi);
                let delta = old.delta[k].as_slice().unwrap();
                if n * o >= PARALLEL_ENTRIES {
                    zp.par_chunks_mut(o).zip(delta.par_chunks(o)).zip(&z[..n]).with_min_len(8).for_each(scale_row);
                } else {
                    zp.chunks_mut(o).zip(delta.chunks(o)).zip(&z[..n]).for_each(scale_row);
                }
                let alpha = scale * self.c[k];
                // The bias first, so the row parts can add its new value.
                if !b_range.is_empty() {
                    let ob = &mut w[b_range.clone()];
                    for row in zp.chunks(o) {
                        ob.iter_mut().zip(row).for_each(|(o, x)| *o += scale * self.beta * x);
                    }
                }
                let (zs, h_old) = (&zp[..], old.h[k].as_slice().unwrap());
                match fused {
                    Some(chunk) => {
                        next.zt.resize(o * n, 0.0);
                        // Each row part finishes its units of z[k] and h[k + 1] (`PartFinish`).
                        if k < self.depth() {
                            shaped(&mut next.h[k + 1], n, o);
                        }
                        let h_out = (k < self.depth()).then(|| next.h[k + 1].as_mut_ptr());
                        let z_out = next.z[k].as_mut_ptr();
                        let (w, bias) = w.split_at_mut(w_range.end);
                        let finish = PartFinish { act: self.act, n, o, bias: (!b_range.is_empty()).then(|| (self.beta, &bias[..b_range.len()])), z: z_out, h: h_out };
                        let finish = &finish;
                        let (c, h_new, w0) = (self.c[k], next.h[k].as_slice().unwrap(), &self.w0[w_range.clone()]);
                        // The input layer in the rows' space (`input_layer`): the old state's rows
                        // must be these, and W must be up to date before it is written directly.
                        let with_base = k == 0 && self.input_layer_in_rows_space(n);
                        let through_base = with_base && h_old == &x[..n * i] && base.usable(x, n, i, o);
                        if with_base && !through_base {
                            base.apply(&mut w[w_range.clone()], w0, c);
                        }
                        // Per row part, its rows of C and C G when the step goes through the base.
                        let (coef, coef_gram, zt_base, zt_moved, gram) = if through_base { base.parts_mut() } else { (&mut [][..], &mut [][..], &[][..], &[][..], &[][..]) };
                        let mut kept_parts: Vec<Option<(&mut [f64], &mut [f64])>> = coef.chunks_mut(chunk * n).zip(coef_gram.chunks_mut(chunk * n)).map(Some).collect();
                        kept_parts.resize_with(o.div_ceil(chunk), || None);
                        let parts: Vec<(Vec<(f64, f64)>, Option<input_layer::PartSums>)> = w[w_range.clone()]
                            .par_chunks_mut(chunk * i)
                            .zip(next.zt.par_chunks_mut(chunk * n))
                            .zip(kept_parts.into_par_iter())
                            .enumerate()
                            .map(|(p, ((rows, zt_rows), kept))| {
                                let (r0, r) = (p * chunk, rows.len() / i);
                                let out = if let Some((coef_rows, coef_gram_rows)) = kept {
                                    // W's rows are not written: C takes the update.
                                    let (b, m) = (&zt_base[r0 * n..], &zt_moved[r0 * n..]);
                                    (Vec::new(), Some(input_layer::step_rows(coef_rows, coef_gram_rows, b, m, gram, zs, r0, o, n, alpha, c, zt_rows)))
                                } else {
                                    gemm(r, n, i, alpha, &zs[r0..], tr(o), h_old, rm(i), 1.0, rows, rm(i));
                                    let norms = block_norms(rows, &w0[r0 * i..(r0 + r) * i]);
                                    gemm(r, i, n, c, rows, rm(i), h_new, tr(i), 0.0, zt_rows, rm(n));
                                    (norms, None)
                                };
                                // SAFETY: this part's units r0..r0 + r of z[k] and h[k + 1] (n × o).
                                unsafe { finish.apply(zt_rows, r0) };
                                out
                            })
                            .collect();
                        if through_base {
                            let part_sums: Vec<input_layer::PartSums> = parts.iter().filter_map(|p| p.1).collect();
                            sums.push(base.stepped(&part_sums, c));
                        } else {
                            let layer: Vec<(f64, f64)> = parts.into_iter().flat_map(|p| p.0).collect();
                            if with_base {
                                base.take(x, n, i, c, w0, &next.zt[..o * n], super::fold_norms(&layer));
                            }
                            sums.extend(layer);
                        }
                    }
                    None => {
                        super::forward::product(o, n, i, alpha, zs, tr(o), h_old, rm(i), 1.0, &mut w[w_range.clone()]);
                        sums.extend(block_norms_parallel(&w[w_range.clone()], &self.w0[w_range.clone()]));
                    }
                }
                if !b_range.is_empty() {
                    sums.extend(block_norms(&w[b_range.clone()], &self.w0[b_range.clone()]));
                }
            }
            // A fused layer's parts have made z[k] and h[k + 1].
            if !(self.trained[k] && fused.is_some()) {
                self.forward_product(w, k, next);
                self.finish_layer(w, k, next);
            }
        }
        next.scaled = zp;
        sums
    }
}
