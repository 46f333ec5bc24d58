//! The two-layer net away from its training data: f at single points (`for_each_neuron_at`,
//! used by `output_at`, the Jacobian row and the input gradient) and f on a whole held-out set
//! at once, its pre-activations X·Uᵀ through the GEMM in blocks of rows (test loss every step),
//! the input gradients ∇ₓf at many rows at once (the AGOP) as two matrix products, and the
//! kernel at a few other rows (an SGD batch) in closed form, O(b² m) instead of b explicit
//! Jacobian rows of length P.

use super::*;

/// Pre-activation entries a block of test rows may hold at once (8 MB).
const EVAL_BLOCK: usize = 1 << 20;
/// Most rows per block of test rows (fixed, so blocks split over threads the same way always).
const EVAL_ROWS: usize = 128;

impl TwoLayer {
    /// Calls `f(k, gate, z, z0)` for every neuron at one input x: z = u_kᵀx/s_d now, z0 at
    /// init, and the gate σ'(z) for the network or σ'(z0) for the Taylor models.
    pub(super) fn for_each_neuron_at(&self, x: &[f64], mut f: impl FnMut(usize, f64, f64, f64)) {
        let d = self.d;
        for k in 0..self.m {
            let z = crate::engine::model::dot(&self.w[k * d..(k + 1) * d], x) * self.s_inv;
            let z0 = crate::engine::model::dot(&self.w0[k * d..(k + 1) * d], x) * self.s_inv;
            let gate = gate_of(if self.approx == Approx::Network { z } else { z0 }, self.a_neg);
            f(k, gate, z, z0);
        }
    }
}

impl TwoLayer {
    /// f(x_i) for every row of `data` (any data set of dimension d), into `out`. Below the
    /// GEMM dimension, or in d = 1, one point at a time as `output_at`.
    pub(super) fn outputs_batched(&self, data: &Dataset, out: &mut [f64]) {
        let (m, d) = (self.m, self.d);
        if d < GEMM_D {
            for (i, o) in out.iter_mut().enumerate().take(data.n) {
                *o = Model::output_at(self, data.row(i));
            }
            return;
        }
        let taylor = self.approx != Approx::Network;
        let rows_per_block = eval_rows(m);
        let (v, v0) = (&self.w[m * d..], &self.w0[m * d..]);
        // Blocks of rows of a fixed size (from m only), on several threads when large: each
        // output is one row's own sum, so the result does not depend on the threads.
        let block = |(b, out_rows): (usize, &mut [f64])| {
            let (start, rows) = (b * rows_per_block, out_rows.len());
            let x = &data.x[start * d..(start + rows) * d];
            let mut z = vec![0.0; rows * m];
            let mut z0 = if taylor { vec![0.0; z.len()] } else { Vec::new() };
            // Z (rows × m) = X (rows × d) · Uᵀ (d × m), U stored m × d row-major.
            gemm(rows, d, m, self.s_inv, x, (d as isize, 1), &self.w, (1, d as isize), 0.0, &mut z, (m as isize, 1));
            if taylor {
                gemm(rows, d, m, self.s_inv, x, (d as isize, 1), &self.w0, (1, d as isize), 0.0, &mut z0, (m as isize, 1));
            }
            for (r, o) in out_rows.iter_mut().enumerate() {
                let zr = &z[r * m..(r + 1) * m];
                let mut total = 0.0;
                for k in 0..m {
                    total += match self.approx {
                        Approx::Network => v[k] * gate_of(zr[k], self.a_neg) * zr[k],
                        Approx::Quadratic => v[k] * gate_of(z0[r * m + k], self.a_neg) * zr[k],
                        Approx::Linearized => {
                            let z0k = z0[r * m + k];
                            gate_of(z0k, self.a_neg) * (v0[k] * zr[k] + (v[k] - v0[k]) * z0k)
                        }
                    };
                }
                *o = self.c * total;
            }
        };
        let out = &mut out[..data.n];
        if data.n * m * d >= PARALLEL_WORK && data.n > rows_per_block {
            out.par_chunks_mut(rows_per_block).enumerate().for_each(block);
        } else {
            out.chunks_mut(rows_per_block).enumerate().for_each(block);
        }
    }
}

