//! UI tests of the teaching features on the real `App` and runner (egui_kittest): share codes
//! pasted into the window or opened from File → Open code…, copied to the clipboard; the timeline
//! scrubber and replay keys; the lesson runner and presenter mode.

use catapult_lab::app::export::ExportTarget;
use catapult_lab::app::runner::Command;
use catapult_lab::app::{App, share_ui};
use image::AnimationDecoder;
use image::codecs::gif::GifDecoder;
use catapult_lab::engine::config::share;
use catapult_lab::engine::library;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

fn paused_harness(name: &str) -> Harness<'static, App> {
    let preset = library::shipped(name, &[]).unwrap().unwrap();
    Harness::builder().with_size([1400.0, 900.0]).build_eframe(move |cc| {
        let mut app = App::new_paused(preset, Box::new(|| {}));
        app.setup_context(&cc.egui_ctx);
        app
    })
}

fn step_until(harness: &mut Harness<'static, App>, what: &str, mut done: impl FnMut(&App) -> bool) {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness.state()) {
            return;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn steps(harness: &mut Harness<'static, App>, k: u64) {
    let target = harness.state().step_count() + k;
    harness.state_mut().command(Command::Step(k));
    step_until(harness, "the steps", |app| app.step_count() >= target);
    harness.run_steps(2);
}

/// File → Export animation GIF writes the current run as `animate --slowmo` would: ≥ 30
/// different frames at 1280×720.
#[test]
fn the_app_exports_the_run_as_an_animation() {
    let mut harness = paused_harness(library::DEFAULT_PRESET);
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
    let mut harness = paused_harness("lazy-uv");
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
    let mut harness = paused_harness("lazy-uv");
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
