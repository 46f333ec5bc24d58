//! The runner thread itself: owns the `Simulation`, applies commands, runs steps in ~8 ms
//! slices, sends batches of samples with a status snapshot, and survives a panicking run.

use super::*;

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// One built run and what is computed once for it.
struct Run {
    sim: Simulation,
    separability: Separability,
    /// The preset as loaded plus the live changes (what the run really does).
    effective: super::effective::Effective,
    effective_preset: Arc<Preset>,
    loaded: Arc<Preset>,
}

fn build_run(preset: &Preset) -> Result<Run, String> {
    match catch_unwind(AssertUnwindSafe(|| {
        let sim = Simulation::new(preset)?;
        let separability = sim.separability();
        let effective = super::effective::Effective::new(preset.clone(), sim.lambda0());
        Ok::<Run, String>(Run { sim, separability, effective, effective_preset: Arc::new(preset.clone()), loaded: Arc::new(preset.clone()) })
    })) {
        Ok(result) => result,
        Err(payload) => Err(format!("building the run panicked: {}", panic_message(payload.as_ref()))),
    }
}

pub(super) struct Runner {
    commands: Receiver<Command>,
    events: Sender<Event>,
    repaint: Repaint,
    speed: Speed,
    paused: bool,
    failed: bool,
    /// Set by `Command::InjectFault`: the next step panics.
    fault_armed: bool,
    shutdown: bool,
    run: Option<Run>,
    run_id: u64,
    /// Samples not yet sent because the channel was full.
    pending: Vec<Sample>,
    pending_regimes: Vec<Regime>,
    /// Fractional steps earned at a limited speed.
    allowance: f64,
    last_tick: Instant,
    rate_window_start: Instant,
    rate_window_steps: u64,
    steps_per_second: f64,
    /// A status event is owed (state changed without new samples).
    status_dirty: bool,
    /// The last AGOP computed for this run, and when.
    agop: Option<Arc<AgopMatrices>>,
    agop_at: Instant,
    picture: Option<(u64, Arc<DataPicture>)>,
    picture_at: Instant,
}

impl Runner {
    pub(super) fn new(commands: Receiver<Command>, events: Sender<Event>, repaint: Repaint, speed: Speed, paused: bool) -> Runner {
        let now = Instant::now();
        Runner {
            commands,
            events,
            repaint,
            speed,
            paused,
            failed: false,
            fault_armed: false,
            shutdown: false,
            run: None,
            run_id: 0,
            pending: Vec::new(),
            pending_regimes: Vec::new(),
            allowance: 0.0,
            last_tick: now,
            rate_window_start: now,
            rate_window_steps: 0,
            steps_per_second: 0.0,
            status_dirty: false,
            agop: None,
            agop_at: now,
            picture: None,
            picture_at: now,
        }
    }

    pub(super) fn main(&mut self, preset: Preset) {
        self.set_preset(preset);
        while !self.shutdown {
            self.flush();
            if self.shutdown {
                break;
            }
            if self.can_step() && self.pending.is_empty() {
                // Apply what is waiting, then step one slice.
                if let Ok(command) = self.commands.try_recv() {
                    self.apply_waiting(command);
                }
                if self.shutdown {
                    break;
                }
                if self.can_step() {
                    self.run_slice();
                }
            } else if !self.pending.is_empty() {
                // The UI is behind: wait a little for room, still listening for commands.
                match self.commands.recv_timeout(SLICE) {
                    Ok(command) => self.apply_waiting(command),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => self.shutdown = true,
                }
            } else {
                // Paused, finished, diverged or failed: block until told something.
                self.steps_per_second = 0.0;
                match self.commands.recv() {
                    Ok(command) => self.apply_waiting(command),
                    Err(_) => self.shutdown = true,
                }
                self.last_tick = Instant::now();
                self.allowance = 0.0;
            }
        }
    }

    fn can_step(&self) -> bool {
        !self.paused && !self.failed && self.run.as_ref().is_some_and(|r| r.sim.is_running())
    }