/// Rows per block of the evaluations away from the training data: at most `EVAL_BLOCK`
/// pre-activations, and small enough that a 1000-row set splits over the threads.
fn eval_rows(m: usize) -> usize {
    (EVAL_BLOCK / m).clamp(1, EVAL_ROWS)
}

impl TwoLayer {
    /// The raw kernel at the rows of `data` (b × b): K_ij = c² Σ_k [a_k² g_ki g_kj x_i·x_j / s_d²
    /// + g_ki b_ki g_kj b_kj] with the gates g, coefficients a and b of the model variant (see
    /// the module header of `two_layer`), from the rows' pre-activations; frozen layers left out.
    pub(super) fn kernel_at_rows(&self, data: &Dataset, out: &mut [f64]) {
        let (m, d, b) = (self.m, self.d, data.n);
        // Z (b × m) = X (b × d) · Uᵀ / s_d, U stored m × d row-major.
        let pre = |w: &[f64]| -> Vec<f64> {
            let mut z = vec![0.0; b * m];
            gemm(b, d, m, self.s_inv, &data.x, (d as isize, 1), w, (1, d as isize), 0.0, &mut z, (m as isize, 1));
            z
        };
        let z = pre(&self.w);
        let z0 = if self.approx == Approx::Network { Vec::new() } else { pre(&self.w0) };
        let (v, v0) = (&self.w[m * d..], &self.w0[m * d..]);
        // Per row: ga_k = g_k a_k and gb_k = g_k b_k.
        let mut ga = vec![0.0; b * m];
        let mut gb = vec![0.0; b * m];
        for r in 0..b {
            for k in 0..m {
                let (zk, z0k) = (z[r * m + k], if z0.is_empty() { 0.0 } else { z0[r * m + k] });
                let (gate, a, bk) = match self.approx {
                    Approx::Network => (gate_of(zk, self.a_neg), v[k], zk),
                    Approx::Quadratic => (gate_of(z0k, self.a_neg), v[k], zk),
                    Approx::Linearized => (gate_of(z0k, self.a_neg), v0[k], z0k),
                };
                ga[r * m + k] = gate * a;
                gb[r * m + k] = gate * bk;
            }
        }
        let (c2, s2) = (self.c * self.c, self.s_inv * self.s_inv);
        // A frozen layer's term drops out (factor 0; 1 when trained, exact).
        let [fu, fv] = self.layer_factors();
        for i in 0..b {
            for j in i..b {
                let (gai, gaj) = (&ga[i * m..(i + 1) * m], &ga[j * m..(j + 1) * m]);
                let (gbi, gbj) = (&gb[i * m..(i + 1) * m], &gb[j * m..(j + 1) * m]);
                let xx = crate::engine::model::dot(data.row(i), data.row(j)) * s2;
                let k_ij = c2 * (fu * xx * crate::engine::model::dot(gai, gaj) + fv * crate::engine::model::dot(gbi, gbj));
                out[i * b + j] = k_ij;
                out[j * b + i] = k_ij;
            }
        }
    }
}

