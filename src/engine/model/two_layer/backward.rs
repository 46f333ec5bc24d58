//! The two-layer net's Jᵀ·z over every parameter (u then v), in its three shapes: one example
//! on the line (a few multiplies per neuron), d = 1 (three sign-class sums), and the general
//! n × d case (one blocked product per chunk). `Model::vjp` zeroes the frozen layers' part.

use super::*;

impl TwoLayer {
    /// `out` = Jᵀz over all parameters, frozen or not.
    pub(super) fn vjp_all_layers(&self, data: &Dataset, z: &[f64], out: &mut [f64]) {
        let (m, d, n) = (self.m, self.d, self.n);
        let a = self.a_coeffs();
        let (c, s_inv) = (self.c, self.s_inv);
        let (out_u, out_v) = out.split_at_mut(m * d);
        if self.recompute && n == 1 {
            // One example on the line: every neuron is a few multiplies.
            let (xs, zc, a_neg) = (data.x[0] * s_inv, z[0] * c, self.a_neg);
            let gate = move |z: f64| gate_of(z, a_neg);
            let approx = self.approx;
            self.for_chunks_mut(out_u, 1, out_v, 1, |k0, du_rows, dv_rows| {
                let r = k0..k0 + du_rows.len();
                let (u, u0) = (&self.w[r.clone()], &self.w0[r.clone()]);
                let (v, v0) = (&self.w[m + r.start..m + r.end], &self.w0[m + r.start..m + r.end]);
                let rows = du_rows.iter_mut().zip(dv_rows.iter_mut()).zip(u.iter().zip(u0)).zip(v.iter().zip(v0));
                match approx {
                    Approx::Network => rows.for_each(|(((du, dv), (&u, _)), (&v, _))| {
                        let t = zc * gate(u * xs);
                        *du = t * v * xs;
                        *dv = t * (u * xs);
                    }),
                    Approx::Quadratic => rows.for_each(|(((du, dv), (&u, &u0)), (&v, _))| {
                        let t = zc * gate(u0 * xs);
                        *du = t * v * xs;
                        *dv = t * (u * xs);
                    }),
                    Approx::Linearized => rows.for_each(|(((du, dv), (_, &u0)), (_, &v0))| {
                        let t = zc * gate(u0 * xs);
                        *du = t * v0 * xs;
                        *dv = t * (u0 * xs);
                    }),
                }
            });
            return;
        }
        if self.recompute {
            // d = 1: neuron k's gate row is its class row g^σ(k) (see `line_class_weights`)
            // and b_k = q_k s x, so du_k = c s a_k T_σ(k) and dv_k = c s q_k T_σ(k) with
            // T_σ = Σ_i z_i g^σ_i x_i: three sums over the examples, then O(1) per neuron.
            let t = [0, 1, 2].map(|class| data.x.iter().zip(z).map(|(&x, &zi)| zi * self.line_class_gate(class, x) * x).sum::<f64>());
            let (approx, cs) = (self.approx, c * s_inv);
            self.for_chunks_mut_for(LINE_PASS, out_u, 1, out_v, 1, |k0, du_rows, dv_rows| {
                let r = k0..k0 + du_rows.len();
                let (u, u0) = (&self.w[r.clone()], &self.w0[r.clone()]);
                let (v, v0) = (&self.w[m + r.start..m + r.end], &self.w0[m + r.start..m + r.end]);
                line_class_vjp(du_rows, dv_rows, [u, u0, v, v0], t, cs, approx);
            });
            return;
        }
        self.for_chunks_mut(out_u, d, out_v, 1, |k0, du_rows, dv_rows| {
            let rows = dv_rows.len();
            let mut buf = vec![0.0; 2 * n];
            SCRATCH.with_borrow_mut(|t| {
                // t_ki = z_i g_ki; then du = T X (one product) and dv_k = Σ_i t_ki b_ki.
                t.resize(rows * n, 0.0);
                if self.approx == Approx::Network {
                    // The network's gates from its pre-activations, one vectorized pass.
                    let pre = &self.pre[k0 * n..(k0 + rows) * n];
                    fused::gated_rows(pre, n, z, self.a_neg, c, t, dv_rows);
                }
                for (r, t_row) in t.chunks_mut(n).enumerate().filter(|_| self.approx != Approx::Network) {
                    let (g, bk) = self.rows(data, k0 + r, &mut buf);
                    for ((ti, &gi), &zi) in t_row.iter_mut().zip(g).zip(z) {
                        *ti = gi * zi;
                    }
                    dv_rows[r] = c * crate::engine::model::dot(t_row, bk);
                }
                if d >= GEMM_D {
                    gemm(rows, n, d, 1.0, t, (n as isize, 1), &data.x, (d as isize, 1), 0.0, du_rows, (d as isize, 1));
                } else {
                    for (t_row, du_k) in t.chunks(n).zip(du_rows.chunks_mut(d)) {
                        if d == 1 {
                            du_k[0] = crate::engine::model::dot(t_row, &data.x);
                        } else {
                            du_k.iter_mut().for_each(|x| *x = 0.0);
                            for (i, &ti) in t_row.iter().enumerate() {
                                for (o, x) in du_k.iter_mut().zip(data.row(i)) {
                                    *o += ti * x;
                                }
                            }
                        }
                    }
                }
                for (r, du_k) in du_rows.chunks_mut(d).enumerate() {
                    let scale = c * a[k0 + r] * s_inv;
                    du_k.iter_mut().for_each(|x| *x *= scale);
                }
            });
        });
    }
}
