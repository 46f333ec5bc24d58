//! The network's elementwise passes over its m × n pre-activation rows (forward outputs and
//! the negative count, Jᵀz's gated rows, the dense kernel's scaled copies), each one loop
//! compiled for AVX-512/AVX2 as well as the baseline (`simd::multiversion!`). Elementwise
//! products and per-example sums in neuron order are exact the same way at every level, and
//! the one reduction (`dot`) keeps its fixed lanes, so all levels give the same bits.

use super::*;

simd::multiversion! {
    /// acc_i += v_r σ'(z_ri) z_ri over the rows r of `pre` (rows × n), v_r = `v[r]`; returns
    /// the number of negative entries.
    pub(super) fn relu_rows_accumulate(pre: &[f64], n: usize, v: &[f64], a_neg: f64, acc: &mut [f64]) -> u64 {
        let mut negatives = 0u64;
        for (row, &vk) in pre.chunks(n).zip(v) {
            for (o, &z) in acc[..n].iter_mut().zip(row) {
                *o += vk * gate_of(z, a_neg) * z;
                negatives += (z < 0.0) as u64;
            }
        }
        negatives
    }
}

simd::multiversion! {
    /// For the rows r of `pre` (rows × n): t_ri = σ'(z_ri) w_i and dots_r = scale · t_r·z_r.
    pub(super) fn gated_rows(pre: &[f64], n: usize, w: &[f64], a_neg: f64, scale: f64, t: &mut [f64], dots: &mut [f64]) -> () {
        for ((row, t_row), dot_r) in pre.chunks(n).zip(t.chunks_mut(n)).zip(dots.iter_mut()) {
            for ((ti, &z), &wi) in t_row.iter_mut().zip(row).zip(w) {
                *ti = gate_of(z, a_neg) * wi;
            }
            *dot_r = scale * crate::engine::model::dot(t_row, row);
        }
    }
}

simd::multiversion! {
    /// The dense kernel's scaled copies of one neuron row b (n): row_a = |a| σ'(b), row_b = σ'(b) b.
    pub(super) fn scaled_copies(b: &[f64], a_abs: f64, a_neg: f64, row_a: &mut [f64], row_b: &mut [f64]) -> () {
        for ((o_a, o_b), &bi) in row_a.iter_mut().zip(row_b.iter_mut()).zip(b) {
            let gi = gate_of(bi, a_neg);
            *o_a = a_abs * gi;
            *o_b = gi * bi;
        }
    }
}
