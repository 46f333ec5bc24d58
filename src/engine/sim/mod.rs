//! One training run (SPEC §3–5): a preset becomes data, a model and a learning rate; `step`
//! makes one gradient-descent update and returns the measured `Sample`; the run stops cleanly
//! on divergence, classifies its phase and reports its `Summary`.

use crate::engine::config::{Approx, EtaSpec, LossKind, ModelKind, OptimizerKind, Preset, ScheduleKind};
use crate::engine::data::{self, Dataset, STREAM_BATCH, Separability, rng_for};
use crate::engine::kernel::{KernelMethod, KernelSolver, dense_top2};
use crate::engine::loss::Loss;
use crate::engine::model::{self, Model, dot, norm_sq};
use crate::engine::optim::Optimizer;
use crate::engine::schedule::AutoCatapult;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

mod hessian;
mod measure;
mod phase;
mod picture;
mod precond;
mod rates;
mod sample;

pub use measure::SgdStats;
pub use hessian::{HESSIAN_MAX_BASIS, LANCZOS_BASIS_BYTES, LANCZOS_MIN_BASIS, LanczosWork, MAX_SPARSITY_LAYERS, MeasureSummary, auto_hessian_every, auto_kernel_every, lanczos_basis_len, lanczos_largest, lanczos_largest_in};
pub use picture::{DataPicture, ImageTile};
use measure::BestTest;

pub use phase::{Phase, PhaseReading, Regime, YOUNG_STEPS};
pub use sample::{EXTRA_COUNT, Sample, Status, Summary, extra_presence};
use sample::{BATCH_CRIT_EXTRA, EDGE_EXTRA, PRECOND_EXTRA};
use phase::{RunStats, classify, undecided};


/// A training run.
pub struct Simulation {
    preset: Preset,
    data: Dataset,
    model: Box<dyn Model>,
    loss: Loss,
    solver: KernelSolver,
    /// A second solver for λ_max(K) when ℓ'' is not constant.
    raw_solver: Option<KernelSolver>,
    eta: f64,
    eta0: f64,
    lambda0: f64,
    lambda0_2: f64,
    step: u64,
    steps_limit: u64,
    outputs: Vec<f64>,
    previous_outputs: Vec<f64>,
    /// f at the step before `previous_outputs` (2-cycle detection).
    outputs_two_back: Vec<f64>,
    /// ‖f(w0)‖ on the training data, the scale against which output moves are judged.
    output_norm0: f64,
    grad: Vec<f64>,
    z: Vec<f64>,
    schedule_pos: usize,
    batch_order: Vec<usize>,
    batch_pos: usize,
    batch_rng: ChaCha8Rng,
    xt_y: Vec<f64>,
    status: Status,
    stats: RunStats,
    /// The lowest test loss so far, its step, and the best test accuracy.
    best_test: BestTest,
    /// Held-out test set (teacher data).
    test: Option<Dataset>,
    /// The teacher's AGOP on the training inputs (teacher data).
    agop_target: Option<Vec<f64>>,
    /// The batch critical rate of the update just made (SGD), reported with its sample.
    last_batch_crit: Option<f64>,
    sgd: SgdStats,
    timing: StepTiming,
    /// The optimizer's state (velocity, moments): part of the run, fresh on every rebuild.
    optimizer: Optimizer,
    /// The top eigenvector of P^{-1/2}∇²L P^{-1/2} at the last measurement (Lanczos warm start).
    precond_start: Vec<f64>,
    /// `auto_catapult` bookkeeping.
    auto: Option<AutoCatapult>,
    /// The SPEC §11 measurements' state (λ_H warm start, K_0, their summary).
    extra: hessian::ExtraMeasures,
}

/// Wall-clock time spent inside `step` so far, split by stage (for `catapult-lab bench`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTiming {
    /// Gradient (Jᵀ·z), the update and the forward pass.
    pub forward_backward_secs: f64,
    /// The kernel's top-2 eigenpairs.
    pub kernel_secs: f64,
    /// Everything else in `step` (the other measurements, bookkeeping).
    pub other_secs: f64,
}

impl Simulation {
    /// Builds the run from a validated preset with the automatic kernel method.
    pub fn new(preset: &Preset) -> Result<Simulation, String> {
        Simulation::with_kernel_method(preset, KernelMethod::Auto)
    }

