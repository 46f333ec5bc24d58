//! The data view (View → Data view, key D): what the network is fitting, as the runner last
//! computed it — for d = 1 the training points coloured by target with the model's output as a
//! line, for d = 2 the points over a heat map of the output, for images a grid of training
//! images with the output under each (green when its sign matches the label, red otherwise),
//! and for other data a histogram of the outputs by label. UI only: every number comes from
//! the runner's `DataPicture`.

use super::App;
use super::labels::*;
use crate::engine::sim::DataPicture;
use eframe::egui;
use egui::{Color32, RichText};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotImage, PlotPoint, PlotPoints, Points};

/// Label colours: +1 (or above the median target) orange, −1 blue.
const POSITIVE: Color32 = Color32::from_rgb(240, 140, 40);
const NEGATIVE: Color32 = Color32::from_rgb(60, 130, 230);

fn label_color(y: f64) -> Color32 {
    if y > 0.0 { POSITIVE } else { NEGATIVE }
}

/// Diverging colour of an output scaled to [−1, 1] (blue negative, orange positive).
fn heat(value: f64) -> Color32 {
    let t = value.clamp(-1.0, 1.0);
    let base = Color32::from_gray(245);
    let end = if t >= 0.0 { POSITIVE } else { NEGATIVE };
    base.lerp_to_gamma(end, (t.abs() as f32) * 0.85)
}

impl App {
    /// The data view window, when open.
    pub(super) fn data_view_ui(&mut self, ctx: &egui::Context) {
        if !self.data_view_open {
            return;
        }
        let picture = self.snapshot().and_then(|s| s.picture.clone());
        let mut open = self.data_view_open;
        egui::Window::new(DATA_VIEW_TITLE).open(&mut open).default_size([520.0, 440.0]).resizable(true).show(ctx, |ui| {
            let Some(picture) = picture else {
                ui.label("No run yet.");
                return;
            };
            match picture.as_ref() {
                DataPicture::Line { x, y, curve_x, curve_f } => line_view(ui, x, y, curve_x, curve_f),
                DataPicture::Plane { points, y, x_range, y_range, f } => plane_view(ui, points, y, *x_range, *y_range, f),
                DataPicture::Images { side, tiles } => images_view(ui, *side, tiles),
                DataPicture::Outputs { groups } => outputs_view(ui, groups),
            }
        });
        self.data_view_open = open;
    }
}

fn line_view(ui: &mut egui::Ui, x: &[f64], y: &[f64], curve_x: &[f64], curve_f: &[f64]) {
    ui.label(RichText::new(DATA_VIEW_LINE_LABEL).strong())
        .on_hover_text("Each dot is a training example (x, target), coloured by the sign of its target; the line is the network's output f(x) now.");
    Plot::new("data_view_line").legend(Legend::default()).x_axis_label("x").y_axis_label("target / f(x)").show(ui, |plot| {
        let curve: PlotPoints = curve_x.iter().zip(curve_f).map(|(&a, &b)| [a, b]).collect();
        plot.line(Line::new("model output f(x)", curve).width(2.0));
        for (name, positive) in [("targets ≥ 0", true), ("targets < 0", false)] {
            let points: PlotPoints = x.iter().zip(y).filter(|(_, t)| (**t >= 0.0) == positive).map(|(&a, &b)| [a, b]).collect();
            plot.points(Points::new(name, points).radius(4.0).color(if positive { POSITIVE } else { NEGATIVE }));
        }
    });
}

