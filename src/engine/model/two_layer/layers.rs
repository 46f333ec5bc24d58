//! Which of the two-layer net's layers are trained (`train.frozen_layers`, 1 = u, 2 = v) and
//! what depends on it: the 0/1 factors the kernel and J·w apply, zeroing a frozen layer's part
//! of Jᵀ·z and of a Jacobian row, the weight measurements over the trained part only, ρ and
//! mean v, and the Hessian scale h² along the top kernel eigenvector (SPEC §4).

use super::*;
use crate::engine::model::{WeightStats, dist_sq, norm_sq};

impl TwoLayer {
    /// [1, 1] when both layers are trained; 0 for a frozen layer (u first, then v).
    pub(super) fn layer_factors(&self) -> [f64; 2] {
        self.trained.map(|t| if t { 1.0 } else { 0.0 })
    }

    /// Sets the frozen layers' part of a parameter-length vector to 0.
    pub(super) fn zero_frozen(&self, out: &mut [f64]) {
        let (u, v) = out.split_at_mut(self.m * self.d);
        if !self.trained[0] {
            u.iter_mut().for_each(|x| *x = 0.0);
        }
        if !self.trained[1] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// The u part plus the v part of a weight measurement, frozen layers left out.
    pub(super) fn trained_part(&self, u_part: f64, v_part: f64) -> f64 {
        match self.trained {
            [true, true] => u_part + v_part,
            [true, false] => u_part,
            [false, true] => v_part,
            [false, false] => 0.0,
        }
    }

    /// h² = c² ‖Xᵀp̂1‖² / s_d² (SPEC §4): the squared norm of the Hessian of ⟨p̂1, f⟩, whose only
    /// blocks are the u_k–v_k cross terms c σ'_k Xᵀp̂1 / s_d. Invariant under duplicating the
    /// data (p̂1 spreads over the copies); for one example it is c² ‖x‖² / s_d². With a layer
    /// frozen, f is linear in what is trained: h² = 0.
    pub(super) fn hessian_scale_along(&self, data: &Dataset, p1: &[f64]) -> f64 {
        if self.trained != [true, true] {
            return 0.0;
        }
        let mut xt_p = vec![0.0; data.d];
        for (i, &p) in p1.iter().enumerate().take(data.n) {
            for (o, x) in xt_p.iter_mut().zip(data.row(i)) {
                *o += p * x;
            }
        }
        self.c * self.c * norm_sq(&xt_p) * self.s_inv * self.s_inv
    }

    /// d = 1: ‖w‖², ‖w − w0‖² (trained layers only) and the alignment, a pass each (2m values).
    fn weight_stats_line(&self, xt_y: &[f64]) -> WeightStats {
        if self.trained == [true, true] {
            return WeightStats::by_separate_passes(self, xt_y);
        }
        let split = self.m * self.d;
        let (u, v) = self.w.split_at(split);
        let (u0, v0) = self.w0.split_at(split);
        WeightStats {
            norm_sq: self.trained_part(norm_sq(u), norm_sq(v)),
            dist_sq: self.trained_part(dist_sq(u, u0), dist_sq(v, v0)),
            alignment: self.feature_alignment_of(xt_y),
        }
    }

    pub(super) fn feature_alignment_of(&self, xt_y: &[f64]) -> Option<(f64, f64)> {
        let (m, d) = (self.m, self.d);
        // ρ = (1/m) Σ_j (Xᵀy)_j Σ_k (u_kj − u0_kj): column sums of u − u0, vectorized over k.
        let mut columns = vec![0.0; d];
        if d == 1 {
            columns[0] = crate::engine::model::pair_sum(&self.w[..m], &self.w0[..m], |u, u0| u - u0);
        } else {
            for (u_k, u0_k) in self.w[..m * d].chunks(d).zip(self.w0[..m * d].chunks(d)) {
                for ((col, &u), &u0) in columns.iter_mut().zip(u_k).zip(u0_k) {
                    *col += u - u0;
                }
            }
        }
        let rho = crate::engine::model::dot(&columns, xt_y);
        let v = &self.w[m * d..];
        let v_mean = crate::engine::model::pair_sum(v, v, |x, _| x) / m as f64;
        Some((rho / m as f64, v_mean))
    }

    pub(super) fn weight_stats_of(&self, xt_y: &[f64]) -> crate::engine::model::WeightStats {
        let (m, d) = (self.m, self.d);
        if d == 1 {
            // Cheap already (2m values).
            return self.weight_stats_line(xt_y);
        }
        // One pass over the neurons, per chunk: per-column sums of u², (u − u0)² and u − u0
        // (vectorized over the d columns), and of v², (v − v0)², v.
        let partials = self.map_chunks_for(d + 1, |range| {
            let mut sums = vec![0.0; 3 * d + 3];
            let (cols, v_sums) = sums.split_at_mut(3 * d);
            let (norm_cols, rest) = cols.split_at_mut(d);
            let (dist_cols, diff_cols) = rest.split_at_mut(d);
            for k in range {
                let (u, u0) = (&self.w[k * d..(k + 1) * d], &self.w0[k * d..(k + 1) * d]);
                for j in 0..d {
                    let du = u[j] - u0[j];
                    norm_cols[j] += u[j] * u[j];
                    dist_cols[j] += du * du;
                    diff_cols[j] += du;
                }
                let (v, v0) = (self.w[m * d + k], self.w0[m * d + k]);
                v_sums[0] += v * v;
                v_sums[1] += (v - v0) * (v - v0);
                v_sums[2] += v;
            }
            sums
        });
        let mut total = vec![0.0; 3 * d + 3];
        sum_partials(partials, &mut total);
        let (norm_cols, dist_cols, diff_cols, v_sums) = (&total[..d], &total[d..2 * d], &total[2 * d..3 * d], &total[3 * d..]);
        crate::engine::model::WeightStats {
            norm_sq: self.trained_part(norm_cols.iter().sum::<f64>(), v_sums[0]),
            dist_sq: self.trained_part(dist_cols.iter().sum::<f64>(), v_sums[1]),
            alignment: Some((crate::engine::model::dot(diff_cols, xt_y) / m as f64, v_sums[2] / m as f64)),
        }
    }
}