    /// Builds the run; `method` forces dense or Lanczos eigenvalues (tests compare them).
    pub fn with_kernel_method(preset: &Preset, method: KernelMethod) -> Result<Simulation, String> {
        let (data, test) = data::build(&preset.data, preset.seed)?;
        if preset.model.kind != ModelKind::TwoLayer && preset.model.w0.as_ref().is_some_and(|w0| w0.len() != data.d) {
            return Err(format!("model.w0 has the wrong length for data of dimension {}", data.d));
        }
        let mut model = model::build(preset, &data);
        let mut outputs = vec![0.0; data.n];
        model.forward(&data, &mut outputs);
        let loss = Loss { kind: preset.loss.kind, reduction: preset.loss.reduction };
        let raw_solver = (!loss.constant_curvature()).then(|| KernelSolver::new(method));
        let xt_y = data.xt_y();
        let batch_rng = rng_for(preset.seed, STREAM_BATCH);
        let n_params = model.n_params();
        let n = data.n;
        let mut sim = Simulation {
            preset: preset.clone(),
            data,
            model,
            loss,
            solver: { let mut solver = KernelSolver::new(method); solver.set_top_k(preset.measure.top_s); solver },
            raw_solver,
            eta: 0.0,
            eta0: 0.0,
            lambda0: 0.0,
            lambda0_2: 0.0,
            step: 0,
            steps_limit: preset.train.steps as u64,
            previous_outputs: outputs.clone(),
            outputs_two_back: outputs.clone(),
            output_norm0: norm_sq(&outputs).sqrt(),
            outputs,
            grad: vec![0.0; n_params],
            z: vec![0.0; n],
            schedule_pos: 0,
            batch_order: Vec::new(),
            batch_pos: 0,
            batch_rng,
            xt_y,
            status: Status::Running,
            test,
            agop_target: None,
            last_batch_crit: None,
            sgd: SgdStats::default(),
            timing: StepTiming::default(),
            best_test: BestTest::default(),
            optimizer: Optimizer::new(&preset.train, n_params),
            precond_start: Vec::new(),
            auto: None,
            extra: Default::default(),
            stats: RunStats::new(Sample {
                step: 0, eta: 0.0, loss: 0.0, lambda_hat: 0.0, lambda_hat_2: 0.0, lambda_raw: 0.0, eta_lambda: 0.0,
                weight_norm_sq: 0.0, dist_from_init: 0.0, u: 0.0, v: 0.0, train_acc: None, sparsity: None, rho: None,
                v_mean: None, lambda_ntk: None, loss_top: None, test_loss: None, test_acc: None, agop_alignment: None, batch_crit_eta: None,
                precond_sharpness: None, edge_sharpness: None, ..Default::default()
            }),
        };
        if preset.data.kind == crate::engine::config::DataKind::Teacher {
            let d = sim.data.d;
            let mut grad = vec![0.0; d];
            let mut target = vec![0.0; d * d];
            for i in 0..sim.data.n {
                data::teacher::gradient(preset.data.teacher, sim.data.row(i), &mut grad);
                for a in 0..d {
                    for b in 0..d {
                        target[a * d + b] += grad[a] * grad[b] / sim.data.n as f64;
                    }
                }
            }
            sim.agop_target = Some(target);
        }
        // λ̂0 first (η may be given in its units), then the step-0 sample with that η.
        let (lambda0, lambda0_2, _) = sim.kernel_top2();
        if !lambda0.is_finite() || !sim.outputs.iter().all(|f| f.is_finite()) {
            return Err("the initial network output or kernel is not finite; lower model.init_scale".into());
        }
        sim.lambda0 = lambda0;
        sim.lambda0_2 = lambda0_2;
        sim.eta = sim.resolve_eta(preset.train.eta_spec())?;
        if preset.train.schedule_kind == ScheduleKind::Cyclic {
            sim.eta = sim.cyclic_eta(0);
        }
        sim.eta0 = sim.eta;
        sim.extra = hessian::ExtraMeasures::new(preset, sim.model.as_ref(), &sim.data);
        let first = sim.measure(None);
        if !first.is_finite() {
            return Err("the initial state is not finite; lower model.init_scale".into());
        }
        sim.best_test.record(&first);
        sim.stats = RunStats::new(first);
        Ok(sim)
    }