    fn status(&self) -> RunStatus {
        if self.failed {
            return RunStatus::Failed;
        }
        match &self.run {
            None => RunStatus::Failed,
            Some(run) => match run.sim.status() {
                Status::Diverged(at) => RunStatus::DivergedAt(at),
                _ if !run.sim.is_running() => RunStatus::Finished,
                _ if self.paused => RunStatus::Paused,
                _ => RunStatus::Running,
            },
        }
    }

    fn snapshot(&self) -> Option<RunSnapshot> {
        let run = self.run.as_ref()?;
        let sim = &run.sim;
        let summary = sim.summary();
        Some(RunSnapshot {
            run_id: self.run_id,
            preset_name: sim.preset().name.clone(),
            step: sim.step_count(),
            steps_limit: sim.steps_limit(),
            phase: sim.phase_reading(),
            lambda0: sim.lambda0(),
            eta: sim.eta(),
            eta_scaled: sim.eta() * sim.lambda0(),
            eta_crit: sim.eta_crit(),
            eta_crit_theory: sim.eta_crit_theory(),
            eta_max_theory: sim.eta_max_theory(),
            loss0: summary.loss0,
            peak_loss: summary.peak_loss,
            peak_step: summary.peak_step,
            separability: run.separability,
            status: self.status(),
            steps_per_second: self.steps_per_second,
            speed: self.speed,
            sgd: sim.sgd_stats(),
            gamma_y: sim.gamma_y(),
            meltzer_liu: sim.meltzer_liu_bounds(),
            meltzer_liu_applies: sim.meltzer_liu_applies(),
            agop: self.agop.clone(),
            picture: self.picture.as_ref().map(|(_, p)| p.clone()),
            effective: run.effective_preset.clone(),
            // A cyclic or auto-catapult rate moves by itself: the slider shows the η in force.
            eta_setting: if sim.preset().train.schedule_kind == crate::engine::config::ScheduleKind::Piecewise {
                run.effective.value_in_force(sim.step_count())
            } else {
                let scaled = sim.preset().train.eta.is_none();
                (if scaled { sim.eta() * sim.lambda0() } else { sim.eta() }, scaled)
            },
            loaded: run.loaded.clone(),
        })
    }

    /// Recomputes the AGOP matrices (teacher data only) when the last ones are older than
    /// `AGOP_REFRESH`, or at once when the run is not stepping (paused, finished) and they are stale.
    fn refresh_agop(&mut self) {
        let stepping = self.can_step();
        let Some(run) = self.run.as_ref() else { return };
        let sim = &run.sim;
        let Some(target) = sim.agop_target() else {
            self.agop = None;
            return;
        };
        let step = sim.step_count();
        let fresh = self.agop.as_ref().is_some_and(|a| a.step == step);
        // Paused: refresh once the command backlog is done (not after every queued Step).
        let idle = !stepping && self.commands.is_empty();
        let due = self.agop.is_none() || (!fresh && (idle || self.agop_at.elapsed() >= AGOP_REFRESH));
        if !due {
            return;
        }
        let computed = catch_unwind(AssertUnwindSafe(|| sim.agop())).ok().flatten();
        if let Some(model) = computed {
            let d = sim.data().d;
            self.agop = Some(Arc::new(AgopMatrices { d, step, model, target: target.to_vec() }));
            self.agop_at = Instant::now();
        }
    }

    /// Recomputes the data view when it is older than `PICTURE_REFRESH` (at once when idle).
    fn refresh_picture(&mut self) {
        let stepping = self.can_step();
        let Some(run) = self.run.as_ref() else { return };
        let step = run.sim.step_count();
        let fresh = self.picture.as_ref().is_some_and(|(at, _)| *at == step);
        let idle = !stepping && self.commands.is_empty();
        if fresh || !(self.picture.is_none() || idle || self.picture_at.elapsed() >= PICTURE_REFRESH) {
            return;
        }
        if let Ok(picture) = catch_unwind(AssertUnwindSafe(|| run.sim.data_picture())) {
            self.picture = Some((step, Arc::new(picture)));
            self.picture_at = Instant::now();
        }
    }

