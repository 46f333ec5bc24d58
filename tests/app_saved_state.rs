//! UI tests of the saved state (issue 17 part 5, "nothing lost on close") on the real `App` and
//! runner (egui_kittest): pins and the last sweep survive a restart of the App, the lesson
//! position comes back, a damaged or foreign state file is ignored with a note (and kept as
//! `.bad`), Clear empties it (Undo brings it back), and closing during a sweep asks first.

use catapult_lab::app::saved_state::{self, CloseFlow, SavedState};
use catapult_lab::app::{App, labels, lessons_ui};
use catapult_lab::engine::config::share;
use catapult_lab::engine::library;
use eframe::egui;
use egui::{ViewportCommand, ViewportEvent, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// A paused app on `preset` that saves to and restores from `state`.
fn harness_with_state(preset: &str, state: &Path) -> Harness<'static, App> {
    let preset = library::shipped(preset, &[]).unwrap().unwrap();
    let state = state.to_path_buf();
    Harness::builder().with_size([1400.0, 900.0]).build_eframe(move |cc| {
        let mut app = App::new_paused(preset, Box::new(|| {}));
        app.setup_context(&cc.egui_ctx);
        app.use_saved_state(state);
        app
    })
}

/// The viewport commands the app sent in the last frame.
fn commands(harness: &Harness<'static, App>) -> Vec<ViewportCommand> {
    harness.output().viewport_output.get(&ViewportId::ROOT).map(|v| v.commands.clone()).unwrap_or_default()
}

/// The window's close button: one frame with a close request.
fn request_close(harness: &mut Harness<'static, App>) {
    harness.input_mut().viewports.entry(ViewportId::ROOT).or_default().events.push(ViewportEvent::Close);
    harness.step();
}

/// Starts a sweep of the current preset from the Sweep view's form (η·λ̂0 from 0.5 to 1.9:
/// lazy runs, which all run their full length).
fn start_sweep(harness: &mut Harness<'static, App>, count: usize, widths: &str, steps: usize) {
    fill_sweep_form(harness, (0.5, 1.9), count, widths, steps);
    let ctx = harness.ctx.clone();
    harness.state_mut().start_sweep(&ctx);
    assert!(harness.state().sweep_running(), "{:?}", harness.state().sweep_error());
}

fn read_saved(path: &Path) -> SavedState {
    saved_state::parse_state(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pin_csvs(app: &App) -> Vec<Vec<u8>> {
    app.pins().iter().map(|p| p.history.to_csv().unwrap()).collect()
}

#[test]
fn pins_and_the_last_sweep_survive_a_restart_of_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/state.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 30);
    harness.state_mut().pin_current_run();
    steps(&mut harness, 45);
    harness.state_mut().pin_current_run();
    // Hide the first pin through its checkbox: visibility is saved too.
    let first_label = harness.state().pins()[0].label.clone();
    harness.get_by_label(&first_label).click();
    harness.run_steps(2);
    assert!(!harness.state().pins()[0].visible);
    start_sweep(&mut harness, 4, "40, 80", 120);
    step_until(&mut harness, "the sweep", |a| !a.sweep_running());
    assert_eq!(harness.state().sweep_rows().len(), 8);
    let before = harness.state().capture_state();
    let (csvs, rows) = (pin_csvs(harness.state()), harness.state().sweep_rows());
    let pins: Vec<(String, egui::Color32, bool, String, String)> = harness.state().pins().iter().map(|p| (p.label.clone(), p.color, p.visible, p.preset_name.clone(), p.code.clone())).collect();
    assert_eq!(share::decode(&pins[1].4, &[]).unwrap(), harness.state().effective_preset(), "a pin keeps its run's share code");
    assert!(!path.exists());
    // Closing saves (no sweep runs, so nothing asks and the close is not cancelled).
    request_close(&mut harness);
    assert!(!commands(&harness).contains(&ViewportCommand::CancelClose));
    assert!(path.exists(), "the state was written on close");
    assert_eq!(read_saved(&path), before);
    drop(harness);

    let mut harness = harness_with_state("lazy-uv", &path);
    harness.run_steps(3);
    let app = harness.state();
    assert!(app.saved_state_note().is_none(), "{:?}", app.saved_state_note());
    let restored: Vec<(String, egui::Color32, bool, String, String)> = app.pins().iter().map(|p| (p.label.clone(), p.color, p.visible, p.preset_name.clone(), p.code.clone())).collect();
    assert_eq!(restored, pins);
    assert_eq!(pin_csvs(app), csvs, "every recorded sample of every pin is back");
    assert_eq!(app.pins()[1].history.len(), 76);
    assert_eq!(app.sweep_rows(), rows, "the sweep's rows are back, equal");
    assert_eq!(app.sweep_total(), 8);
    assert_eq!(app.capture_state(), before);
    assert!(app.info().is_some_and(|i| i.contains("2 pinned runs") && i.contains("the last sweep (8 runs)")), "{:?}", app.info());
    // The pins are listed in the side panel again (their share codes copy), and the sweep view
    // shows its results.
    harness.get_by_label(&pins[1].0);
    // (accesskit: the button sits right of the long label, scrolled out of the narrow side panel)
    harness.get_all_by_label(catapult_lab::app::pins::PIN_CODE_BUTTON).nth(1).expect("two code buttons").click_accesskit();
    harness.step();
    let copied: Vec<String> = harness.output().platform_output.commands.iter().filter_map(|c| match c { egui::OutputCommand::CopyText(t) => Some(t.clone()), _ => None }).collect();
    assert_eq!(copied, vec![pins[1].4.clone()]);
    harness.get_by_label(labels::SWEEP_TAB_LABEL).click();
    harness.run_steps(2);
    harness.get_by_label_contains("done: 8 runs");
}

