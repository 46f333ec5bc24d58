//! UI tests of the teaching features on the real `App` and runner (egui_kittest): share codes
//! pasted into the window or opened from File → Open code…, copied to the clipboard; the timeline
//! scrubber and replay keys; the lesson runner and presenter mode.

use catapult_lab::app::export::ExportTarget;
use catapult_lab::app::runner::Command;
use catapult_lab::app::export::PlotId;
use catapult_lab::app::{App, labels, lessons_ui, share_ui};
use catapult_lab::engine::lessons::{Event as LessonEvent, PlotName, RunTarget};
use catapult_lab::report::live_view::{self, KERNEL_PLOT, LOSS_PLOT, PHASE_PLOT, WEIGHTS_PLOT};
use image::AnimationDecoder;
use image::codecs::gif::GifDecoder;
use catapult_lab::engine::config::share;
use catapult_lab::engine::library;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::time::Duration;

mod common;
use common::*;

/// File → Export animation GIF writes the current run as `animate --slowmo` would: ≥ 30
/// different frames at 1280×720.
#[test]
fn the_app_exports_the_run_as_an_animation() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, SIZE);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 80);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.gif");
    let ctx = harness.ctx.clone();
    harness.state_mut().export_to_path(&ctx, ExportTarget::AnimationGif, path.clone());
    step_until(&mut harness, "the animation", |a| a.export_message().is_some());
    assert!(matches!(harness.state().export_message(), Some(Ok(m)) if m.contains("frames")), "{:?}", harness.state().export_message());
    let decoder = GifDecoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
    let frames = decoder.into_frames().collect_frames().unwrap();
    assert!(frames.len() >= 30, "{}", frames.len());
    assert_eq!(frames[0].buffer().dimensions(), (1280, 720));
    assert!(frames.windows(2).all(|w| w[0].buffer() != w[1].buffer()));
}

#[test]
fn a_pasted_share_code_opens_exactly_its_run_and_a_damaged_one_is_refused() {
    let mut harness = paused_harness("lazy-uv", SIZE);
    step_until(&mut harness, "the first run", |a| a.snapshot().is_some());
    let sent = library::resolve("catapult-uv", &[("train.eta_scaled".into(), 3.1.into()), ("seed".into(), 9.into())]).unwrap();
    let code = share::encode(&sent);
    // Damaged: the run stays, the error says so.
    harness.event(egui::Event::Paste(code[..code.len() - 9].to_string()));
    harness.step();
    assert!(harness.state().last_error().is_some_and(|e| e.contains("damaged")), "{:?}", harness.state().last_error());
    assert_eq!(harness.state().preset_name(), "lazy-uv");
    harness.event(egui::Event::Paste(code.clone()));
    step_until(&mut harness, "the shared run", |a| a.snapshot().is_some_and(|s| *s.effective == sent) && a.preset() == &sent);
    assert!(harness.state().last_error().is_none());
    // Copy share code puts the effective preset's code on the clipboard.
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label(share_ui::COPY_CODE_MENU).click();
    harness.step();
    let copied: Vec<String> = harness.output().platform_output.commands.iter().filter_map(|c| match c { egui::OutputCommand::CopyText(t) => Some(t.clone()), _ => None }).collect();
    assert_eq!(copied, vec![code.clone()], "the clipboard holds the code of the run on screen");
}

#[test]
fn file_open_code_opens_a_typed_code() {
    let mut harness = paused_harness("lazy-uv", SIZE);
    step_until(&mut harness, "the first run", |a| a.snapshot().is_some());
    let sent = library::resolve("divergent-uv", &[("train.steps".into(), 77.into())]).unwrap();
    harness.get_by_label("File").click();
    harness.run_steps(3);
    harness.get_by_label(share_ui::OPEN_CODE_MENU).click();
    harness.run_steps(3);
    harness.get_by_label(share_ui::CODE_FIELD_LABEL).click();
    harness.run_steps(2);
    harness.get_by_label(share_ui::CODE_FIELD_LABEL).type_text(&share::encode(&sent));
    harness.run_steps(2);
    harness.get_by_label(share_ui::OPEN_CODE_BUTTON).click();
    harness.run_steps(2);
    assert!(harness.state().last_error().is_none(), "{:?}", harness.state().last_error());
    step_until(&mut harness, "the typed code's run", |a| a.preset() == &sent);
}