    fn resolve_eta(&self, spec: EtaSpec) -> Result<f64, String> {
        match spec {
            EtaSpec::Raw(eta) => Ok(eta),
            EtaSpec::Scaled(x) => {
                if self.lambda0 > 0.0 {
                    Ok(x / self.lambda0)
                } else {
                    Err("train.eta_scaled needs λ̂0 > 0, but the kernel at init is zero (e.g. model.init_scale = 0); set train.eta instead".into())
                }
            }
        }
    }

    /// Time spent in `step` so far, by stage.
    pub fn timing(&self) -> StepTiming {
        self.timing
    }

    /// The model being trained (read only).
    pub fn model(&self) -> &dyn Model {
        self.model.as_ref()
    }

    /// The kernel solver of λ̂ (its work counters).
    pub fn kernel_solver(&self) -> &KernelSolver {
        &self.solver
    }

    /// The optional CSV columns this run has (`output::EXTRA_COLUMNS` order): those of its
    /// first sample, plus the batch critical rate for SGD.
    pub fn extra_columns(&self) -> [bool; EXTRA_COUNT] {
        let mut present = extra_presence(&self.stats.first);
        let b = self.preset.train.batch_size;
        present[BATCH_CRIT_EXTRA] |= b > 0 && b < self.data.n;
        present[PRECOND_EXTRA] |= self.preset.train.optimizer.adaptive();
        present[EDGE_EXTRA] |= self.preset.train.optimizer != OptimizerKind::Gd;
        present
    }

    /// The sample at step 0 (initialization).
    pub fn first_sample(&self) -> &Sample {
        &self.stats.first
    }