impl TwoLayer {
    /// ∇ₓf(x_i) for every row (n × d): c/s_d Σ_k g_ki a_k u_k, i.e. (G∘A) U for the network
    /// and the NQM (A = v), and (G0∘v0) U + (G0∘(v − v0)) U0 for the linearized model, with the
    /// rows' pre-activations from one matrix product. Equal to `input_gradient` row by row.
    pub(super) fn input_gradients_batched(&self, data: &Dataset, out: &mut [f64]) {
        let (m, d, n) = (self.m, self.d, data.n);
        let rows_per_block = eval_rows(m);
        let gate_weights = if self.approx == Approx::Network { &self.w } else { &self.w0 };
        let block = |(b, out_rows): (usize, &mut [f64])| {
            let (start, rows) = (b * rows_per_block, out_rows.len() / d);
            let x = &data.x[start * d..(start + rows) * d];
            // Z (rows × m), example-major: the gates' pre-activations.
            let mut z = vec![0.0; rows * m];
            gemm(rows, d, m, self.s_inv, x, (d as isize, 1), gate_weights, (1, d as isize), 0.0, &mut z, (m as isize, 1));
            self.input_gradients_from_gates(&z, rows, (m as isize, 1), out_rows);
        };
        let out = &mut out[..n * d];
        if n * m * d >= PARALLEL_WORK && n > rows_per_block {
            out.par_chunks_mut(rows_per_block * d).enumerate().for_each(block);
        } else {
            out.chunks_mut(rows_per_block * d).enumerate().for_each(block);
        }
    }

    /// `input_gradients_batched` at the training inputs of the last `forward`, from the cached
    /// pre-activations (network) or frozen gates' pre-activations (Taylor models): no product
    /// for the gates. Equal to the general form (the same pre-activations, up to rounding).
    pub(super) fn training_input_gradients_cached(&self, data: &Dataset, out: &mut [f64]) {
        let (d, n) = (self.d, self.n);
        if self.recompute || data.n != n {
            self.input_gradients_batched(data, out);
            return;
        }
        let rows_per_block = eval_rows(self.m);
        // The gates' pre-activations, neuron-major m × n: current (network) or initial.
        let z: &[f64] = if self.approx == Approx::Network { &self.pre } else { &self.pre0 };
        let block = |(b, out_rows): (usize, &mut [f64])| {
            let start = b * rows_per_block;
            self.input_gradients_from_gates(&z[start..], out_rows.len() / d, (1, n as isize), out_rows);
        };
        let out = &mut out[..n * d];
        if n * self.m * d >= PARALLEL_WORK && n > rows_per_block {
            out.par_chunks_mut(rows_per_block * d).enumerate().for_each(block);
        } else {
            out.chunks_mut(rows_per_block * d).enumerate().for_each(block);
        }
    }

    /// ∇ₓf at `rows` inputs (rows × d into `out`) from their gates' pre-activations `z`, entry
    /// (r, k) at z[r·strides.0 + k·strides.1]: c/s_d Σ_k g_rk a_k u_k as (G∘A) U for the network
    /// and the NQM (A = v), (G0∘v0) U + (G0∘(v − v0)) U0 for the linearized model.
    fn input_gradients_from_gates(&self, z: &[f64], rows: usize, (rs, ks): (isize, isize), out: &mut [f64]) {
        let (m, d) = (self.m, self.d);
        let (v, v0) = (&self.w[m * d..], &self.w0[m * d..]);
        let scale = self.c * self.s_inv;
        let linearized = self.approx == Approx::Linearized;
        let mut coef = vec![0.0; rows * m];
        let mut coef0 = if linearized { vec![0.0; rows * m] } else { Vec::new() };
        for r in 0..rows {
            for k in 0..m {
                let g = gate_of(z[r * rs as usize + k * ks as usize], self.a_neg);
                if linearized {
                    coef[r * m + k] = g * (v[k] - v0[k]);
                    coef0[r * m + k] = g * v0[k];
                } else {
                    coef[r * m + k] = g * v[k];
                }
            }
        }
        // out (rows × d) = scale · C (rows × m) · U (m × d); the linearized model: C·U0 + C0·U.
        if linearized {
            gemm(rows, m, d, scale, &coef, (m as isize, 1), &self.w0, (d as isize, 1), 0.0, out, (d as isize, 1));
            gemm(rows, m, d, scale, &coef0, (m as isize, 1), &self.w, (d as isize, 1), 1.0, out, (d as isize, 1));
        } else {
            gemm(rows, m, d, scale, &coef, (m as isize, 1), &self.w, (d as isize, 1), 0.0, out, (d as isize, 1));
        }
    }
}
