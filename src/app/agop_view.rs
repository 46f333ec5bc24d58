//! The AGOP heatmaps for teacher data: the model's average gradient outer product G beside the
//! teacher's G* (both d × d, as the runner last sent them), drawn cell by cell with the painter,
//! each scaled to its own largest entry, with the value of the hovered cell. UI only.

use super::labels::*;
use eframe::egui;
use crate::app::runner::AgopMatrices;
use egui::{Color32, RichText, Sense, Stroke};


/// Colour of an entry scaled to [−1, 1]: red positive, blue negative, the background at zero.
fn cell_color(scaled: f64, background: Color32) -> Color32 {
    let t = scaled.abs().clamp(0.0, 1.0) as f32;
    let end = if scaled >= 0.0 { Color32::from_rgb(240, 70, 50) } else { Color32::from_rgb(60, 120, 240) };
    background.lerp_to_gamma(end, t)
}

/// One labelled d × d heatmap of `side` pixels; returns the hovered cell's text, if any.
fn heatmap(ui: &mut egui::Ui, label: &str, tip: &str, matrix: &[f64], d: usize, side: f32) {
    ui.vertical(|ui| {
        ui.label(RichText::new(label).strong()).on_hover_text(tip);
        let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), Sense::hover());
        let background = ui.visuals().extreme_bg_color;
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, background);
        let largest = matrix.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if d == 0 || matrix.len() != d * d || largest <= 0.0 || !largest.is_finite() {
            return;
        }
        let cell = side / d as f32;
        for row in 0..d {
            for col in 0..d {
                let value = matrix[row * d + col] / largest;
                if value.abs() < 1e-3 {
                    continue;
                }
                let min = rect.min + egui::vec2(col as f32 * cell, row as f32 * cell);
                painter.rect_filled(egui::Rect::from_min_size(min, egui::vec2(cell.max(1.0), cell.max(1.0))), 0.0, cell_color(value, background));
            }
        }
        painter.rect_stroke(rect, 0.0, Stroke::new(1.0, ui.visuals().weak_text_color()), egui::StrokeKind::Outside);
        if let Some(pos) = response.hover_pos() {
            let col = (((pos.x - rect.left()) / cell) as usize).min(d - 1);
            let row = (((pos.y - rect.top()) / cell) as usize).min(d - 1);
            response.on_hover_text(format!("{label}\nentry ({}, {}) = {:.4e}\n(largest |entry| = {:.4e})", row + 1, col + 1, matrix[row * d + col], largest));
        }
    });
}

/// The lines a strong body-text label takes when wrapped to `width`.
fn label_lines(ui: &egui::Ui, label: &str, width: f32) -> f32 {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let text_width = ui.fonts_mut(|f| f.layout_no_wrap(label.to_string(), font, egui::Color32::WHITE).size().x);
    (text_width / width.max(1.0)).ceil().max(1.0)
}

/// G and G* side by side in a strip of `height` pixels (title included).
pub fn agop_heatmaps(ui: &mut egui::Ui, agop: Option<&AgopMatrices>, height: f32) -> egui::Rect {
    let top = ui.cursor().min;
    ui.label(RichText::new(AGOP_HEATMAPS_TITLE).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1)).on_hover_text(
        "The average gradient outer product G = (1/n) Σ ∇_xf(x_i) ∇_xf(x_i)^T says which input directions the network's \
         output is sensitive to (entry (i, j): inputs i and j together). The teacher's G* is what it should learn: \
         for the rank-2 teacher y = x₁x₂ only the top-left 2 × 2 corner is lit. Each map is scaled to its own largest \
         entry: red positive, blue negative. At the start G is spread over all d inputs; feature learning \
         (catapults) concentrates it on the teacher's directions. Refreshed about twice a second and on pause.",
    );
    let Some(agop) = agop else {
        ui.label(RichText::new("waiting for the runner…").weak());
        return egui::Rect::from_min_max(top, ui.cursor().min);
    };
    // The maps' side: half the width, or what the height leaves after the title as drawn (it
    // wraps in a narrow column), the maps' labels (wrapped to the side's width) and the footer.
    let label_height = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
    let left = height - (ui.cursor().min.y - top.y);
    let mut side = ((ui.available_width() - 3.0 * ui.spacing().item_spacing.x) / 2.0).max(60.0);
    for _ in 0..2 {
        let lines = [AGOP_MODEL_LABEL, AGOP_TARGET_LABEL].iter().map(|label| label_lines(ui, label, side)).fold(1.0f32, f32::max);
        side = side.min(left - (lines + 1.0) * label_height).max(60.0);
    }
    ui.horizontal_top(|ui| {
        heatmap(
            ui,
            AGOP_MODEL_LABEL,
            &format!("The network's AGOP at step {} ({} × {} inputs).", agop.step, agop.d, agop.d),
            &agop.model,
            agop.d,
            side,
        );
        heatmap(ui, AGOP_TARGET_LABEL, "The teacher function's AGOP on the same inputs: the features to be learned.", &agop.target, agop.d, side);
    });
    ui.label(RichText::new(format!("{0} × {0} · step {1} · red +, blue −, each scaled to its largest entry", agop.d, agop.step)).small().weak());
    egui::Rect::from_min_max(top, egui::pos2(top.x + ui.available_width(), ui.cursor().min.y))
}
