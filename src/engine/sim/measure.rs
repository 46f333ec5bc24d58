//! What a step measures (SPEC §4, §6): the top-2 kernel eigenpairs, the sample with its u/v
//! coordinates and extras, the teacher's test loss and AGOP alignment, SGD's batch critical rate
//! and its bookkeeping, and the theory numbers (γ_y, the Meltzer–Liu window).

use super::*;

/// SGD bookkeeping: steps, steps with η above the batch critical rate, loss increases and
/// those among them that happened with η above it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SgdStats {
    pub steps: u64,
    pub steps_above: u64,
    pub loss_rises: u64,
    pub rises_above: u64,
}

impl SgdStats {
    /// Share of steps with η > 2/λ̂(batch).
    pub fn share_above(&self) -> f64 {
        self.steps_above as f64 / self.steps.max(1) as f64
    }

    /// Share of loss increases that happened with η > 2/λ̂(batch) (None before any rise).
    pub fn match_rate(&self) -> Option<f64> {
        (self.loss_rises > 0).then(|| self.rises_above as f64 / self.loss_rises as f64)
    }
}

/// The best test measurements so far (SPEC §11: best test loss/accuracy and the step).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct BestTest {
    pub loss: Option<f64>,
    pub step: Option<u64>,
    pub acc: Option<f64>,
}

impl BestTest {
    pub(super) fn record(&mut self, sample: &Sample) {
        if let Some(loss) = sample.test_loss.filter(|l| l.is_finite())
            && self.loss.is_none_or(|best| loss < best)
        {
            self.loss = Some(loss);
            self.step = Some(sample.step);
        }
        if let Some(acc) = sample.test_acc {
            self.acc = Some(self.acc.map_or(acc, |best: f64| best.max(acc)));
        }
    }
}

/// Most entries of the training-input gradients the AGOP holds at once (n × d); a larger
/// training set is taken a block of rows at a time.
const AGOP_ROWS_ENTRIES: usize = 1 << 21;

impl Simulation {
    /// The normalized kernel's top two eigenvalues and top eigenvector at the current state.
    pub(super) fn kernel_top2(&mut self) -> (f64, f64, [Vec<f64>; 2]) {
        let weights = self.kernel_weights();
        let started = std::time::Instant::now();
        let top = self.solver.top2(self.model.as_ref(), &self.data, &weights);
        self.timing.kernel_secs += started.elapsed().as_secs_f64();
        (top.values[0], top.values[1], top.vectors)
    }

    /// The weights s ℓ''(f_i, y_i) of the normalized kernel.
    fn kernel_weights(&self) -> Vec<f64> {
        let s = self.loss.scale(self.data.n);
        self.outputs.iter().zip(&self.data.y).map(|(&f, &y)| s * self.loss.d2(f, y)).collect()
    }