#[test]
fn the_lesson_position_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    harness.state_mut().start_lesson("three-phases");
    step_until(&mut harness, "step 1", |a| a.lesson().is_some_and(|r| r.step == 0 && r.arrived.is_some()));
    harness.get_by_label(lessons_ui::LESSON_NEXT).click();
    step_until(&mut harness, "step 2", |a| a.lesson().is_some_and(|r| r.step == 1 && r.arrived.is_some()));
    harness.state_mut().save_state().unwrap();
    let saved = read_saved(&path).lesson.expect("the lesson is saved");
    assert_eq!((saved.name.as_str(), saved.step), ("three-phases", 1));
    drop(harness);

    let mut harness = harness_with_state("lazy-uv", &path);
    step_until(&mut harness, "the lesson back at step 2", |a| a.lesson().is_some_and(|r| r.lesson.name == "three-phases" && r.step == 1 && r.arrived.is_some()) && a.preset_name() == "catapult-uv");
    harness.run_steps(2);
    harness.get_by_label_contains("step 2 of 5");
    assert!(harness.state().saved_state_note().is_none());
}

/// A valid state file with one pin and a small sweep, written by the app.
fn valid_state_text(dir: &Path) -> String {
    let path = dir.join("valid.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 12);
    harness.state_mut().pin_current_run();
    start_sweep(&mut harness, 2, "20", 30);
    step_until(&mut harness, "the sweep", |a| !a.sweep_running());
    harness.state_mut().save_state().unwrap();
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn a_damaged_or_foreign_state_file_is_ignored_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let valid = valid_state_text(dir.path());
    let lines = valid.lines().count();
    let data_at = valid.find("\"data\": \"").unwrap() + 20;
    let mut changed = valid.clone().into_bytes();
    changed[data_at] = if changed[data_at] == b'A' { b'B' } else { b'A' };
    let cells_at = valid.find("\"cells\": \"").unwrap() + 30;
    let mut changed_cells = valid.clone().into_bytes();
    changed_cells[cells_at] = if changed_cells[cells_at] == b'A' { b'B' } else { b'A' };
    let rows_at = valid.find("\"peak_step\": ").unwrap();
    let bad_row = format!("{}\"peak_step\": -3,{}", &valid[..rows_at], &valid[rows_at..].split_once(',').unwrap().1);
    // The first row's cell index, whichever cell finished first (the sweep's threads decide).
    let rows_start = valid.find("\"rows\": [").unwrap() + "\"rows\": [".len();
    let cell_start = rows_start + valid[rows_start..].find('[').unwrap() + 1;
    let cell_end = cell_start + valid[cell_start..].find(',').unwrap();
    assert!(valid[cell_start..cell_end].trim().parse::<u64>().is_ok(), "a row starts with its cell: {}", &valid[cell_start..cell_end]);
    let bad_cell = format!("{} 9{}", &valid[..cell_start], &valid[cell_end..]);
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("garbage bytes", vec![0xff, 0xfe, 0x00, 0x13, 0x37, 0x80, 0x81], "not text".into()),
        ("truncated JSON", valid.as_bytes()[..valid.len() / 2].to_vec(), format!("was damaged (line {}", valid[..valid.len() / 2].lines().count())),
        ("wrong version", valid.replacen("\"version\": 1", "\"version\": 7", 1).into_bytes(), "is of another version (version 7; this catapult-lab reads version 1)".into()),
        ("no version", b"{\"pins\": []}".to_vec(), "no `version`".into()),
        ("wrong type", valid.replacen("\"visible\": true", "\"visible\": \"yes\"", 1).into_bytes(), "key `pins[0].visible`: invalid type".into()),
        ("changed history byte", changed, format!("(line {}: key `pins[0].history`: data: damaged", valid[..data_at].lines().count())),
        ("changed sweep cell byte", changed_cells, "key `sweep.cells`: packed data: damaged".into()),
        ("negative step in a sweep row", bad_row.into_bytes(), "key `sweep.rows[0]".into()),
        ("row outside the grid", bad_cell.into_bytes(), format!("(line {}: key `sweep.rows[0]`: cell 9 is not in the grid of 2 cells", valid[..valid.find("\"rows\": [").unwrap()].matches('\n').count() + 1)),
        ("empty file", Vec::new(), "line 1, column 0: EOF while parsing".into()),
    ];
    assert!(lines > 10);
    for (what, bytes, expected) in cases {
        let path = dir.path().join(format!("{}.json", what.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
        step_until(&mut harness, "the run", |a| a.snapshot().is_some());
        harness.run_steps(2);
        let note = harness.state().saved_state_note().unwrap_or_else(|| panic!("{what}: no note")).to_string();
        eprintln!("{what}: {note}");
        assert!(note.contains("and was ignored") && note.contains(&expected), "{what}: {note}");
        assert!(!note.contains('\n'), "{what}: one line: {note}");
        // The note is on screen (one line, under the status strip).
        harness.get_by_label_contains("and was ignored");
        assert_eq!(harness.state().pinned_count(), 0, "{what}");
        assert_eq!(harness.state().sweep_total(), 0, "{what}");
        // Kept aside, byte for byte; saving the new state does not touch it.
        let bad = PathBuf::from(format!("{}.bad", path.display()));
        assert!(note.contains(&format!("Saved state {}", path.display())), "{what}: the note names the file: {note}");
        assert!(note.contains(&format!("kept beside it as {}", bad.file_name().unwrap().to_string_lossy())), "{what}: {note}");
        assert!(!path.exists(), "{what}: moved aside");
        assert_eq!(std::fs::read(&bad).unwrap(), bytes, "{what}");
        harness.state_mut().save_state().unwrap();
        assert_eq!(std::fs::read(&bad).unwrap(), bytes, "{what}: the damaged copy survives the next save");
        assert!(read_saved(&path).pins.is_empty());
    }
}

#[test]
fn clear_empties_the_saved_state_and_undo_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 20);
    harness.state_mut().pin_current_run();
    start_sweep(&mut harness, 2, "40", 60);
    step_until(&mut harness, "the sweep", |a| !a.sweep_running());
    harness.state_mut().save_state().unwrap();
    let before = read_saved(&path);
    assert_eq!((before.pins.len(), before.sweep.as_ref().map(|s| s.rows.len())), (1, Some(2)));

    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label(saved_state::CLEAR_STATE_MENU).click();
    harness.run_steps(2);
    let app = harness.state();
    assert_eq!((app.pinned_count(), app.sweep_total(), app.sweep_rows().len()), (0, 0, 0));
    assert!(!path.exists(), "the file is gone from its place");
    let cleared = PathBuf::from(format!("{}.cleared", path.display()));
    assert_eq!(read_saved(&cleared), before, "and kept beside it");
    harness.get_by_label_contains("Saved state cleared");

    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label(saved_state::UNDO_CLEAR_MENU).click();
    harness.run_steps(2);
    assert_eq!(harness.state().capture_state(), before, "Undo clear brings everything back");

    harness.state_mut().clear_saved_state();
    request_close(&mut harness);
    let after = read_saved(&path);
    assert!(after.pins.is_empty() && after.sweep.is_none() && after.lesson.is_none(), "{after:?}");
}

