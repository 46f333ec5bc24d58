//! The background simulation thread (DESIGN "Threads"): it owns one `Simulation`, takes
//! `Command`s over a crossbeam channel, runs steps in ~8 ms slices at the requested speed, and
//! sends `Event`s (sample batches with a status snapshot) on a bounded channel. No egui here:
//! the app passes a plain repaint callback.

use crate::config::Preset;
use crate::data::Separability;
use crate::sim::{Phase, Sample, SgdStats, Simulation, Status};
use std::sync::Arc;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded, unbounded};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one slice of stepping lasts before a batch is sent.
const SLICE: Duration = Duration::from_millis(8);
/// The AGOP matrices (d × d, O(n·m·d) to compute) are refreshed at most this often while running.
const AGOP_REFRESH: Duration = Duration::from_millis(500);
/// Batches the channel holds before the runner waits for the UI to catch up.
const EVENT_CAPACITY: usize = 64;

/// How fast the runner steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// At most this many steps per second.
    StepsPerSecond(f64),
    /// As fast as the machine allows.
    Unlimited,
}

/// What the app asks the runner to do.
#[derive(Clone, Debug)]
pub enum Command {
    /// Build a new run from this preset (fresh init); on error the old run is kept.
    SetPreset(Box<Preset>),
    /// Set η for the next steps.
    SetEta(f64),
    /// Set η = value / λ̂0 for the next steps.
    SetEtaScaled(f64),
    /// Change how many steps the run makes in all.
    SetStepsLimit(u64),
    SetSpeed(Speed),
    Pause,
    Resume,
    /// Pause, then make exactly this many steps.
    Step(u64),
    /// Rebuild the run from the same preset (same seed).
    Reset,
    /// Makes the next step panic inside the simulation, to prove the runner survives a fault
    /// (used by the tests; the run then reports Failed like any other panic).
    InjectFault,
    Shutdown,
}

/// Where the run is, as the status strip shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Paused,
    Finished,
    DivergedAt(u64),
    /// The simulation panicked; start a new run (reset or another preset).
    Failed,
}

/// The local stability regime of one sample, by v = η·λ̂ (SPEC §1, §4): below 2 the step is
/// stable; between 2 and 4 the catapult mechanism acts; above 4 (where theory gives η_max =
/// 4/λ̂) the quadratic model diverges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    Stable,
    Catapult,
    Divergent,
}

impl Regime {
    pub fn of(sample: &Sample, has_eta_max: bool) -> Regime {
        if sample.eta_lambda <= 2.0 {
            Regime::Stable
        } else if !has_eta_max || sample.eta_lambda <= 4.0 {
            Regime::Catapult
        } else {
            Regime::Divergent
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Regime::Stable => "stable (η·λ < 2)",
            Regime::Catapult => "catapult zone (η·λ > 2)",
            Regime::Divergent => "divergent zone (η·λ > 4)",
        }
    }
}

/// A status snapshot sent with every batch.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSnapshot {
    /// Counts the runs this runner has built; batches of an older run are stale.
    pub run_id: u64,
    pub preset_name: String,
    pub step: u64,
    pub steps_limit: u64,
    pub phase: Phase,
    pub lambda0: f64,
    pub eta: f64,
    /// η·λ̂0, the learning rate in the papers' units.
    pub eta_scaled: f64,
    pub eta_crit: f64,
    pub eta_max_theory: Option<f64>,
    pub loss0: f64,
    pub peak_loss: f64,
    pub peak_step: u64,
    pub separability: Separability,
    pub status: RunStatus,
    /// Measured over the last half second of stepping.
    pub steps_per_second: f64,
    pub speed: Speed,
    /// SGD bookkeeping (SGD runs only): steps above the batch critical rate, loss rises, match rate.
    pub sgd: Option<SgdStats>,
    /// γ_y = yᵀXXᵀy (Huang et al. 2025: ρ/v̄ tends to √γ_y).
    pub gamma_y: f64,
    /// Meltzer–Liu bounds in η·λ̂0 units (catapult guaranteed below, diverges above), where they apply.
    pub meltzer_liu: Option<(f64, Option<f64>)>,
    /// The model's and the teacher's AGOP (teacher data), refreshed at most every ~0.5 s and on pause.
    pub agop: Option<Arc<AgopMatrices>>,
}

/// The model's AGOP G and the teacher's G* (both d × d, row-major), as of `step`.
#[derive(Clone, Debug, PartialEq)]
pub struct AgopMatrices {
    pub d: usize,
    pub step: u64,
    pub model: Vec<f64>,
    pub target: Vec<f64>,
}

/// What the runner reports.
#[derive(Clone, Debug)]
pub enum Event {
    /// A new run was built (start, preset change, reset): clear the history; `first` is step 0.
    NewRun { preset: Box<Preset>, first: Sample, snapshot: RunSnapshot },
    /// Samples in step order, each with its regime, and the status after the last of them.
    Batch { samples: Vec<Sample>, regimes: Vec<Regime>, snapshot: RunSnapshot },
    /// A status change without new samples (pause, η change, …).
    Status(RunSnapshot),
    /// Something went wrong; the message says what (the previous run is kept where possible).
    Error(String),
}

