//! The layered network in the app (SPEC §10): the model combo offers "layered net (mlp)";
//! choosing it gives a true ReLU (a_neg = 0) and the mlp controls; depth 3 restarts the run,
//! which streams steps; a layer's train checkbox freezes it; a structure above the live work
//! limit is refused with the message pointing to the command line.

use catapult_lab::app::mlp_controls::{DEPTH_LABEL, MLP_KIND_LABEL, MLP_LAYERS_SECTION_LABEL, MLP_WIDTH_LABEL, mlp_layer_train_label};
use catapult_lab::app::{self, App};
use catapult_lab::engine::config::ModelKind;
use catapult_lab::engine::library;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

mod common;
use common::*;

fn running_harness_on(name: &str) -> egui_kittest::Harness<'static, App> {
    running_harness(shipped(name), [1400.0, 1000.0])
}

fn choose_mlp_depth_3(harness: &mut Harness<'static, App>) {
    step_until(harness, "the first samples", |app| app.step_count() > 0);
    harness.get_by_role_and_label(Role::ComboBox, "model").click();
    harness.run_steps(2);
    harness.get_by_label(MLP_KIND_LABEL).click();
    step_until(harness, "the mlp run", |app| app.preset().model.kind == ModelKind::Mlp);
    assert_eq!(harness.state().preset().model.a_neg, 0.0, "an mlp starts as a true ReLU");
    harness.get_by_role_and_label(Role::SpinButton, DEPTH_LABEL).set_value_accesskit(3.0);
    step_until(harness, "the depth-3 run", |app| app.preset().model.depth == 3);
}

#[test]
fn choosing_the_mlp_and_depth_3_restarts_a_run_that_streams_steps() {
    let mut harness = running_harness_on(library::DEFAULT_PRESET);
    choose_mlp_depth_3(&mut harness);
    let received = harness.state().samples_received();
    step_until(&mut harness, "depth-3 samples streaming", |app| app.samples_received() > received + 20 && app.step_count() > 20);
    let app = harness.state();
    assert!(app.preset().name.ends_with("(edited)"));
    assert!(app.history().loss.iter().all(|l| l.is_finite()));
    assert_eq!(app.preset().model.layer_count(), 4);
    // The mlp controls are there, the two-layer net's are not.
    harness.get_by_role_and_label(Role::Slider, MLP_WIDTH_LABEL);
    harness.get_by_role_and_label(Role::ComboBox, app::mlp_controls::ACTIVATION_LABEL);
    harness.get_by_role_and_label(Role::ComboBox, app::mlp_controls::PARAMETERIZATION_LABEL);
    assert!(harness.query_by_label(app::labels::LAYERS_SECTION_LABEL).is_none());
    // The status strip shows the three hidden layers' ReLU sparsity, as the history holds it.
    harness.run_steps(2);
    let app = harness.state();
    let last: Vec<String> = (0..3).map(|l| format!("{:.2}", app.history().layer_sparsity[l].last().copied().flatten().expect("sparsity_l"))).collect();
    assert!(app.history().layer_sparsity.len() == 3);
    harness.get_by_label(&format!("{} {}", app::labels::SPARSITY_LABEL, last.join(" · ")));
}

#[test]
fn a_layer_checkbox_freezes_the_layer_and_a_too_large_net_is_refused() {
    let mut harness = running_harness_on(library::DEFAULT_PRESET);
    choose_mlp_depth_3(&mut harness);
    harness.get_by_label(MLP_LAYERS_SECTION_LABEL).click();
    harness.run_steps(3);
    harness.get_by_label(&mlp_layer_train_label(4, 3)).click();
    step_until(&mut harness, "the run with the output layer frozen", |app| app.preset().train.frozen_layers == vec![4] && app.step_count() > 5);
    // Width 100000 at depth 3 does not fit: refused, the run keeps its net.
    harness.get_by_role_and_label(Role::Slider, MLP_WIDTH_LABEL).set_value_accesskit(100_000.0);
    harness.run_steps(3);
    harness.get_by_label_contains("not applied");
    assert_eq!(harness.state().preset().model.width, 1000);
    assert_eq!(harness.state().preset().model.depth, 3);
}

#[test]
fn a_net_above_the_live_work_limit_is_refused_pointing_to_the_command_line() {
    let mut preset = library::shipped(library::DEFAULT_PRESET, &[]).unwrap().unwrap();
    preset.model.kind = ModelKind::Mlp;
    preset.model.depth = 4;
    preset.model.width = 1024;
    preset.data = serde_json::from_str(r#"{"kind": "clusters", "n": 512, "d": 784}"#).unwrap();
    let work = catapult_lab::engine::config::estimated_work_per_step(&preset);
    assert!(work > app::APP_WORK_LIMIT, "a W6-sized net (4 × 1024, n = 512, d = 784) is above the live limit: {work:e}");
    preset.data = serde_json::from_str(r#"{"kind": "clusters", "n": 64, "d": 784}"#).unwrap();
    let small = catapult_lab::engine::config::estimated_work_per_step(&preset);
    assert!(small < app::APP_WORK_LIMIT, "n = 64 runs live: {small:e}");
    // 128 MNIST images (d = 784): depth 1 runs live, depth 8 of width 1024 does not.
    let mut harness = running_harness_on("images-mnist-lazy");
    step_until(&mut harness, "the first samples", |app| app.step_count() > 0);
    harness.get_by_role_and_label(Role::ComboBox, "model").click();
    harness.run_steps(2);
    harness.get_by_label(MLP_KIND_LABEL).click();
    step_until(&mut harness, "the mlp run", |app| app.preset().model.kind == ModelKind::Mlp);
    harness.get_by_role_and_label(Role::SpinButton, DEPTH_LABEL).set_value_accesskit(8.0);
    harness.run_steps(3);
    harness.get_by_label_contains("catapult-lab run");
    assert_eq!(harness.state().preset().model.depth, 1, "the run keeps its depth");
}