/// The x (data units) of the last point of `series` in `plot` as the plots drew it last frame.
fn last_point(app: &App, plot: &str, series: &str) -> [f64; 2] {
    *live_view::find(app.plotted_series(), plot, series).last().unwrap_or_else(|| panic!("{plot}/{series} drawn"))
}

#[test]
fn the_scrubber_moves_every_plots_cursor_and_the_uv_point_to_the_chosen_step() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, SIZE);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 200);
    let mut seen = Vec::new();
    for t in [6u64, 60] {
        harness.get_by_label(labels::TIMELINE_LABEL).set_value_accesskit(t as f64);
        harness.run_steps(3);
        let app = harness.state();
        let row = app.replay_row().expect("a step before the newest is chosen");
        assert_eq!(app.history().step[row], t as f64);
        assert_eq!(app.replay_values().unwrap().step, t);
        for (plot, series) in [(LOSS_PLOT, "loss"), (KERNEL_PLOT, "lambda_hat"), (KERNEL_PLOT, "2/eta"), (WEIGHTS_PLOT, "weight_norm_sq"), (WEIGHTS_PLOT, "dist_from_init")] {
            assert_eq!(last_point(app, plot, series)[0], t as f64, "{plot}/{series} ends at the cursor");
        }
        let h = app.history();
        assert_eq!(last_point(app, PHASE_PLOT, "uv"), [h.v[row], h.u[row]], "the u/v now point is step {t}'s");
        let layouts: Vec<_> = [PlotId::Loss, PlotId::Lambda, PlotId::Weights, PlotId::PhasePlane].into_iter().map(|id| app.plot_layout(id).and_then(|l| l.newest.map(|p| (l.plot, p))).unwrap_or_else(|| panic!("{id:?} has a now point"))).collect();
        // The step axes keep the whole run (200 steps): step 60 sits well left of the right edge.
        for (rect, point) in &layouts[..3] {
            assert!(point.x < rect.left() + rect.width() * (t as f32 / 200.0 + 0.2), "{point:?} in {rect:?}");
        }
        harness.get_by_label_contains(&format!("{} step {t}:", labels::TIMELINE_READOUT));
        seen.push(layouts);
    }
    for k in 0..3 {
        assert!(seen[1][k].1.x > seen[0][k].1.x + 10.0, "plot {k}'s cursor moved right with the scrubber");
    }
    assert_ne!(seen[0][3].1, seen[1][3].1, "the u/v now point moved");
    // Newest step: live again, the plots end at the newest sample.
    harness.get_by_label(labels::TIMELINE_LIVE).click();
    harness.run_steps(2);
    assert_eq!(harness.state().replay_row(), None);
    assert_eq!(last_point(harness.state(), LOSS_PLOT, "loss")[0], 200.0);
}

