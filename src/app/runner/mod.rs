//! The background simulation thread (DESIGN "Threads"): it owns one `Simulation`, takes
//! `Command`s over a crossbeam channel, runs steps in ~8 ms slices at the requested speed, and
//! sends `Event`s (sample batches with a status snapshot) on a bounded channel. No egui here:
//! the app passes a plain repaint callback.

use crate::engine::config::Preset;
use crate::engine::data::Separability;
use crate::engine::sim::{DataPicture, PhaseReading, Regime, Sample, SgdStats, Simulation, Status};
use std::sync::Arc;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded, unbounded};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one slice of stepping lasts before a batch is sent.
const SLICE: Duration = Duration::from_millis(8);
/// The AGOP matrices (d × d, O(n·m·d) to compute) are refreshed at most this often while running.
const AGOP_REFRESH: Duration = Duration::from_millis(500);
/// The data view is refreshed at most this often while running.
const PICTURE_REFRESH: Duration = Duration::from_millis(250);
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
    /// Rebuild the run from the preset as loaded (same seed, the preset's own η).
    Reset,
    /// Rebuild the run from step 0 at the learning rate in force now (same seed; the preset's
    /// later schedule entries kept).
    RestartAtCurrentEta,
    /// Like `SetPreset`, but the new run starts at the learning rate in force now (structural
    /// edits: width, seed, … keep the η on screen).
    SetPresetKeepingEta(Box<Preset>),
    /// The command applies only to the run with this id (the app stamps its live edits, so an
    /// edit made on one run never lands on the next one).
    ForRun(u64, Box<Command>),
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

/// A status snapshot sent with every batch.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSnapshot {
    /// Counts the runs this runner has built; batches of an older run are stale.
    pub run_id: u64,
    pub preset_name: String,
    pub step: u64,
    pub steps_limit: u64,
    /// The phase shown: what the run has shown so far, or theory's prediction while it is young.
    pub phase: PhaseReading,
    pub lambda0: f64,
    pub eta: f64,
    /// η·λ̂0, the learning rate in the papers' units.
    pub eta_scaled: f64,
    pub eta_crit: f64,
    /// The exact critical rate where a paper gives one (`Simulation::eta_crit_theory`).
    pub eta_crit_theory: Option<f64>,
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
    /// Meltzer–Liu's setting applies (its window may be empty: ReLU has no guarantee).
    pub meltzer_liu_applies: bool,
    /// The model's and the teacher's AGOP (teacher data), refreshed at most every ~0.5 s and on pause.
    pub agop: Option<Arc<AgopMatrices>>,
    /// What the network is fitting (the data view), refreshed at most every ~0.25 s and on pause.
    pub picture: Option<Arc<DataPicture>>,
    /// The run's effective configuration: the preset as loaded plus the live η changes (as the
    /// base rate or `schedule` entries). Saving it reproduces the run exactly.
    pub effective: Arc<Preset>,
    /// The learning rate in force now in the effective preset's unit, and whether that unit is η·λ̂0.
    pub eta_setting: (f64, bool),
    /// The preset as loaded (what Reset restarts).
    pub loaded: Arc<Preset>,
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

pub mod effective;
mod worker;
use worker::Runner;
#[cfg(test)]
mod tests;