/// The repaint callback: the app passes `ctx.request_repaint()`.
pub type Repaint = Box<dyn Fn() + Send>;

/// The app's handle: send commands, drain events. Dropping it shuts the thread down.
pub struct RunnerHandle {
    commands: Sender<Command>,
    events: Option<Receiver<Event>>,
    thread: Option<JoinHandle<()>>,
}

impl RunnerHandle {
    /// Starts the thread on `preset`, running at `speed` (or paused when `start_paused`).
    pub fn spawn(preset: Preset, speed: Speed, start_paused: bool, repaint: Repaint) -> RunnerHandle {
        let (command_tx, command_rx) = unbounded();
        let (event_tx, event_rx) = bounded(EVENT_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("catapult-runner".into())
            .spawn(move || {
                let mut runner = Runner::new(command_rx, event_tx, repaint, speed, start_paused);
                runner.main(preset);
            })
            .expect("spawning the runner thread");
        RunnerHandle { commands: command_tx, events: Some(event_rx), thread: Some(thread) }
    }

    pub fn send(&self, command: Command) {
        // A closed channel means the thread ended; there is nobody left to tell.
        let _ = self.commands.send(command);
    }

    /// Every event waiting now, without blocking.
    pub fn drain(&self) -> Vec<Event> {
        self.events.as_ref().map(|rx| rx.try_iter().collect()).unwrap_or_default()
    }

    /// True while the runner thread is alive.
    pub fn is_alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        // Closing the event channel unblocks a runner waiting for room to send.
        self.events = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

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
}

fn build_run(preset: &Preset) -> Result<Run, String> {
    match catch_unwind(AssertUnwindSafe(|| {
        let sim = Simulation::new(preset)?;
        let separability = sim.separability();
        Ok::<Run, String>(Run { sim, separability })
    })) {
        Ok(result) => result,
        Err(payload) => Err(format!("building the run panicked: {}", panic_message(payload.as_ref()))),
    }
}

struct Runner {
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
}

impl Runner {
    fn new(commands: Receiver<Command>, events: Sender<Event>, repaint: Repaint, speed: Speed, paused: bool) -> Runner {
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
        }
    }