#[test]
fn arrow_keys_step_through_the_history_while_paused() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, SIZE);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 50);
    let expect = |harness: &Harness<'static, App>, step: u64| {
        let app = harness.state();
        let v = app.replay_values().unwrap();
        let s = app.history().sample(app.row_of_step(step as f64));
        assert_eq!((v.step, v.loss, v.lambda_hat, v.eta_lambda, v.u, v.v, v.weight_norm_sq), (step, s.loss, s.lambda_hat, s.eta_lambda, s.u, s.v, s.weight_norm_sq));
        harness.get_by_label_contains(&format!("{} step {step}:", labels::TIMELINE_READOUT));
        assert_eq!(last_point(app, LOSS_PLOT, "loss"), [step as f64, s.loss.max(1e-300)], "the loss plot ends at step {step}");
    };
    harness.key_press(egui::Key::ArrowLeft);
    harness.run_steps(2);
    expect(&harness, 49);
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowLeft);
    harness.run_steps(2);
    expect(&harness, 39);
    harness.key_press(egui::Key::ArrowRight);
    harness.run_steps(2);
    expect(&harness, 40);
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowRight);
    harness.run_steps(2);
    expect(&harness, 50);
    assert_eq!(harness.state().replay_row(), None, "step 50 is the newest: live again");
    assert_eq!(harness.state().step_count(), 50, "replaying never steps the run");
}

#[test]
fn play_replays_the_history_forward_without_simulating() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, SIZE);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    steps(&mut harness, 120);
    harness.get_by_label(labels::TIMELINE_LABEL).set_value_accesskit(3.0);
    harness.run_steps(2);
    harness.get_by_label(labels::TIMELINE_PLAY).click();
    let mut rows = Vec::new();
    step_until(&mut harness, "the replay to reach the newest step", |a| {
        if let Some(r) = a.replay_row() {
            rows.push(r);
        }
        !a.replaying()
    });
    assert!(rows.windows(2).all(|w| w[0] <= w[1]), "the replay runs forward");
    assert!(rows.len() > 10 && rows.iter().any(|&r| r > 3 && r < 30), "it passed through the catapult: {rows:?}");
    assert_eq!(harness.state().replay_row(), None);
    assert_eq!(harness.state().history().len(), 121, "no new samples: replay reads the history");
}

/// The first `n` characters of `text`.
fn head(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// The lesson runner goes through every step of every shipped lesson: each step's run stops at
/// its step or event (never "the run ended before this step's event came") and the callout ring
/// sits on the plot the step names, at the point where the step stopped.
#[test]
fn the_lesson_runner_walks_every_shipped_lesson_and_highlights_each_named_plot() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, SIZE);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    for lesson in catapult_lab::engine::lessons::shipped() {
        harness.get_by_label(lessons_ui::LESSONS_MENU).click();
        harness.run_steps(3);
        harness.get_by_label(&lesson.title).click();
        for (k, step) in lesson.steps.iter().enumerate() {
            let what = format!("{} step {}", lesson.name, k + 1);
            step_until_within(&mut harness, Duration::from_secs(120), &what, |a| a.lesson().is_some_and(|r| r.step == k && r.arrived.is_some()) && a.lesson_highlight().is_some());
            harness.run_steps(2);
            let app = harness.state();
            let run = app.lesson().unwrap();
            assert_eq!(run.note, None, "{what}");
            let (plot, point) = app.lesson_highlight().unwrap_or_else(|| panic!("{what}: no highlight"));
            assert_eq!(plot, step.highlight.plot, "{what}");
            let id = match plot {
                PlotName::Loss => PlotId::Loss,
                PlotName::Kernel => PlotId::Lambda,
                PlotName::Weights => PlotId::Weights,
                PlotName::PhasePlane => PlotId::PhasePlane,
            };
            let rect = app.plot_layout(id).unwrap().plot;
            assert!(rect.expand(2.0).contains(point), "{what}: the ring {point:?} is on the {id:?} plot {rect:?}");
            match &step.run {
                RunTarget::ToStep { to_step } => assert_eq!(app.replay_values().unwrap().step, *to_step, "{what}"),
                RunTarget::Until { until: LessonEvent::Divergence } => assert!(matches!(app.status(), Some(catapult_lab::app::runner::RunStatus::DivergedAt(_))), "{what}"),
                RunTarget::Until { until: LessonEvent::Edge } => assert!(app.replay_values().unwrap().eta_lambda < 2.0, "{what}"),
                RunTarget::Until { until: LessonEvent::Peak } => {
                    let v = app.replay_values().unwrap();
                    let next = app.history().loss[v.row + 1];
                    assert!(next < v.loss, "{what}: the loss turns after the highlighted step");
                }
            }
            harness.get_by_label_contains(&head(&step.text, 40));
            if let Some(question) = &step.question {
                harness.get_by_label_contains(&head(question, 20));
                assert!(harness.query_by_label_contains(&head(step.answer.as_ref().unwrap(), 20)).is_none(), "{what}: the answer is behind a click");
                harness.get_by_label(lessons_ui::LESSON_ANSWER).click();
                harness.run_steps(2);
                harness.get_by_label_contains(&head(step.answer.as_ref().unwrap(), 20));
            }
            if k + 1 < lesson.steps.len() {
                harness.get_by_label(lessons_ui::LESSON_NEXT).click();
                harness.run_steps(1);
            }
        }
    }
}

