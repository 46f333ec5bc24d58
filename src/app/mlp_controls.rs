//! The layered network's controls in the model section (SPEC §10, `model.kind = "mlp"`): depth,
//! common width, activation (a_neg for relu), biases and their scale, parameterization, what is
//! trained (network / NQM / linearized), and a per-layer section with each hidden layer's width,
//! init scale and "train" checkbox (`train.frozen_layers`). These edit the draft preset only;
//! `App::apply_draft` validates it and refuses it above the live work limit, as for every
//! structural control.

use super::controls::{choice_row, commits, labelled_row};
use crate::engine::config::{Activation, Approx, ModelKind, Parameterization, Preset};
use eframe::egui;
use egui::{DragValue, Slider};

/// The model-kind combo's entry for the layered network.
pub const MLP_KIND_LABEL: &str = "layered net (mlp)";
pub const DEPTH_LABEL: &str = "depth L";
pub const ACTIVATION_LABEL: &str = "activation";
pub const BIAS_LABEL: &str = "biases";
pub const BIAS_SCALE_LABEL: &str = "bias scale β";
pub const PARAMETERIZATION_LABEL: &str = "parameterization";
pub const MLP_LAYERS_SECTION_LABEL: &str = "Layers: width, init scale and training per layer";
/// The common hidden width of the layered net.
pub const MLP_WIDTH_LABEL: &str = "width (every layer)";

/// Layer `layer` (1-based) of a net with `depth` hidden layers, e.g. "hidden 2" or "output".
pub fn mlp_layer_name(layer: usize, depth: usize) -> String {
    if layer > depth { "output".to_string() } else { format!("hidden {layer}") }
}

/// The per-layer "train" checkbox, e.g. "train layer 4 (output)".
pub fn mlp_layer_train_label(layer: usize, depth: usize) -> String {
    format!("train layer {layer} ({})", mlp_layer_name(layer, depth))
}

/// The per-layer width field, e.g. "width n_2".
pub fn mlp_layer_width_label(layer: usize) -> String {
    format!("width n_{layer}")
}

/// Puts the draft on the layered net: a true ReLU (a_neg = 0, SPEC §10's default), depth from
/// the preset, per-layer settings of the old model dropped.
pub fn switch_to_mlp(draft: &mut Preset) {
    draft.model.kind = ModelKind::Mlp;
    draft.model.a_neg = 0.0;
    draft.model.init_scales = None;
    draft.model.widths = None;
    draft.train.frozen_layers.clear();
    draft.model.depth = draft.model.depth.clamp(1, 8);
}

/// Leaves the layered net: the keys the other models do not read go back to their defaults
/// (`standard` is an mlp-only parameterization).
pub fn switch_from_mlp(draft: &mut Preset) {
    if draft.model.parameterization == Parameterization::Standard {
        draft.model.parameterization = Parameterization::Ntk;
    }
    draft.model.init_scales = None;
    draft.model.widths = None;
    draft.train.frozen_layers.clear();
}

/// Sets the depth, keeping per-layer lists the right length.
fn set_depth(draft: &mut Preset, depth: usize) {
    let m = &mut draft.model;
    m.depth = depth;
    if let Some(widths) = &mut m.widths {
        widths.resize(depth, m.width);
    }
    if let Some(scales) = &mut m.init_scales {
        scales.resize(depth + 1, m.init_scale);
    }
    draft.train.frozen_layers.retain(|&l| l <= depth + 1);
    if draft.train.frozen_layers.len() == depth + 1 {
        draft.train.frozen_layers.clear();
    }
}