    /// The last finite sample.
    pub fn last_sample(&self) -> &Sample {
        &self.stats.last
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn is_running(&self) -> bool {
        self.status == Status::Running && self.step < self.steps_limit
    }

    pub fn step_count(&self) -> u64 {
        self.step
    }

    pub fn preset(&self) -> &Preset {
        &self.preset
    }

    /// The model's outputs on the training set now.
    pub fn outputs(&self) -> &[f64] {
        &self.outputs
    }

    pub fn data(&self) -> &Dataset {
        &self.data
    }

    pub fn eta(&self) -> f64 {
        self.eta
    }

    /// λ̂0, the top eigenvalue of the normalized kernel at init.
    pub fn lambda0(&self) -> f64 {
        self.lambda0
    }

    /// η_crit = 2/λ̂0, the lazy stability edge.
    pub fn eta_crit(&self) -> f64 {
        2.0 / self.lambda0
    }

    /// η_max where theory gives one (SPEC §6): 4/λ̂0 for quadratic models and two-layer linear
    /// nets, 2/λ̂0 for a linearized model (it is linear); MSE only.
    pub fn eta_max_theory(&self) -> Option<f64> {
        if self.loss.kind != LossKind::Mse || self.lambda0 <= 0.0 {
            return None;
        }
        let m = &self.preset.model;
        match m.kind {
            ModelKind::Quadratic => Some(4.0 / self.lambda0),
            ModelKind::LinearPredictor => Some(2.0 / self.lambda0),
            ModelKind::TwoLayer => match m.approx {
                Approx::Quadratic => Some(4.0 / self.lambda0),
                Approx::Linearized => Some(2.0 / self.lambda0),
                Approx::Network if m.a_neg == 1.0 => Some(4.0 / self.lambda0),
                Approx::Network => None,
            },
            ModelKind::Mlp => match m.approx {
                Approx::Linearized => Some(2.0 / self.lambda0),
                Approx::Quadratic | Approx::Network => None,
            },
        }
    }

    /// The exact critical rate where a paper gives one (SPEC §5, §6): the linear predictor on
    /// degenerate data (every x_i the same x, labels ±1 in equal numbers) with exponential or
    /// logistic loss. The loss is even in t = wᵀx and t' = t − η ‖x‖² L'(t), so the rate that
    /// sends t0 to −t0 is η_crit = 2 t0 / (‖x‖² L'(t0)): 2w0/sinh(w0) (exponential) and
    /// 4w0/tanh(w0/2) (logistic) for x = 1 twice with mean reduction. None elsewhere.
    pub fn eta_crit_theory(&self) -> Option<f64> {
        if self.preset.model.kind != ModelKind::LinearPredictor || self.loss.kind == LossKind::Mse {
            return None;
        }
        let (n, x) = (self.data.n, self.data.row(0));
        let same_x = (1..n).all(|i| self.data.row(i) == x);
        let ups = self.data.y.iter().filter(|&&y| y == 1.0).count();
        let balanced = self.data.has_pm1_labels() && n >= 2 && 2 * ups == n;
        let x_sq = norm_sq(x);
        if !same_x || !balanced || x_sq <= 0.0 {
            return None;
        }
        let t0 = dot(self.model.init_params(), x);
        let s = self.loss.scale(n);
        let slope: f64 = self.data.y.iter().map(|&y| s * self.loss.d1(t0, y)).sum();
        let rate = if t0.abs() < 1e-12 {
            // The limit t0 → 0: the lazy edge 2 / (‖x‖² L''(0)).
            2.0 / (x_sq * self.data.y.iter().map(|&y| s * self.loss.d2(0.0, y)).sum::<f64>())
        } else {
            2.0 * t0 / (x_sq * slope)
        };
        (rate.is_finite() && rate > 0.0).then_some(rate)
    }

    /// The phase theory predicts from η·λ̂0 before the run shows one (SPEC §5): `Phase::predicted`,
    /// or, where `eta_crit_theory` applies, convergence below it and above it divergence
    /// (exponential loss) or a 2-cycle (logistic loss, whose slope saturates).
    pub fn predicted_phase(&self) -> Phase {
        let eta = self.eta;
        if let Some(critical) = self.eta_crit_theory() {
            return match (eta <= critical, self.loss.kind) {
                (true, _) if eta * self.lambda0 <= 2.0 => Phase::Lazy,
                (true, LossKind::Exponential) => Phase::Lazy,
                (_, LossKind::Exponential) => Phase::Divergent,
                _ => Phase::Oscillating,
            };
        }
        let max_scaled = self.eta_max_theory().map(|max| max * self.lambda0);
        match self.preset.train.optimizer {
            OptimizerKind::Gd => Phase::predicted(eta * self.lambda0, max_scaled),
            // The lazy edge of momentum is its own (exact on a quadratic): map η·λ̂0 onto
            // GD's scale, edge → 2. No theory gives momentum a catapult ceiling, except that a
            // linear model diverges above its edge.
            OptimizerKind::Momentum => {
                let on_gd_scale = 2.0 * eta * self.lambda0 / self.optimizer.edge();
                Phase::predicted(on_gd_scale, max_scaled.filter(|&max| max <= 2.0))
            }
            // The adaptive rules' edge is on λ_max(P⁻¹∇²L), and P is not known before the
            // first step: no prediction from η·λ̂0.
            _ => Phase::Unconverged,
        }
    }

    /// The optimizer's edge in η·sharpness units (`optim::Optimizer::edge`).
    pub fn optimizer_edge(&self) -> f64 {
        self.optimizer.edge()
    }

    /// The optimizer's state (read only).
    pub fn optimizer(&self) -> &Optimizer {
        &self.optimizer
    }

    /// What the app shows: before the first step, and while the run is young (fewer than
    /// `YOUNG_STEPS` steps and nothing decisive shown yet: no spike, no divergence, no collapse),
    /// the predicted phase when it differs from lazy; otherwise `phase()`.
    pub fn phase_reading(&self) -> PhaseReading {
        let observed = self.phase();
        let young = self.status == Status::Running && self.step < YOUNG_STEPS && undecided(&self.stats, self.loss.kind == LossKind::Mse);
        let predicted = self.predicted_phase();
        if self.step == 0 || (young && matches!(observed, Phase::Lazy | Phase::Rich | Phase::Unconverged) && predicted != Phase::Lazy) {
            return PhaseReading { phase: predicted, predicted: true };
        }
        PhaseReading { phase: observed, predicted: false }
    }

    /// The last batch drawn (SGD), in the order drawn; empty for full-batch runs.
    pub fn last_batch(&self) -> &[usize] {
        let b = self.preset.train.batch_size;
        if b == 0 || b >= self.data.n || self.batch_pos < b {
            return &[];
        }
        &self.batch_order[self.batch_pos - b..self.batch_pos]
    }

    /// The separability class of the training data (SPEC §7).
    pub fn separability(&self) -> Separability {
        data::classify_separability(&self.data)
    }

    /// Sets η for the next steps (live control).
    pub fn set_eta(&mut self, eta: f64) {
        if eta.is_finite() && eta > 0.0 {
            self.eta = eta;
        }
    }

    /// Sets η = eta_scaled / λ̂0 for the next steps (live control).
    pub fn set_eta_scaled(&mut self, eta_scaled: f64) {
        if self.lambda0 > 0.0 {
            self.set_eta(eta_scaled / self.lambda0);
        }
    }

    /// Changes how many steps the run makes in all (live control); a finished run resumes.
    pub fn set_steps_limit(&mut self, steps: u64) {
        self.steps_limit = steps;
        if self.status == Status::Finished && self.step < steps {
            self.status = Status::Running;
        }
    }

    pub fn steps_limit(&self) -> u64 {
        self.steps_limit
    }

    /// The phase of the run: SPEC §5 once it has stopped; while it runs, what it shows so far
    /// (catapult once the loss has more than doubled, lazy while it has not risen).
    pub fn phase(&self) -> Phase {
        let m = &self.preset.model;
        let relu = matches!(m.kind, ModelKind::TwoLayer | ModelKind::Mlp) && m.a_neg == 0.0 && m.approx == Approx::Network && (m.kind == ModelKind::TwoLayer || m.activation == crate::engine::config::Activation::Relu);
        let below_momentum_edge = self.preset.train.optimizer == OptimizerKind::Momentum && self.eta0 * self.lambda0 < self.optimizer.edge();
        classify(&self.stats, self.status, relu, self.loss.kind == LossKind::Mse, below_momentum_edge)
    }

    /// Fills `z` with s_b ℓ'(f_i, y_i) on this step's batch and 0 elsewhere.
    fn fill_loss_gradient(&mut self) {
        let n = self.data.n;
        let b = self.preset.train.batch_size;
        if b == 0 || b >= n {
            let s = self.loss.scale(n);
            for i in 0..n {
                self.z[i] = s * self.loss.d1(self.outputs[i], self.data.y[i]);
            }
            return;
        }
        if self.batch_pos + b > self.batch_order.len() {
            self.batch_order = (0..n).collect();
            self.batch_order.shuffle(&mut self.batch_rng);
            self.batch_pos = 0;
        }
        self.z.iter_mut().for_each(|z| *z = 0.0);
        let s = self.loss.scale(b);
        for &i in &self.batch_order[self.batch_pos..self.batch_pos + b] {
            self.z[i] = s * self.loss.d1(self.outputs[i], self.data.y[i]);
        }
        let batch = self.batch_order[self.batch_pos..self.batch_pos + b].to_vec();
        self.last_batch_crit = self.batch_critical_eta(&batch);
        self.batch_pos += b;
    }

    /// One gradient-descent update. Returns the measured sample, or `None` when the run has
    /// stopped (finished, diverged, or this step produced a non-finite state, which is never
    /// returned).
    pub fn step(&mut self) -> Option<Sample> {
        if !self.is_running() {
            if self.status == Status::Running {
                self.status = Status::Finished;
            }
            return None;
        }
        let started = std::time::Instant::now();
        let kernel_before = self.timing.kernel_secs;
        self.apply_schedule();
        // One example, full batch: the model may make the whole step in one fused pass.
        let plain = self.preset.train.optimizer == OptimizerKind::Gd;
        let fused = if plain && self.data.n == 1 {
            let z = self.loss.scale(1) * self.loss.d1(self.outputs[0], self.data.y[0]);
            self.model.fused_one_example_step(&self.data, self.eta, z, &self.xt_y)
        } else {
            None
        };
        if fused.is_none() {
            self.fill_loss_gradient();
            if plain {
                if !self.model.descend(&self.data, &self.z, self.eta) {
                    self.model.vjp(&self.data, &self.z, &mut self.grad);
                    self.model.add_to_params(-self.eta, &self.grad);
                }
            } else {
                self.model.vjp(&self.data, &self.z, &mut self.grad);
                let direction = self.optimizer.direction(&self.grad);
                self.model.add_to_params(-self.eta, direction);
            }
        }
        std::mem::swap(&mut self.outputs_two_back, &mut self.previous_outputs);
        std::mem::swap(&mut self.previous_outputs, &mut self.outputs);
        match fused {
            Some(state) => self.outputs[0] = state.output,
            None => self.model.forward(&self.data, &mut self.outputs),
        }
        let updated = started.elapsed().as_secs_f64();
        self.timing.forward_backward_secs += updated;
        self.step += 1;
        let sample = self.measure(fused);
        let kernel = self.timing.kernel_secs - kernel_before;
        self.timing.other_secs += started.elapsed().as_secs_f64() - updated - kernel;
        let first = &self.stats.first;
        // SPEC §5, with one refinement: λ̂ > 10 λ̂0 counts as divergence only while the loss is
        // above L0 — a kernel that grows while the loss falls (feature learning from a small
        // init) is not a blow-up.
        let blown_up = (first.loss > 0.0 && sample.loss > self.preset.train.divergence_factor * first.loss)
            || (first.lambda_hat > 0.0 && sample.lambda_hat > 10.0 * first.lambda_hat && sample.loss > first.loss);
        if !sample.is_finite() {
            self.status = Status::Diverged(self.step);
            return None;
        }
        let change = model::dist_sq(&self.outputs, &self.previous_outputs).sqrt();
        let scale = norm_sq(&self.outputs).sqrt().max(self.output_norm0).max(1e-300);
        let last_move = change / scale;
        let last_return = model::dist_sq(&self.outputs, &self.outputs_two_back).sqrt() / scale;
        if let Some(critical) = sample.batch_crit_eta {
            let above = sample.eta > critical;
            let rose = sample.loss > self.stats.last.loss;
            self.sgd.steps += 1;
            self.sgd.steps_above += above as u64;
            self.sgd.loss_rises += rose as u64;
            self.sgd.rises_above += (rose && above) as u64;
        }
        self.best_test.record(&sample);
        self.stats.record(&sample, last_move, last_return);
        if blown_up {
            self.status = Status::Diverged(self.step);
        } else if self.step >= self.steps_limit {
            self.status = Status::Finished;
        }
        Some(sample)
    }

    /// Runs to the end, handing every sample (step 0 first) to `on_sample`.
    pub fn run(&mut self, mut on_sample: impl FnMut(&Sample)) -> Summary {
        on_sample(&self.stats.first.clone());
        while let Some(sample) = self.step() {
            on_sample(&sample);
        }
        self.summary()
    }

    /// The summary of the run so far (SPEC §5).
    pub fn summary(&self) -> Summary {
        let (first, last) = (&self.stats.first, &self.stats.last);
        Summary {
            lambda0: self.lambda0,
            lambda0_2: self.lambda0_2,
            eta: self.eta0,
            eta_scaled: self.eta0 * self.lambda0,
            eta_crit: self.eta_crit(),
            eta_crit_theory: self.eta_crit_theory(),
            eta_max_theory: self.eta_max_theory(),
            loss0: first.loss,
            peak_loss: self.stats.peak_loss,
            peak_step: self.stats.peak_step,
            final_loss: last.loss,
            final_lambda: last.lambda_hat,
            final_eta_lambda: last.eta_lambda,
            weight_norm_sq0: first.weight_norm_sq,
            final_weight_norm_sq: last.weight_norm_sq,
            max_dist_from_init: self.stats.max_dist,
            phase: self.phase(),
            steps_run: self.step,
            diverged_at: match self.status {
                Status::Diverged(at) => Some(at),
                _ => None,
            },
            seed: self.preset.seed,
            width: self.preset.model.width,
            approx: self.preset.model.approx,
            best_test_loss: self.best_test.loss,
            best_test_step: self.best_test.step,
            best_test_acc: self.best_test.acc,
            optimizer: self.preset.train.optimizer,
            optimizer_edge: self.optimizer.edge(),
            final_precond_sharpness: last.precond_sharpness,
            final_eta_scaled: last.eta * self.lambda0,
            measures: self.extra.summary(),
        }
    }
}
