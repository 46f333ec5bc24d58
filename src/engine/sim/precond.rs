//! The preconditioned sharpness of the adaptive optimizers (SPEC §12): λ_max(P⁻¹∇²L) with
//! P = diag(√v̂ + ε) the optimizer's current preconditioner, as the top eigenvalue of the
//! symmetric P^{-1/2}∇²L P^{-1/2} (same spectrum), by Lanczos on exact Hessian-vector products
//! (`Model::hvp`) of the full-batch loss, warm-started from the previous step's vector.

use super::*;
use crate::engine::kernel::lanczos_top2;

impl Simulation {
    /// λ_max(P⁻¹∇²L) at the current weights; None for gd and momentum and before the first update.
    pub(super) fn precond_sharpness(&mut self) -> Option<f64> {
        let p = self.optimizer.preconditioner()?;
        let inv_sqrt: Vec<f64> = p.iter().map(|x| 1.0 / x.sqrt()).collect();
        let s = self.loss.scale(self.data.n);
        let z: Vec<f64> = self.outputs.iter().zip(&self.data.y).map(|(&f, &y)| s * self.loss.d1(f, y)).collect();
        let curvature: Vec<f64> = self.outputs.iter().zip(&self.data.y).map(|(&f, &y)| s * self.loss.d2(f, y)).collect();
        let n_params = inv_sqrt.len();
        if self.precond_start.len() != n_params {
            self.precond_start = vec![0.0; n_params];
        }
        let (model, data) = (self.model.as_ref(), &self.data);
        let (mut scaled, mut scratch) = (vec![0.0; n_params], Vec::new());
        let started = std::time::Instant::now();
        let top = lanczos_top2(
            n_params,
            |x, out| {
                for ((s, xi), q) in scaled.iter_mut().zip(x).zip(&inv_sqrt) {
                    *s = xi * q;
                }
                model.hvp(data, &z, &curvature, &scaled, out, &mut scratch);
                for (o, q) in out.iter_mut().zip(&inv_sqrt) {
                    *o *= q;
                }
            },
            &self.precond_start,
        );
        self.timing.kernel_secs += started.elapsed().as_secs_f64();
        self.precond_start = top.vectors[0].clone();
        Some(top.values[0])
    }
}