fn plane_view(ui: &mut egui::Ui, points: &[[f64; 2]], y: &[f64], (x0, x1): (f64, f64), (y0, y1): (f64, f64), f: &[f64]) {
    ui.label(RichText::new(DATA_VIEW_PLANE_LABEL).strong())
        .on_hover_text("Background: the network's output on a grid over the plane (orange positive, blue negative, white 0); dots: the training points coloured by label.");
    let grid = (f.len() as f64).sqrt().round() as usize;
    let scale = f.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    // Texture rows go from the top of the image down: the grid's last row (largest y) first.
    let pixels: Vec<Color32> = (0..grid).rev().flat_map(|r| (0..grid).map(move |c| (r, c))).map(|(r, c)| heat(f[r * grid + c] / scale)).collect();
    let image = egui::ColorImage { size: [grid, grid], pixels, source_size: egui::vec2(grid as f32, grid as f32) };
    let texture = ui.ctx().load_texture("data_view_plane", image, egui::TextureOptions::NEAREST);
    ui.label(format!("output range ±{:.3}", scale));
    Plot::new("data_view_plane").data_aspect(1.0).legend(Legend::default()).x_axis_label("x₁").y_axis_label("x₂").show(ui, |plot| {
        let center = PlotPoint::new(0.5 * (x0 + x1), 0.5 * (y0 + y1));
        plot.image(PlotImage::new("model output", &texture, center, [(x1 - x0) as f32, (y1 - y0) as f32]));
        for (name, positive) in [("label +", true), ("label −", false)] {
            let pts: PlotPoints = points.iter().zip(y).filter(|(_, t)| (**t > 0.0) == positive).map(|(p, _)| *p).collect();
            plot.points(Points::new(name, pts).radius(4.0).color(if positive { POSITIVE } else { NEGATIVE }));
        }
    });
}

fn images_view(ui: &mut egui::Ui, side: usize, tiles: &[crate::engine::sim::ImageTile]) {
    ui.label(RichText::new(DATA_VIEW_IMAGES_LABEL).strong())
        .on_hover_text("Training images with the network's output f under each: green when its sign matches the label, red when it does not.");
    let tile_size = 88.0;
    ui.horizontal_wrapped(|ui| {
        for (k, tile) in tiles.iter().enumerate() {
            ui.vertical(|ui| {
                let top = tile.pixels.iter().fold(0.0f64, |m, v| m.max(*v)).max(1e-12);
                let pixels = tile.pixels.iter().map(|&p| Color32::from_gray((255.0 * (p / top).clamp(0.0, 1.0)) as u8)).collect();
                let image = egui::ColorImage { size: [side, side], pixels, source_size: egui::vec2(side as f32, side as f32) };
                let texture = ui.ctx().load_texture(format!("data_view_tile_{k}"), image, egui::TextureOptions::NEAREST);
                ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(tile_size, tile_size)));
                let right = tile.output.signum() == tile.label.signum() && tile.output != 0.0;
                let color = if right { Color32::from_rgb(40, 170, 70) } else { Color32::from_rgb(220, 50, 50) };
                ui.label(RichText::new(format!("y {:+} f {:+.2}", tile.label, tile.output)).color(color));
            });
        }
    });
}

fn outputs_view(ui: &mut egui::Ui, groups: &[(f64, Vec<f64>)]) {
    ui.label(RichText::new(DATA_VIEW_OUTPUTS_LABEL).strong())
        .on_hover_text("How the network's outputs on the training set are spread, one colour per label value.");
    let all = groups.iter().flat_map(|(_, v)| v.iter().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return;
    }
    let bins = 30;
    let width = ((hi - lo) / bins as f64).max(1e-9);
    Plot::new("data_view_outputs").legend(Legend::default()).x_axis_label("output f").y_axis_label("examples").show(ui, |plot| {
        for (k, (label, values)) in groups.iter().enumerate() {
            let mut counts = vec![0usize; bins];
            for v in values {
                counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
            }
            let bars = counts.iter().enumerate().map(|(b, &c)| Bar::new(lo + (b as f64 + 0.5) * width, c as f64).width(width)).collect();
            let name = if label.is_nan() { "all examples".to_string() } else { format!("label {label}") };
            let color = if groups.len() == 2 { label_color(*label) } else { super::pins::pin_color(k) };
            plot.bar_chart(BarChart::new(name, bars).color(color.gamma_multiply(0.7)));
        }
    });
}