/// A sweep whose small cells finish at once and whose wide ones take many seconds.
fn start_long_sweep(harness: &mut Harness<'static, App>) {
    start_sweep(harness, 12, "30, 100000", 200_000);
    step_until(harness, "a few finished cells", |a| a.sweep_done() >= 2);
}

#[test]
fn closing_during_a_sweep_asks_and_each_choice_does_what_it_says() {
    let dir = tempfile::tempdir().unwrap();

    // Cancel: the close is cancelled, the dialog shows, then goes; the sweep goes on.
    let path = dir.path().join("keep.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 10);
    harness.state_mut().pin_current_run();
    start_long_sweep(&mut harness);
    request_close(&mut harness);
    assert!(commands(&harness).contains(&ViewportCommand::CancelClose), "the close is cancelled while a sweep runs");
    harness.run_steps(2);
    assert!(harness.state().close_dialog_open());
    harness.get_by_label(saved_state::CLOSE_DIALOG_TITLE);
    for choice in [saved_state::CLOSE_WAIT, saved_state::CLOSE_KEEP, saved_state::CLOSE_DISCARD, saved_state::CLOSE_CANCEL] {
        harness.get_by_label(choice);
    }
    harness.get_by_label(saved_state::CLOSE_CANCEL).click();
    harness.run_steps(2);
    assert!(!harness.state().close_dialog_open());
    assert!(harness.state().sweep_running(), "Cancel leaves the sweep running");
    assert!(!path.exists(), "nothing saved");

    // Keep partial results: the finished cells are saved, then the window closes.
    request_close(&mut harness);
    assert!(commands(&harness).contains(&ViewportCommand::CancelClose));
    harness.run_steps(2);
    harness.get_by_label(saved_state::CLOSE_KEEP).click();
    harness.step();
    assert!(commands(&harness).contains(&ViewportCommand::Close), "the window closes");
    let app = harness.state();
    assert!(!app.sweep_running());
    let finished = app.sweep_rows();
    assert!(finished.len() >= 2 && finished.len() < app.sweep_total(), "{} of {}", finished.len(), app.sweep_total());
    let saved = read_saved(&path);
    let sweep = saved.sweep.expect("the partial sweep is saved");
    assert!(sweep.cancelled);
    assert_eq!(sweep.cells.len(), 24);
    let mut rows = sweep.rows.clone();
    rows.sort_by_key(|(i, _)| *i);
    assert_eq!(rows.into_iter().map(|(_, s)| s).collect::<Vec<_>>(), finished, "exactly the finished cells");
    assert_eq!(saved.pins.len(), 1);
    // The close that follows goes through.
    request_close(&mut harness);
    assert!(!commands(&harness).contains(&ViewportCommand::CancelClose));
    drop(harness);
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    harness.run_steps(2);
    assert_eq!(harness.state().sweep_rows(), finished, "and they are back on the next launch");
    harness.get_by_label(labels::SWEEP_TAB_LABEL).click();
    harness.run_steps(2);
    harness.get_by_label_contains(&format!("cancelled: {} of 24 runs finished", finished.len()));
    drop(harness);

    // Discard: the window closes without the sweep; the pin is still saved.
    let path = dir.path().join("discard.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 10);
    harness.state_mut().pin_current_run();
    start_long_sweep(&mut harness);
    request_close(&mut harness);
    harness.run_steps(2);
    harness.get_by_label(saved_state::CLOSE_DISCARD).click();
    harness.step();
    assert!(commands(&harness).contains(&ViewportCommand::Close));
    assert!(!harness.state().sweep_running());
    let saved = read_saved(&path);
    assert!(saved.sweep.is_none(), "no sweep saved");
    assert_eq!(saved.pins.len(), 1);
    drop(harness);

    // Wait for the sweep: the dialog stays until the sweep ends, then the app saves and closes.
    let path = dir.path().join("wait.json");
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    start_sweep(&mut harness, 6, "30, 20000", 40_000);
    request_close(&mut harness);
    assert!(commands(&harness).contains(&ViewportCommand::CancelClose), "the sweep was still running");
    harness.run_steps(2);
    harness.get_by_label(saved_state::CLOSE_WAIT).click();
    harness.step();
    let start = Instant::now();
    loop {
        if commands(&harness).contains(&ViewportCommand::Close) {
            break;
        }
        assert!(harness.state().close_flow() == CloseFlow::Waiting, "still waiting until the close");
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for the sweep to end and the window to close");
        harness.step();
        std::thread::sleep(Duration::from_millis(3));
    }
    let app = harness.state();
    assert!(!app.sweep_running());
    assert_eq!(app.sweep_rows().len(), 12);
    let saved = read_saved(&path);
    assert_eq!(saved.sweep.map(|s| (s.rows.len(), s.cancelled)), Some((12, false)), "every cell, saved");
}

#[test]
fn a_state_file_that_cannot_be_written_keeps_the_window_open_once_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be: it can be neither read nor replaced.
    let path = dir.path().join("state.json");
    std::fs::create_dir_all(path.join("inside")).unwrap();
    let mut harness = harness_with_state(library::DEFAULT_PRESET, &path);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    assert!(harness.state().saved_state_note().is_some_and(|n| n.contains("could not be read") && n.contains("was ignored")), "{:?}", harness.state().saved_state_note());
    request_close(&mut harness);
    assert!(commands(&harness).contains(&ViewportCommand::CancelClose), "the first close stays open to show the error");
    assert!(harness.state().last_error().is_some_and(|e| e.contains("could not be written") && e.contains("close the window again")), "{:?}", harness.state().last_error());
    harness.run_steps(2);
    harness.get_by_label_contains("could not be written");
    request_close(&mut harness);
    assert!(!commands(&harness).contains(&ViewportCommand::CancelClose), "the second close goes through");
    assert!(path.join("inside").is_dir(), "the folder is untouched");
}