    /// Sends an event; false when the UI has gone away.
    fn send(&mut self, event: Event) -> bool {
        match self.events.send(event) {
            Ok(()) => {
                (self.repaint)();
                true
            }
            Err(_) => {
                self.shutdown = true;
                false
            }
        }
    }

    fn error(&mut self, message: String) {
        self.send(Event::Error(message));
    }

    fn set_preset(&mut self, preset: Preset) {
        match build_run(&preset) {
            Ok(run) => {
                self.run = Some(run);
                self.failed = false;
                self.run_id += 1;
                self.pending.clear();
                self.pending_regimes.clear();
                self.allowance = 0.0;
                self.last_tick = Instant::now();
                self.agop = None;
                self.refresh_agop();
                self.picture = None;
                self.refresh_picture();
                let first = self.run.as_ref().map(|r| r.sim.first_sample().clone()).expect("just built");
                if let Some(snapshot) = self.snapshot() {
                    self.send(Event::NewRun { preset: Box::new(preset), first, snapshot });
                }
                self.status_dirty = false;
            }
            Err(message) => {
                let name = if preset.name.is_empty() { "preset".to_string() } else { format!("preset `{}`", preset.name) };
                let kept = if self.run.is_some() { "; the previous run continues" } else { "" };
                self.error(format!("cannot start {name}: {message}{kept}"));
            }
        }
    }

    /// `preset` (same structure or not) started at the learning rate in force now: in η·λ̂0 when
    /// the preset speaks it (a width change then keeps η·λ₀), else in η.
    fn set_preset_keeping_eta(&mut self, preset: Preset) {
        let Some(run) = self.run.as_ref() else { return self.set_preset(preset) };
        let step = run.sim.step_count();
        let (value, scaled) = if preset.train.eta.is_none() { (run.sim.eta() * run.sim.lambda0(), true) } else { (run.sim.eta(), false) };
        let (exact, exact_scaled) = run.effective.value_in_force(step);
        let (value, scaled) = if exact_scaled == scaled { (exact, scaled) } else { (value, scaled) };
        let restarted = super::effective::Effective::restarted_at(&preset, step, value, scaled, run.sim.lambda0());
        self.set_preset(restarted);
    }

    /// A live learning-rate change (`scaled`: it was commanded as η·λ̂0 = that value). At step 0
    /// the run is rebuilt with it as the base rate (so row 0 and the u/v start carry the η really
    /// used); later it applies from the next step and is recorded as a schedule entry.
    fn live_eta(&mut self, eta: f64, scaled: Option<f64>) {
        if !(eta.is_finite() && eta > 0.0) {
            return;
        }
        let Some(run) = self.run.as_mut() else { return };
        let step = run.sim.step_count();
        let change = run.effective.change(step, eta, scaled);
        run.effective.record(change);
        run.effective_preset = Arc::new(run.effective.preset());
        self.status_dirty = true;
        if step > 0 {
            run.sim.set_eta(eta);
            return;
        }
        // Step 0: rebuild from the effective preset, keeping the run's id and its loaded preset.
        let effective = run.effective.clone();
        let loaded = run.loaded.clone();
        let preset = (*run.effective_preset).clone();
        match build_run(&preset) {
            Ok(mut rebuilt) => {
                rebuilt.effective = effective;
                rebuilt.loaded = loaded;
                rebuilt.effective_preset = Arc::new(preset.clone());
                self.run = Some(rebuilt);
                self.pending.clear();
                self.pending_regimes.clear();
                let first = self.run.as_ref().map(|r| r.sim.first_sample().clone()).expect("just built");
                if let Some(snapshot) = self.snapshot() {
                    self.send(Event::NewRun { preset: Box::new(preset), first, snapshot });
                }
                self.status_dirty = false;
            }
            Err(message) => self.error(format!("cannot apply η = {eta}: {message}")),
        }
    }