#[test]
fn presenter_hides_the_side_panel_and_back_reruns_the_step() {
    let mut harness = paused_harness(library::DEFAULT_PRESET, SIZE);
    step_until(&mut harness, "the run", |a| a.snapshot().is_some());
    harness.get_by_label(labels::LOAD_PATH_LABEL);
    harness.state_mut().start_lesson("three-phases");
    step_until(&mut harness, "step 1", |a| a.lesson().is_some_and(|r| r.arrived.is_some()));
    harness.get_by_label(lessons_ui::LESSON_PRESENTER).click();
    harness.run_steps(3);
    assert!(harness.state().presenter());
    assert!(harness.query_by_label(labels::LOAD_PATH_LABEL).is_none(), "the side panel is hidden");
    let loss = harness.state().plot_layout(PlotId::Loss).unwrap().plot;
    harness.get_by_label(lessons_ui::LESSON_NEXT).click();
    step_until(&mut harness, "step 2", |a| a.lesson().is_some_and(|r| r.step == 1 && r.arrived.is_some()));
    harness.get_by_label(lessons_ui::LESSON_BACK).click();
    step_until(&mut harness, "step 1 again", |a| a.lesson().is_some_and(|r| r.step == 0 && r.arrived.is_some()) && a.preset_name() == "lazy-uv");
    harness.get_by_label(lessons_ui::LESSON_PRESENTER).click();
    harness.run_steps(3);
    harness.get_by_label(labels::LOAD_PATH_LABEL);
    assert!(harness.state().plot_layout(PlotId::Loss).unwrap().plot.width() < loss.width(), "presenter gave the plots more room");
}

/// A preset loaded by hand while a lesson step is running ends the lesson's hold on the run:
/// the new run is not paused at the lesson's event (found by the monkey test in CI).
#[test]
fn loading_another_preset_during_a_lesson_step_frees_the_run() {
    let mut harness = paused_harness("catapult-uv", SIZE);
    harness.state_mut().start_lesson("three-phases");
    // The first step loads lazy-uv and runs it to step 60; take over before it gets there.
    step_until(&mut harness, "the lesson's first run", |app| app.snapshot().is_some_and(|s| s.preset_name == "lazy-uv"));
    harness.state_mut().command(Command::SetSpeed(catapult_lab::app::runner::Speed::StepsPerSecond(400.0)));
    harness.state_mut().load_shipped("catapult-uv");
    harness.state_mut().command(Command::Resume);
    step_until(&mut harness, "the hand-loaded preset", |app| app.snapshot().is_some_and(|s| s.preset_name == "catapult-uv"));
    // The lesson's target (step 60) must not stop catapult-uv: it runs on to its 1000 steps.
    step_until(&mut harness, "catapult-uv running to its end", |app| matches!(app.status(), Some(catapult_lab::app::runner::RunStatus::Finished)));
    assert_eq!(harness.state().step_count(), 1000);
    assert!(harness.state().lesson().is_some_and(|l| l.note.as_deref().is_some_and(|n| n.contains("another run was loaded"))));
}
