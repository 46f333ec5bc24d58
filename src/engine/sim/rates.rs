//! How η moves between steps (SPEC §3, §12): the `schedule` list's entries, the triangular
//! cycle's rate at every step (`cyclic`), and the auto-catapult's changes, applied at the start
//! of each step so that row t carries the η of update t.

use super::*;

impl Simulation {
    /// The rate of update `step` under `cyclic` (`schedule::cyclic_value`, resolved to η).
    pub(super) fn cyclic_eta(&self, step: u64) -> f64 {
        let t = &self.preset.train;
        let (Some(steps), Some(low), Some(high)) = (t.cycle_steps, t.cycle_low, t.cycle_high) else { return self.eta };
        let value = crate::engine::schedule::cyclic_value(step, steps as u64, low, high);
        let spec = match t.eta_spec() {
            EtaSpec::Raw(_) => EtaSpec::Raw(value),
            EtaSpec::Scaled(_) => EtaSpec::Scaled(value),
        };
        self.resolve_eta(spec).unwrap_or(self.eta)
    }

    /// Applies the schedule due at the current step: the list's entries (piecewise and
    /// auto-catapult), the cycle's rate (cyclic), the auto-catapult's change.
    pub(super) fn apply_schedule(&mut self) {
        match self.preset.train.schedule_kind {
            ScheduleKind::Piecewise => self.apply_schedule_list(),
            ScheduleKind::Cyclic => self.eta = self.cyclic_eta(self.step),
            ScheduleKind::AutoCatapult => {
                self.apply_schedule_list();
                let train = &self.preset.train;
                let auto = self.auto.get_or_insert_with(|| AutoCatapult::new(train.auto_factor_or_default(), train.auto_max_or_default(), self.stats.first.loss));
                let last = &self.stats.last;
                if let Some(eta) = auto.observe(last.loss, last.lambda_hat) {
                    self.eta = eta;
                }
            }
        }
    }

    /// Applies the schedule list's entries due at the current step.
    fn apply_schedule_list(&mut self) {
        let schedule = &self.preset.train.schedule;
        while let Some(&(at, value)) = schedule.get(self.schedule_pos) {
            if (at as u64) > self.step {
                break;
            }
            self.schedule_pos += 1;
            let spec = match self.preset.train.eta_spec() {
                EtaSpec::Raw(_) => EtaSpec::Raw(value),
                EtaSpec::Scaled(_) => EtaSpec::Scaled(value),
            };
            if let Ok(eta) = self.resolve_eta(spec) {
                self.eta = eta;
            }
        }
    }
}