    /// Applies `first` and every command already waiting behind it, without the steps that a
    /// later preset change or reset would throw away (a backlog of Step clicks on a slow run must
    /// not delay loading another preset).
    fn apply_waiting(&mut self, first: Command) {
        let mut batch = vec![first];
        batch.extend(self.commands.try_iter());
        for command in coalesce(batch) {
            self.apply(command);
            if self.shutdown {
                break;
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::SetPreset(preset) => self.set_preset(*preset),
            Command::Reset => {
                if let Some(preset) = self.run.as_ref().map(|r| r.effective.loaded.clone()) {
                    self.set_preset(preset);
                }
            }
            Command::RestartAtCurrentEta => {
                if let Some(preset) = self.run.as_ref().map(|r| r.effective.loaded.clone()) {
                    self.set_preset_keeping_eta(preset);
                }
            }
            Command::SetPresetKeepingEta(preset) => self.set_preset_keeping_eta(*preset),
            Command::ForRun(id, command) => {
                if id == self.run_id {
                    self.apply(*command);
                }
            }
            Command::SetEta(eta) => self.live_eta(eta, None),
            Command::SetEtaScaled(value) => {
                if let Some(lambda0) = self.run.as_ref().map(|r| r.sim.lambda0()).filter(|l| *l > 0.0) {
                    self.live_eta(value / lambda0, Some(value));
                }
            }
            Command::SetStepsLimit(limit) => {
                if let Some(run) = self.run.as_mut() {
                    run.sim.set_steps_limit(limit);
                    self.status_dirty = true;
                }
            }
            Command::SetSpeed(speed) => {
                self.speed = speed;
                self.allowance = 0.0;
                self.last_tick = Instant::now();
                self.status_dirty = true;
            }
            Command::Pause => {
                self.paused = true;
                self.status_dirty = true;
            }
            Command::Resume => {
                self.paused = false;
                self.last_tick = Instant::now();
                self.allowance = 0.0;
                self.status_dirty = true;
            }
            Command::Step(k) => {
                self.paused = true;
                self.status_dirty = true;
                for _ in 0..k {
                    if !self.step_once() {
                        break;
                    }
                }
            }
            Command::InjectFault => self.fault_armed = true,
            Command::Shutdown => self.shutdown = true,
        }
    }

    /// One step with panics caught. False when no step was made.
    fn step_once(&mut self) -> bool {
        if self.failed {
            return false;
        }
        let Some(run) = self.run.as_mut() else { return false };
        let has_eta_max = run.sim.eta_max_theory().is_some();
        let fault = std::mem::take(&mut self.fault_armed);
        match catch_unwind(AssertUnwindSafe(|| {
            if fault {
                panic!("injected fault");
            }
            run.sim.step()
        })) {
            Ok(Some(sample)) => {
                self.pending_regimes.push(Regime::of(&sample, has_eta_max));
                self.pending.push(sample);
                self.rate_window_steps += 1;
                true
            }
            Ok(None) => {
                self.status_dirty = true;
                false
            }
            Err(payload) => {
                let step = run.sim.step_count();
                self.failed = true;
                self.status_dirty = true;
                self.error(format!(
                    "the simulation failed at step {step}: {}; press Reset or choose a preset to start a new run",
                    panic_message(payload.as_ref())
                ));
                false
            }
        }
    }

    /// Steps for one slice at the current speed.
    fn run_slice(&mut self) {
        let start = Instant::now();
        match self.speed {
            Speed::Unlimited => {
                while start.elapsed() < SLICE && self.can_step() {
                    self.step_once();
                }
            }
            Speed::StepsPerSecond(rate) => {
                let rate = rate.max(0.01);
                let now = Instant::now();
                self.allowance += now.duration_since(self.last_tick).as_secs_f64() * rate;
                self.last_tick = now;
                // Never bank more than a tenth of a second of steps.
                self.allowance = self.allowance.min((rate * 0.1).max(1.0));
                while self.allowance >= 1.0 && start.elapsed() < SLICE && self.can_step() {
                    self.step_once();
                    self.allowance -= 1.0;
                }
                if self.pending.is_empty() && self.can_step() {
                    // Sleep until the next step is due, waking for commands.
                    let wait = ((1.0 - self.allowance) / rate).clamp(0.0, 0.05);
                    match self.commands.recv_timeout(Duration::from_secs_f64(wait)) {
                        Ok(command) => self.apply(command),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => self.shutdown = true,
                    }
                }
            }
        }
        let window = self.rate_window_start.elapsed().as_secs_f64();
        if window >= 0.5 {
            self.steps_per_second = self.rate_window_steps as f64 / window;
            self.rate_window_start = Instant::now();
            self.rate_window_steps = 0;
        }
    }

    /// Sends pending samples (or an owed status) if the channel has room.
    fn flush(&mut self) {
        if self.pending.is_empty() && !self.status_dirty {
            return;
        }
        self.refresh_agop();
        self.refresh_picture();
        let Some(snapshot) = self.snapshot() else {
            self.status_dirty = false;
            return;
        };
        let event = if self.pending.is_empty() {
            Event::Status(snapshot)
        } else {
            Event::Batch {
                samples: std::mem::take(&mut self.pending),
                regimes: std::mem::take(&mut self.pending_regimes),
                snapshot,
            }
        };
        match self.events.try_send(event) {
            Ok(()) => {
                self.status_dirty = false;
                (self.repaint)();
            }
            Err(TrySendError::Full(event)) => {
                // Keep the samples for the next try; nothing is lost.
                if let Event::Batch { samples, regimes, .. } = event {
                    self.pending = samples;
                    self.pending_regimes = regimes;
                }
            }
            Err(TrySendError::Disconnected(_)) => self.shutdown = true,
        }
    }
}

/// Drops what the last SetPreset or Reset of `batch` makes moot: the Steps before it, the Resets
/// before it, and every SetPreset before it but the last one (a later Reset rebuilds that one).
/// Everything else keeps its order. A backlog of clicks on a slow run then never delays loading
/// another preset.
pub(super) fn coalesce(batch: Vec<Command>) -> Vec<Command> {
    drop_superseded_eta(coalesce_restarts(batch))
}

/// True for a live learning-rate change (stamped or not).
fn is_eta_change(command: &Command) -> bool {
    match command {
        Command::SetEta(_) | Command::SetEtaScaled(_) => true,
        Command::ForRun(_, inner) => is_eta_change(inner),
        _ => false,
    }
}

/// Drops a live η change that a later one in the same batch replaces before any step is made
/// (a slider dragged at step 0 would otherwise rebuild the run once per frame of the drag).
fn drop_superseded_eta(batch: Vec<Command>) -> Vec<Command> {
    let mut keep = vec![true; batch.len()];
    let mut later_eta = false;
    for (i, command) in batch.iter().enumerate().rev() {
        if is_eta_change(command) {
            keep[i] = !later_eta;
            later_eta = true;
        } else if !matches!(command, Command::SetSpeed(_) | Command::Pause | Command::SetStepsLimit(_)) {
            later_eta = false;
        }
    }
    batch.into_iter().zip(keep).filter(|(_, k)| *k).map(|(c, _)| c).collect()
}

fn coalesce_restarts(batch: Vec<Command>) -> Vec<Command> {
    let Some(last_restart) = batch.iter().rposition(|c| matches!(c, Command::SetPreset(_) | Command::Reset | Command::RestartAtCurrentEta | Command::SetPresetKeepingEta(_))) else {
        return batch;
    };
    let last_set = batch.iter().rposition(|c| matches!(c, Command::SetPreset(_)));
    batch
        .into_iter()
        .enumerate()
        .filter(|(i, c)| {
            *i >= last_restart
                || match c {
                    Command::Step(_) | Command::Reset | Command::RestartAtCurrentEta => false,
                    Command::SetPreset(_) => Some(*i) == last_set,
                    _ => true,
                }
        })
        .map(|(_, c)| c)
        .collect()
}