    fn main(&mut self, preset: Preset) {
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
            phase: summary.phase,
            lambda0: sim.lambda0(),
            eta: sim.eta(),
            eta_scaled: sim.eta() * sim.lambda0(),
            eta_crit: sim.eta_crit(),
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
            agop: self.agop.clone(),
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
                if let Some(preset) = self.run.as_ref().map(|r| r.sim.preset().clone()) {
                    self.set_preset(preset);
                }
            }
            Command::SetEta(eta) => {
                if let Some(run) = self.run.as_mut() {
                    run.sim.set_eta(eta);
                    self.status_dirty = true;
                }
            }
            Command::SetEtaScaled(value) => {
                if let Some(run) = self.run.as_mut() {
                    run.sim.set_eta_scaled(value);
                    self.status_dirty = true;
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
fn coalesce(batch: Vec<Command>) -> Vec<Command> {
    let Some(last_restart) = batch.iter().rposition(|c| matches!(c, Command::SetPreset(_) | Command::Reset)) else {
        return batch;
    };
    let last_set = batch.iter().rposition(|c| matches!(c, Command::SetPreset(_)));
    batch
        .into_iter()
        .enumerate()
        .filter(|(i, c)| {
            *i >= last_restart
                || match c {
                    Command::Step(_) | Command::Reset => false,
                    Command::SetPreset(_) => Some(*i) == last_set,
                    _ => true,
                }
        })
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library;

    fn preset(name: &str) -> Preset {
        library::shipped(name, &[]).unwrap().unwrap()
    }

    fn wait_for(handle: &RunnerHandle, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            for event in handle.drain() {
                let stop = done(&event);
                seen.push(event);
                if stop {
                    return seen;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("timed out; saw {} events", seen.len());
    }

    #[test]
    fn steps_pause_and_reset() {
        let handle = RunnerHandle::spawn(preset("catapult-uv"), Speed::Unlimited, true, Box::new(|| {}));
        wait_for(&handle, |e| matches!(e, Event::NewRun { .. }));
        handle.send(Command::Step(5));
        let events = wait_for(&handle, |e| matches!(e, Event::Batch { snapshot, .. } if snapshot.step == 5));
        let steps: Vec<u64> = events
            .iter()
            .flat_map(|e| match e {
                Event::Batch { samples, .. } => samples.iter().map(|s| s.step).collect(),
                _ => vec![],
            })
            .collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5]);
        handle.send(Command::Reset);
        wait_for(&handle, |e| matches!(e, Event::NewRun { snapshot, .. } if snapshot.step == 0 && snapshot.run_id == 2));
    }

    #[test]
    fn runs_to_the_end_and_reports_eta() {
        let handle = RunnerHandle::spawn(preset("catapult-uv"), Speed::Unlimited, false, Box::new(|| {}));
        handle.send(Command::SetEtaScaled(1.0));
        let events = wait_for(&handle, |e| {
            matches!(e, Event::Batch { snapshot, .. } | Event::Status(snapshot) if snapshot.status == RunStatus::Finished)
        });
        let last = events.iter().rev().find_map(|e| match e {
            Event::Batch { snapshot, .. } | Event::Status(snapshot) => Some(snapshot.clone()),
            _ => None,
        });
        let last = last.unwrap();
        assert_eq!(last.step, 1000);
        assert!((last.eta_scaled - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_preset_keeps_the_run() {
        let handle = RunnerHandle::spawn(preset("catapult-uv"), Speed::Unlimited, true, Box::new(|| {}));
        let mut bad = preset("catapult-uv");
        bad.model.init_scale = 0.0;
        handle.send(Command::SetPreset(Box::new(bad)));
        wait_for(&handle, |e| matches!(e, Event::Error(m) if m.contains("previous run continues")));
        handle.send(Command::Step(1));
        wait_for(&handle, |e| matches!(e, Event::Batch { snapshot, .. } if snapshot.step == 1 && snapshot.run_id == 1));
    }

    /// A panic inside the simulation is caught, reported, and a reset starts a working run.
    #[test]
    fn a_panic_in_the_simulation_is_reported_and_a_new_run_can_start() {
        let handle = RunnerHandle::spawn(preset("catapult-uv"), Speed::Unlimited, true, Box::new(|| {}));
        wait_for(&handle, |e| matches!(e, Event::NewRun { .. }));
        handle.send(Command::Step(3));
        wait_for(&handle, |e| matches!(e, Event::Batch { snapshot, .. } if snapshot.step == 3));
        handle.send(Command::InjectFault);
        handle.send(Command::Step(1));
        let (mut reported, mut failed) = (false, false);
        wait_for(&handle, |e| {
            match e {
                Event::Error(m) => reported |= m.contains("failed at step 3") && m.contains("injected fault"),
                Event::Status(s) | Event::Batch { snapshot: s, .. } => failed |= s.status == RunStatus::Failed,
                _ => {}
            }
            reported && failed
        });
        assert!(handle.is_alive(), "the runner thread survives");
        handle.send(Command::Reset);
        wait_for(&handle, |e| matches!(e, Event::NewRun { snapshot, .. } if snapshot.step == 0 && snapshot.run_id == 2));
        handle.send(Command::Step(2));
        wait_for(&handle, |e| matches!(e, Event::Batch { snapshot, .. } if snapshot.step == 2 && snapshot.run_id == 2));
    }

    /// Teacher data: the snapshot carries G and G* (d × d) and the SGD stats; one-example runs
    /// carry the Meltzer–Liu bounds and no AGOP.
    #[test]
    fn snapshots_carry_agop_sgd_stats_and_bounds() {
        let handle = RunnerHandle::spawn(preset("zhu-sgd-batch-10"), Speed::Unlimited, true, Box::new(|| {}));
        wait_for(&handle, |e| matches!(e, Event::NewRun { snapshot, .. } if snapshot.agop.is_some()));
        handle.send(Command::Step(2));
        let events = wait_for(&handle, |e| matches!(e, Event::Batch { snapshot, .. } if snapshot.step == 2));
        let Some(Event::Batch { snapshot, .. }) = events.last() else { unreachable!() };
        let agop = snapshot.agop.as_ref().expect("AGOP for teacher data");
        assert_eq!((agop.d, agop.step, agop.model.len(), agop.target.len()), (50, 2, 2500, 2500));
        assert_eq!(snapshot.sgd.map(|s| s.steps), Some(2));
        assert!(snapshot.meltzer_liu.is_none());

        let handle = RunnerHandle::spawn(preset("catapult-uv"), Speed::Unlimited, true, Box::new(|| {}));
        let events = wait_for(&handle, |e| matches!(e, Event::NewRun { .. }));
        let Some(Event::NewRun { snapshot, .. }) = events.last() else { unreachable!() };
        assert!(snapshot.agop.is_none() && snapshot.sgd.is_none());
        assert!(snapshot.meltzer_liu.is_some_and(|(catapult, _)| catapult > 2.0));
    }

    #[test]
    fn steps_queued_before_a_preset_change_are_dropped() {
        let batch = vec![Command::Step(1), Command::Pause, Command::Step(1), Command::SetPreset(Box::new(preset("lazy-uv"))), Command::Step(2)];
        let kept = coalesce(batch);
        assert_eq!(kept.len(), 3);
        assert!(matches!(kept[0], Command::Pause));
        assert!(matches!(kept[1], Command::SetPreset(_)));
        assert!(matches!(kept[2], Command::Step(2)));
        assert_eq!(coalesce(vec![Command::Step(1), Command::Step(1)]).len(), 2);
        let kept = coalesce(vec![Command::Reset, Command::SetPreset(Box::new(preset("lazy-uv"))), Command::Step(1), Command::Reset, Command::Step(1)]);
        assert_eq!(kept.len(), 3, "the last preset, the reset after it and the step after that");
        assert!(matches!((&kept[0], &kept[1], &kept[2]), (Command::SetPreset(_), Command::Reset, Command::Step(1))));
    }
}
