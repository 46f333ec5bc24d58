//! The two-layer net's output Hessians applied to a direction (SPEC §11): Σ_i z_i ∇²f(x_i)·w.
//! f = c Σ_k v_k σ(u_kᵀx/s_d) with σ piecewise linear (σ'' = 0 off the kinks), so the only
//! second derivatives are the u_k–v_k cross blocks ∂²f/∂u_k∂v_k = c σ'(z_k) x/s_d; the
//! quadratic (NQM) model has the same blocks with its frozen gates, the linearized model none.
//! With T_k = Σ_i z_i g_ki x_i: (·)_{u_k} = c/s_d · w_{v_k} T_k and (·)_{v_k} = c/s_d · T_kᵀw_{u_k}.
//! A frozen layer is a constant, so with either layer frozen the product is 0.

use super::*;

impl TwoLayer {
    pub(super) fn output_hessian_along(&self, data: &Dataset, z: &[f64], dir: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        if self.approx == Approx::Linearized || self.trained != [true, true] {
            return;
        }
        let (m, d, n) = (self.m, self.d, self.n);
        let scale = self.c * self.s_inv;
        let (out_u, out_v) = out.split_at_mut(m * d);
        let (dir_u, dir_v) = dir.split_at(m * d);
        let mut buf = vec![0.0; 2 * n];
        let mut t = vec![0.0; d];
        for k in 0..m {
            let (g, _) = self.rows(data, k, &mut buf);
            t.iter_mut().for_each(|x| *x = 0.0);
            for i in 0..n {
                let weight = z[i] * g[i];
                if weight != 0.0 {
                    for (tj, xj) in t.iter_mut().zip(data.row(i)) {
                        *tj += weight * xj;
                    }
                }
            }
            let du = &dir_u[k * d..(k + 1) * d];
            for (o, tj) in out_u[k * d..(k + 1) * d].iter_mut().zip(&t) {
                *o = scale * dir_v[k] * tj;
            }
            out_v[k] = scale * super::super::dot(&t, du);
        }
    }
}