    /// `kernel_top2` and `test_measurements` at once, the latter on a thread of its own: they
    /// are independent, and the eigen-solver's serial Rayleigh–Ritz steps leave a core idle that
    /// the test loss and the AGOP (W5: ≈ 1.4 ms) can use; W5 12.2 → 11.8 ms/step (medians of
    /// five interleaved pairs). Worth the thread only for a large kernel with test measurements
    /// to make. The same numbers either way (each side is the same computation).
    fn kernel_top2_beside_tests(&mut self) -> ((f64, f64, [Vec<f64>; 2]), TestMeasurements) {
        if self.data.n < BESIDE_MIN_N || (self.test.is_none() && self.agop_target.is_none()) {
            return (self.kernel_top2(), self.test_measurements());
        }
        // A model that keeps weight updates pending (the layered net's input layer) applies
        // them on the first read, under a lock and with parallel work; done here, before two
        // threads read, so neither can wait on that lock inside the other's parallel work.
        let _ = self.model.params();
        let weights = self.kernel_weights();
        let probe = Probe { model: self.model.as_ref(), data: &self.data, test: self.test.as_ref(), loss: &self.loss, agop_target: self.agop_target.as_deref() };
        let (solver, model, data) = (&mut self.solver, self.model.as_ref(), &self.data);
        let (top, secs, tests) = std::thread::scope(|scope| {
            let tests = scope.spawn(|| probe.test_measurements());
            let started = std::time::Instant::now();
            let top = solver.top2(model, data, &weights);
            let secs = started.elapsed().as_secs_f64();
            (top, secs, tests.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        self.timing.kernel_secs += secs;
        ((top.values[0], top.values[1], top.vectors), tests)
    }

    /// Measures the current state; `fused` carries what a fused one-example step already
    /// computed (kernel, norms, alignment), so no second pass over the weights is made.
    pub(super) fn measure(&mut self, fused: Option<model::FusedOneExample>) -> Sample {
        let loss = self.loss.total(&self.outputs, &self.data.y);
        let finite = loss.is_finite() && self.outputs.iter().all(|f| f.is_finite());
        let s = self.loss.scale(self.data.n);
        let ((lambda_hat, lambda_hat_2, [p1, p2]), (test_loss, test_acc, agop_alignment)) = match (fused, finite) {
            (_, false) => ((f64::NAN, f64::NAN, [vec![0.0; self.data.n], vec![0.0; self.data.n]]), (None, None, None)),
            // n = 1: K̂ = s ℓ'' K is 1 × 1, its eigenvector is 1.
            (Some(state), true) => ((s * self.loss.d2(self.outputs[0], self.data.y[0]) * state.kernel, 0.0, [vec![1.0], vec![0.0]]), self.test_measurements()),
            (None, true) => self.kernel_top2_beside_tests(),
        };
        let (lambda_raw, lambda_ntk) = match (&mut self.raw_solver, finite) {
            (Some(_), true) if fused.is_some() => {
                let raw_value = fused.map_or(0.0, |state| state.kernel);
                (raw_value, Some(s * raw_value))
            }
            (Some(raw), true) => {
                let ones = vec![1.0; self.data.n];
                let raw_value = raw.top2(self.model.as_ref(), &self.data, &ones).values[0];
                (raw_value, Some(s * raw_value))
            }
            (Some(_), false) => (f64::NAN, Some(f64::NAN)),
            (None, _) => (lambda_hat / (s * self.loss.d2(0.0, 0.0)), None),
        };
        let residual: Vec<f64> = self.outputs.iter().zip(&self.data.y).map(|(f, y)| f - y).collect();
        let eta_e = 2.0 * s * self.eta;
        let projection = dot(&residual, &p1);
        // h² along p̂1 (SPEC §4): c² ‖Xᵀp̂1‖² / s_d² for the two-layer net, so u does not change
        // when the data are duplicated.
        let hessian_scale_sq = match (finite, self.extra.skip_u) {
            (false, _) => f64::NAN,
            (true, true) => 0.0,
            (true, false) => self.model.hessian_scale_sq(&self.data, &p1),
        };
        let u = eta_e * eta_e * hessian_scale_sq * projection * projection;
        let loss_top = (self.loss.kind == LossKind::Mse).then(|| {
            let second = dot(&residual, &p2);
            s * (projection * projection + second * second)
        });
        let train_acc = self.data.has_pm1_labels().then(|| {
            let correct = self.outputs.iter().zip(&self.data.y).filter(|(f, y)| f.signum() == **y && **f != 0.0).count();
            correct as f64 / self.data.n as f64
        });
        let stats = match fused {
            Some(state) => model::WeightStats { norm_sq: state.weight_norm_sq, dist_sq: state.dist_from_init_sq, alignment: Some((state.rho, state.v_mean)) },
            None => self.model.weight_stats(&self.xt_y),
        };
        let (rho, v_mean) = stats.alignment.unzip();
        let (weight_norm_sq, dist_from_init) = (stats.norm_sq, stats.dist_sq.sqrt());
        let extras = self.measure_extras(loss, &residual, [lambda_hat, lambda_hat_2], [&p1, &p2], finite);
        Sample {
            step: self.step,
            eta: self.eta,
            loss,
            lambda_hat,
            lambda_hat_2,
            lambda_raw,
            eta_lambda: self.eta * lambda_hat,
            weight_norm_sq,
            dist_from_init,
            u,
            v: self.eta * lambda_hat,
            train_acc,
            sparsity: self.model.sparsity(),
            rho,
            v_mean,
            lambda_ntk,
            loss_top,
            test_loss,
            test_acc,
            agop_alignment,
            batch_crit_eta: self.last_batch_crit.take(),
            precond_sharpness: self.precond_sharpness(),
            edge_sharpness: (self.preset.train.optimizer != OptimizerKind::Gd).then(|| self.optimizer.edge() / self.eta),
            hessian_top: extras.hessian_top,
            loss_top_s: extras.loss_top_s,
            loss_rest_s: extras.loss_rest_s,
            kernel_change: extras.kernel_change,
            layer_sparsity: extras.layer_sparsity,
        }
    }

    /// The held-out test set (data kinds with a test split).
    pub fn test_data(&self) -> Option<&Dataset> {
        self.test.as_ref()
    }

    /// Test loss and accuracy (by sign, for ±1 labels) on the held-out set, and the AGOP
    /// alignment cos(G, G*) for teacher data (None where they do not apply).
    pub(super) fn test_measurements(&self) -> TestMeasurements {
        self.probe_parts().test_measurements()
    }

    /// The model's AGOP G = (1/n) Σ ∇ₓf(x_i) ∇ₓf(x_i)ᵀ on the training inputs (d × d).
    pub fn agop(&self) -> Option<Vec<f64>> {
        self.probe_parts().agop()
    }

    /// `agop` with the training inputs' gradients taken `rows` rows at a time and G accumulated
    /// (what `agop` does for a training set above `AGOP_ROWS_ENTRIES` entries; public for its
    /// test).
    pub fn agop_by_blocks(&self, rows: usize) -> Option<Vec<f64>> {
        self.probe_parts().agop_by_blocks(rows)
    }

    /// What the test measurements read (`kernel_top2_beside_tests` borrows the same fields one
    /// by one, beside the kernel solver borrowed mutably).
    fn probe_parts(&self) -> Probe<'_> {
        Probe { model: self.model.as_ref(), data: &self.data, test: self.test.as_ref(), loss: &self.loss, agop_target: self.agop_target.as_deref() }
    }

    /// The teacher's AGOP G* = (1/n) Σ ∇f*(x_i) ∇f*(x_i)ᵀ on the training inputs (teacher data).
    pub fn agop_target(&self) -> Option<&[f64]> {
        self.agop_target.as_deref()
    }

    /// 2/λ̂ of the normalized kernel of one batch at the current weights (SGD's batch
    /// critical rate); None when the batch Jacobian would be too large to form (> 2·10⁷ entries).
    pub(super) fn batch_critical_eta(&self, batch: &[usize]) -> Option<f64> {
        let b = batch.len();
        let rows = Dataset { n: b, d: self.data.d, x: batch.iter().flat_map(|&i| self.data.row(i).iter().copied()).collect(), y: Vec::new() };
        let mut kernel = vec![0.0; b * b];
        if !self.model.kernel_on(&rows, &mut kernel) {
            return None;
        }
        let s = self.loss.scale(b);
        let root: Vec<f64> = batch.iter().map(|&i| (s * self.loss.d2(self.outputs[i], self.data.y[i])).max(0.0).sqrt()).collect();
        for r in 0..b {
            for c in 0..b {
                kernel[r * b + c] *= root[r] * root[c];
            }
        }
        let top = dense_top2(&kernel, b).values[0];
        (top > 0.0).then(|| 2.0 / top)
    }

    /// SGD statistics so far (SGD runs only): how often η exceeded the batch critical rate,
    /// and which share of the loss increases happened on such steps (the match rate).
    pub fn sgd_stats(&self) -> Option<SgdStats> {
        (self.sgd.steps > 0).then_some(self.sgd)
    }

    /// γ_y = yᵀXXᵀy = ‖Xᵀy‖² (Huang et al. 2025: ρ/v̄ rises to √γ_y).
    pub fn gamma_y(&self) -> f64 {
        norm_sq(&self.xt_y)
    }

    /// Meltzer–Liu bounds (SPEC §6) in η·λ̂0 units, for a two-layer homogeneous net on one
    /// example with y = 0 and MSE: (catapult guaranteed below, divergence guaranteed above —
    /// None for ReLU, a_neg = 0). Only where the catapult window 2 < η·λ̂0 < bound is not
    /// empty: for ReLU the bound is ≈ 2(1 + a_neg²) = 2 (below 2 at finite width), no guarantee.
    pub fn meltzer_liu_bounds(&self) -> Option<(f64, Option<f64>)> {
        self.meltzer_liu_formula().filter(|(catapult, _)| *catapult > 2.0)
    }

    /// True when Meltzer–Liu's setting applies (two-layer homogeneous net, one example, y = 0,
    /// MSE), whether or not its catapult window is empty (ReLU: "no guarantee").
    pub fn meltzer_liu_applies(&self) -> bool {
        self.meltzer_liu_formula().is_some()
    }

    /// The Meltzer–Liu bounds as the formulas give them, empty window or not.
    fn meltzer_liu_formula(&self) -> Option<(f64, Option<f64>)> {
        let m = &self.preset.model;
        let applies = m.kind == ModelKind::TwoLayer
            && m.approx == Approx::Network
            && self.data.n == 1
            && self.data.y[0] == 0.0
            && self.loss.kind == LossKind::Mse;
        let theta0_sq = self.stats.first.weight_norm_sq;
        // One example: p̂1 = 1 and h² = κ = c² ‖x‖² / s_d². Not a theorem with a layer frozen.
        let kappa = self.model.hessian_scale_sq(&self.data, &[1.0]);
        if !self.preset.train.frozen_layers.is_empty() {
            return None;
        }
        if !applies || theta0_sq <= 0.0 || kappa <= 0.0 || self.lambda0 <= 0.0 {
            return None;
        }
        let two_s = 2.0 * self.loss.scale(1);
        let catapult = self.lambda0 * 4.0 / (two_s * kappa * theta0_sq);
        let divergence = (m.a_neg > 0.0).then(|| self.lambda0 * 4.0 / (two_s * kappa * m.a_neg * m.a_neg * theta0_sq));
        Some((catapult, divergence))
    }
}

/// Test loss, test accuracy and AGOP alignment (None where they do not apply).
pub(super) type TestMeasurements = (Option<f64>, Option<f64>, Option<f64>);

/// From this many training examples on, `kernel_top2_beside_tests` runs the test measurements
/// on a thread of their own (a thread costs tens of µs; W1's whole step is 50).
const BESIDE_MIN_N: usize = 256;

/// The state the test measurements read.
#[derive(Clone, Copy)]
struct Probe<'a> {
    model: &'a dyn Model,
    data: &'a Dataset,
    test: Option<&'a Dataset>,
    loss: &'a Loss,
    agop_target: Option<&'a [f64]>,
}

impl Probe<'_> {
    /// Test loss and accuracy (by sign, for ±1 labels) on the held-out set, and the AGOP
    /// alignment cos(G, G*) for teacher data (None where they do not apply).
    fn test_measurements(&self) -> TestMeasurements {
        let (test_loss, test_acc) = match self.test {
            None => (None, None),
            Some(test) => {
                let mut predictions = vec![0.0; test.n];
                self.model.outputs_on(test, &mut predictions);
                // The test loss is normalized like the training loss (s over the test set's size).
                let test_loss = self.loss.total(&predictions, &test.y);
                let test_acc = test.has_pm1_labels().then(|| {
                    let correct = predictions.iter().zip(&test.y).filter(|(f, y)| f.signum() == **y && **f != 0.0).count();
                    correct as f64 / test.n.max(1) as f64
                });
                (Some(test_loss), test_acc)
            }
        };
        // The AGOP lives on the training inputs: measured with or without a test split.
        let alignment = self.agop_target.and_then(|target| {
            let g = self.agop()?;
            let (gg, tt): (f64, f64) = (norm_sq(&g), norm_sq(target));
            (gg > 0.0 && tt > 0.0).then(|| dot(&g, target) / (gg * tt).sqrt())
        });
        (test_loss, test_acc, alignment)
    }

