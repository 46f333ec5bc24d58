//! The runner thread's own tests: stepping, pausing, presets, faults and stale commands.

use super::*;
use super::worker::coalesce;
use crate::engine::library;

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
    // Paused until η is set: unpaused, a loaded machine could finish the 1000 steps before the
    // command arrives (a race in the test, not the runner).
    let handle = RunnerHandle::spawn(preset("catapult-uv"), Speed::Unlimited, true, Box::new(|| {}));
    handle.send(Command::SetEtaScaled(1.0));
    handle.send(Command::Resume);
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

#[test]
fn a_burst_of_eta_changes_applies_only_the_last() {
    let batch = vec![Command::ForRun(1, Box::new(Command::SetEtaScaled(2.7))), Command::SetSpeed(Speed::Unlimited), Command::ForRun(1, Box::new(Command::SetEtaScaled(2.8))), Command::Step(1), Command::SetEta(0.5), Command::SetEta(0.6)];
    let kept = coalesce(batch);
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert!(matches!(&kept[1], Command::ForRun(1, inner) if matches!(**inner, Command::SetEtaScaled(x) if x == 2.8)));
    assert!(matches!(kept[3], Command::SetEta(x) if x == 0.6));
}
