//! The run's effective configuration, owned by the runner: the preset as loaded plus every live
//! learning-rate change (at the step it took effect). `preset()` writes it as one preset (a change
//! at step 0 becomes the base rate, later ones `schedule` entries placed before the preset's own
//! entries at the same step, as the engine applies them), so saving it and opening the file
//! reproduces the run exactly. Values keep the preset's unit (η·λ̂0 or η) where that is exact,
//! else the whole preset is written in η.

use crate::engine::config::Preset;

/// One live change: from `step` on (before the update that makes step + 1) the run used `eta`;
/// `scaled` is the η·λ̂0 value that gives exactly this η (None when none does).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveChange {
    pub step: u64,
    pub eta: f64,
    pub scaled: Option<f64>,
}

/// The preset as loaded and the live changes made since.
#[derive(Clone, Debug)]
pub struct Effective {
    pub loaded: Preset,
    pub lambda0: f64,
    pub live: Vec<LiveChange>,
}

impl Effective {
    pub fn new(loaded: Preset, lambda0: f64) -> Effective {
        Effective { loaded, lambda0, live: Vec::new() }
    }

    /// True when the loaded preset gives η in units of 1/λ̂0.
    pub fn loaded_scaled(&self) -> bool {
        self.loaded.train.eta.is_none()
    }

    /// The change for a commanded η (`scaled`: the command was η·λ̂0 = that value).
    pub fn change(&self, step: u64, eta: f64, scaled: Option<f64>) -> LiveChange {
        let scaled = scaled.or_else(|| {
            let x = eta * self.lambda0;
            (self.lambda0 > 0.0 && x / self.lambda0 == eta).then_some(x)
        });
        LiveChange { step, eta, scaled }
    }

    /// Records a change, replacing an earlier live change at the same step.
    pub fn record(&mut self, change: LiveChange) {
        self.live.retain(|c| c.step != change.step);
        self.live.push(change);
        self.live.sort_by_key(|c| c.step);
    }

    /// Whether the effective preset is written in η·λ̂0 (the loaded unit, when every live change
    /// has an exact η·λ̂0 value).
    pub fn writes_scaled(&self) -> bool {
        self.loaded_scaled() && self.live.iter().all(|c| c.scaled.is_some())
    }

    /// A value of the loaded preset's unit (base or schedule entry) in the written unit.
    fn loaded_value(&self, value: f64) -> f64 {
        if self.loaded_scaled() && !self.writes_scaled() { value / self.lambda0 } else { value }
    }

    fn live_value(&self, change: &LiveChange) -> f64 {
        if self.writes_scaled() { change.scaled.unwrap_or(change.eta * self.lambda0) } else { change.eta }
    }

    /// The effective configuration as one preset.
    pub fn preset(&self) -> Preset {
        let mut preset = self.loaded.clone();
        let scaled = self.writes_scaled();
        let base = match self.live.iter().find(|c| c.step == 0) {
            Some(change) => self.live_value(change),
            None => self.loaded_value(match self.loaded.train.eta {
                Some(eta) => eta,
                None => self.loaded.train.eta_scaled.unwrap_or(1.5),
            }),
        };
        if scaled {
            preset.train.eta = None;
            preset.train.eta_scaled = Some(base);
        } else {
            preset.train.eta = Some(base);
            preset.train.eta_scaled = None;
        }
        // Live entries first at a step: the engine applies the preset's entries at that step after them.
        // Under a cyclic rate the cycle sets η at every step, so a live change is not a schedule entry.
        let cyclic = self.loaded.train.schedule_kind == crate::engine::config::ScheduleKind::Cyclic;
        let mut schedule: Vec<(usize, f64, bool)> = self.live.iter().filter(|c| c.step > 0 && !cyclic).map(|c| (c.step as usize, self.live_value(c), false)).collect();
        schedule.extend(self.loaded.train.schedule.iter().map(|&(step, value)| (step, self.loaded_value(value), true)));
        schedule.sort_by_key(|&(step, _, loaded)| (step, loaded));
        preset.train.schedule = schedule.into_iter().map(|(step, value, _)| (step, value)).collect();
        preset
    }

    /// The learning rate in force at `step` (what the next update uses, but for the preset's own
    /// entries at exactly `step`), in the written unit, and whether that unit is η·λ̂0.
    pub fn value_in_force(&self, step: u64) -> (f64, bool) {
        let preset = self.preset();
        let scaled = preset.train.eta.is_none();
        let mut value = preset.train.eta.or(preset.train.eta_scaled).unwrap_or(1.5);
        let live_now: Vec<f64> = self.live.iter().filter(|c| c.step == step && step > 0).map(|c| self.live_value(c)).collect();
        for &(at, v) in &preset.train.schedule {
            if (at as u64) < step {
                value = v;
            }
        }
        if let Some(&v) = live_now.last() {
            value = v;
        }
        (value, scaled)
    }

    /// `preset` restarted at the rate in force at `step` (value in `scaled` units or η): the base
    /// rate set to it, and only the schedule entries after `step` kept.
    pub fn restarted_at(preset: &Preset, step: u64, value: f64, scaled: bool, lambda0: f64) -> Preset {
        let mut out = preset.clone();
        let preset_scaled = preset.train.eta.is_none();
        out.train.schedule.retain(|&(at, _)| at as u64 > step);
        match (preset_scaled, scaled) {
            (true, true) | (false, false) => {}
            (true, false) => {
                // The preset speaks η·λ̂0 but the value is an η: express it, or switch to η.
                let x = value * lambda0;
                if lambda0 > 0.0 && x / lambda0 == value {
                    out.train.eta_scaled = Some(x);
                    return out;
                }
                out.train.schedule.iter_mut().for_each(|e| e.1 /= lambda0);
                out.train.eta = Some(value);
                out.train.eta_scaled = None;
                return out;
            }
            (false, true) => {
                out.train.eta = Some(value / lambda0);
                return out;
            }
        }
        if preset_scaled {
            out.train.eta_scaled = Some(value);
        } else {
            out.train.eta = Some(value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_changes_become_schedule_entries_before_the_presets_own() {
        let loaded = crate::engine::library::shipped("zhu-multiple-catapults", &[]).unwrap().unwrap();
        let mut e = Effective::new(loaded, 2.0);
        let c = e.change(100, 1.6, Some(3.2));
        e.record(c);
        let p = e.preset();
        assert_eq!(p.train.eta_scaled, Some(1.5));
        assert_eq!(p.train.schedule[0], (100, 3.2));
        assert_eq!(p.train.schedule[1], (100, 2.5));
        let c = e.change(0, 1.3, Some(2.6));
        e.record(c);
        assert_eq!(e.preset().train.eta_scaled, Some(2.6));
        assert_eq!(e.value_in_force(150), (2.5, true));
    }
}