    /// The model's AGOP G = (1/n) Σ ∇ₓf(x_i) ∇ₓf(x_i)ᵀ on the training inputs (d × d).
    fn agop(&self) -> Option<Vec<f64>> {
        let (n, d) = (self.data.n, self.data.d);
        let mut g = vec![0.0; d * d];
        if n * d <= AGOP_ROWS_ENTRIES {
            let mut grads = vec![0.0; n * d];
            if !self.model.training_input_gradients(&self.data, &mut grads) {
                return None;
            }
            // G = (1/n) Σ_i ∇f_i ∇f_iᵀ = (1/n) ∇Fᵀ∇F (one matrix product), upper triangle mirrored.
            crate::engine::linalg::gemm(d, n, d, 1.0 / n as f64, &grads, (1, d as isize), &grads, (d as isize, 1), 0.0, &mut g, (d as isize, 1));
        } else {
            // A large training set: a block of rows at a time.
            return self.agop_by_blocks((AGOP_ROWS_ENTRIES / d).max(1));
        }
        for a in 0..d {
            for b in 0..a {
                g[a * d + b] = g[b * d + a];
            }
        }
        Some(g)
    }

    /// `agop` with the training inputs' gradients taken `rows` rows at a time and G accumulated
    /// (what `agop` does for a training set above `AGOP_ROWS_ENTRIES` entries; public for its
    /// test).
    fn agop_by_blocks(&self, rows: usize) -> Option<Vec<f64>> {
        let (n, d) = (self.data.n, self.data.d);
        let rows = rows.clamp(1, n.max(1));
        let mut g = vec![0.0; d * d];
        let mut grads = vec![0.0; rows * d];
        for start in (0..n).step_by(rows) {
            let r = rows.min(n - start);
            let block = Dataset { n: r, d, x: self.data.x[start * d..(start + r) * d].to_vec(), y: Vec::new() };
            if !self.model.input_gradients(&block, &mut grads[..r * d]) {
                return None;
            }
            crate::engine::linalg::gemm(d, r, d, 1.0 / n as f64, &grads, (1, d as isize), &grads, (d as isize, 1), 1.0, &mut g, (d as isize, 1));
        }
        for a in 0..d {
            for b in 0..a {
                g[a * d + b] = g[b * d + a];
            }
        }
        Some(g)
    }
}