/// The mlp rows of the structure grid; true when an edit should be applied now.
pub(super) fn mlp_rows(ui: &mut egui::Ui, draft: &mut Preset) -> bool {
    let mut commit = false;
    choice_row(
        ui,
        "trained as",
        &mut draft.model.approx,
        &[(Approx::Network, "network"), (Approx::Quadratic, "quadratic (NQM)"), (Approx::Linearized, "linearized")],
        "Train the network itself, its second-order Taylor model at init (NQM: gates frozen at init, products of two layers' weight changes kept), or its linearized model f(w0) + J(w0)Δw, whose edge is exactly η·λ₀ = 2.",
    );
    let mut depth = draft.model.depth;
    let response = labelled_row(ui, DEPTH_LABEL, DragValue::new(&mut depth).range(1..=8).speed(0.05), "Number of hidden layers L (1–8). Depth 1 is the two-layer net. Deeper ReLU nets catapult over a wider range of η·λ₀ than the two-layer linear net's 2–4.");
    if response.changed() {
        set_depth(draft, depth);
    }
    commit |= commits(&response);
    let mut width = draft.model.width;
    let response = labelled_row(ui, MLP_WIDTH_LABEL, Slider::new(&mut width, 2..=4096).logarithmic(true).clamping(egui::SliderClamping::Never), "Hidden units in every layer (model.width); per-layer widths are in the layers section below. Wider nets are lazier: the kernel moves less.");
    if response.changed() {
        draft.model.width = width;
        draft.model.widths = None;
    }
    commit |= commits(&response);
    choice_row(
        ui,
        ACTIVATION_LABEL,
        &mut draft.model.activation,
        &[(Activation::Relu, "relu"), (Activation::Linear, "linear"), (Activation::Tanh, "tanh"), (Activation::Gelu, "gelu")],
        "The hidden activation σ: relu (slope a_neg below 0; 0 = ReLU, between 0 and 1 leaky), linear (a deep linear net), tanh or gelu (smooth: the Hessian has σ'' terms too).",
    );
    if draft.model.activation == Activation::Relu {
        commit |= commits(&labelled_row(ui, "a_neg", Slider::new(&mut draft.model.a_neg, 0.0..=1.0).fixed_decimals(2), "Slope of the ReLU for negative inputs: 0 = ReLU (the mlp default), 1 = linear, between = leaky."));
    }
    let label = ui.label(BIAS_LABEL);
    ui.checkbox(&mut draft.model.bias, "on").labelled_by(label.id).on_hover_text("Biases β·b_l in every layer (model.bias; off by default). With them the kernel gains β² per layer: on Gaussian data η_crit can change tenfold.");
    ui.end_row();
    if draft.model.bias {
        commit |= commits(&labelled_row(ui, BIAS_SCALE_LABEL, Slider::new(&mut draft.model.bias_scale, 0.0..=4.0).fixed_decimals(2), "β, the factor of every bias (model.bias_scale; biases are drawn N(0, 1))."));
    }
    choice_row(
        ui,
        PARAMETERIZATION_LABEL,
        &mut draft.model.parameterization,
        &[(Parameterization::Ntk, "NTK"), (Parameterization::Standard, "standard"), (Parameterization::MeanField, "mean field")],
        "How layers are scaled: NTK z = σ_w W h/√n (W ~ N(0, 1), the thesis); standard z = W h with W ~ N(0, σ_w²/n) (PyTorch); mean field divides the output layer by its width instead of its square root.",
    );
    commit
}

/// The per-layer section: hidden widths, init scales and train checkboxes.
pub(super) fn mlp_layer_rows(ui: &mut egui::Ui, draft: &mut Preset) -> bool {
    let mut commit = false;
    let depth = draft.model.depth;
    for layer in 1..=depth + 1 {
        if layer <= depth {
            let mut width = draft.model.widths.as_ref().map_or(draft.model.width, |w| w[layer - 1]);
            let response = labelled_row(ui, &mlp_layer_width_label(layer), DragValue::new(&mut width).range(1..=100_000).speed(1.0), "Hidden units of this layer (model.widths, overriding the common width).");
            if response.changed() {
                let mut widths = draft.model.widths.clone().unwrap_or_else(|| vec![draft.model.width; depth]);
                widths[layer - 1] = width;
                draft.model.widths = Some(widths);
            }
            commit |= commits(&response);
        }
        let mut scale = draft.model.layer_init_scale(layer);
        let response = labelled_row(ui, &format!("σ layer {layer} ({})", mlp_layer_name(layer, depth)), Slider::new(&mut scale, 1e-4..=4.0).logarithmic(true), "This layer's init scale σ_l (model.init_scales), overriding the common σ_w.");
        if response.changed() {
            let mut scales = draft.model.init_scales.clone().unwrap_or_else(|| vec![draft.model.init_scale; depth + 1]);
            scales[layer - 1] = scale;
            draft.model.init_scales = Some(scales);
        }
        commit |= commits(&response);
        ui.label("");
        let mut trained = draft.train.trains_layer(layer);
        let check = ui.checkbox(&mut trained, mlp_layer_train_label(layer, depth)).on_hover_text("Unchecked: the layer stays at its init (train.frozen_layers) and drops out of the update, the kernel and λ̂. At least one layer must train.");
        ui.end_row();
        if check.changed() {
            draft.train.frozen_layers.retain(|&l| l != layer);
            if !trained {
                draft.train.frozen_layers.push(layer);
                draft.train.frozen_layers.sort_unstable();
            }
        }
    }
    commit
}
