//! The sweep view's four panels (final η·λ̂, peak loss, final weight norm, phase strip) over
//! η·λ̂0 per width, with the theory lines and click-to-open points.

use super::*;

/// Rows grouped by width (ascending), each group sorted by η·λ₀: (width, [(cell index, summary)]).
pub(super) fn by_width(rows: &[(usize, Summary)]) -> Vec<(usize, Vec<(usize, &Summary)>)> {
    let mut widths: Vec<usize> = rows.iter().map(|(_, r)| r.width).collect();
    widths.sort_unstable();
    widths.dedup();
    widths
        .into_iter()
        .map(|w| {
            let mut group: Vec<(usize, &Summary)> = rows.iter().filter(|(_, r)| r.width == w).map(|(i, r)| (*i, r)).collect();
            group.sort_by(|a, b| a.1.eta_scaled.total_cmp(&b.1.eta_scaled).then(a.1.seed.cmp(&b.1.seed)));
            (w, group)
        })
        .collect()
}

pub(super) fn rgb((r, g, b): (u8, u8, u8)) -> Color32 {
    Color32::from_rgb(r, g, b)
}

pub(super) fn series_color(k: usize) -> Color32 {
    rgb(SERIES_COLORS[k % SERIES_COLORS.len()])
}

pub(super) fn panel_title(ui: &mut egui::Ui, text: &str, help: &str) {
    ui.label(RichText::new(text).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1)).on_hover_text(help);
}

/// The cell index of the plotted point nearest the click (within 12 pixels).
pub(super) fn clicked_point<R>(response: &PlotResponse<R>, points: &[(usize, [f64; 2])]) -> Option<usize> {
    if !response.response.clicked() {
        return None;
    }
    let pointer = response.response.interact_pointer_pos()?;
    points
        .iter()
        .map(|(index, [x, y])| (*index, response.transform.position_from_point(&PlotPoint::new(*x, *y)).distance(pointer)))
        .filter(|(_, d)| *d < 12.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(index, _)| index)
}

/// Hover text: the series name and the point.
/// The hover text of a sweep panel near a point: the series, its η·λ₀, `describe(y)`.
pub(super) fn point_hover(describe: impl Fn(f64) -> String) -> impl Fn(&egui_plot::HoverPosition<'_>) -> Option<String> {
    move |pos| match pos {
        egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
            Some(format!("{plot_name}\nη·λ₀ = {:.3}\n{}\n(click a point to open that run)", position.x, describe(position.y)))
        }
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    }
}

pub(super) fn sweep_plot(id: &str, height: f32, x_range: (f64, f64), with_legend: bool) -> Plot<'static> {
    let plot = Plot::new(id)
        .id(Id::unique(id))
        .height(height)
        .include_x(x_range.0)
        .include_x(x_range.1)
        .x_axis_label("η·λ₀ (learning rate × initial sharpness)")
        .y_axis_min_width(56.0)
        .allow_scroll(false)
        .allow_double_click_reset(true);
    if with_legend {
        plot.legend(Legend::default().position(egui_plot::Corner::LeftTop).background_alpha(0.7).follow_insertion_order(true).text_style(egui::TextStyle::Small))
    } else {
        plot
    }
}

/// The phase-boundary lines every η·λ₀ panel carries: 2 (lazy edge), 4 (catapult edge), and the
/// theory's η_max·λ₀ where it differs from 4.
/// Only the first panel names them in its legend (the others would repeat it).
pub(super) fn phase_edges(plot_ui: &mut egui_plot::PlotUi, groups: &[(usize, Vec<(usize, &Summary)>)], named: bool, ml: Option<(f64, Option<f64>)>) {
    let name = |text: &str| if named { text.to_string() } else { String::new() };
    plot_ui.vline(VLine::new(name("η·λ₀ = 2 (lazy edge)"), 2.0).color(Color32::from_rgb(60, 170, 90)).style(LineStyle::dashed_dense()).width(1.2));
    plot_ui.vline(VLine::new(name("η·λ₀ = 4 (catapult edge, linear nets)"), 4.0).color(Color32::from_rgb(220, 60, 60)).style(LineStyle::dashed_dense()).width(1.2));
    let mut bounds: Vec<f64> = groups
        .iter()
        .flat_map(|(_, g)| g.iter().filter_map(|(_, r)| r.eta_max_theory.map(|e| e * r.lambda0)))
        .filter(|b| b.is_finite() && (b - 4.0).abs() > 1e-3)
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
    for b in bounds {
        plot_ui.vline(VLine::new(name("η_max·λ₀ (theory)"), b).color(Color32::from_rgb(220, 60, 60)).style(LineStyle::dotted_dense()).width(1.2));
    }
    // Meltzer–Liu (SPEC §6), as the engine gives them for the live run's initialization.
    if let Some((catapult, divergence)) = ml {
        plot_ui.vline(VLine::new(name(ML_CATAPULT_LABEL), catapult).color(Color32::from_rgb(235, 150, 30)).style(LineStyle::dashed_loose()).width(1.6));
        if let Some(divergence) = divergence {
            plot_ui.vline(VLine::new(name(ML_DIVERGENCE_LABEL), divergence).color(Color32::from_rgb(170, 40, 120)).style(LineStyle::dashed_loose()).width(1.6));
        }
    }
}


/// Lines and points per width of `value` (None = not drawn); returns the drawn points for clicks.
pub(super) fn series(
    plot_ui: &mut egui_plot::PlotUi,
    groups: &[(usize, Vec<(usize, &Summary)>)],
    value: impl Fn(&Summary) -> Option<f64>,
    clip: Option<f64>,
) -> Vec<(usize, [f64; 2])> {
    let mut hits = Vec::new();
    for (k, (width, group)) in groups.iter().enumerate() {
        let color = series_color(k);
        let name = format!("m = {width}");
        let points: Vec<(usize, [f64; 2], bool)> = group
            .iter()
            .filter_map(|(index, r)| {
                let v = value(r)?;
                let clipped = clip.is_some_and(|top| v > top);
                Some((*index, [r.eta_scaled, clip.map_or(v, |top| v.min(top))], clipped))
            })
            .collect();
        plot_ui.line(Line::new(name.clone(), PlotPoints::new(points.iter().map(|p| p.1).collect())).color(color).width(1.8));
        let (over, inside): (Vec<&(usize, [f64; 2], bool)>, Vec<&(usize, [f64; 2], bool)>) = points.iter().partition(|p| p.2);
        plot_ui.points(Points::new(name.clone(), inside.iter().map(|p| p.1).collect::<Vec<_>>()).radius(3.5).color(color));
        if !over.is_empty() {
            plot_ui.points(
                Points::new(name.clone(), over.iter().map(|p| p.1).collect::<Vec<_>>()).radius(5.0).shape(MarkerShape::Up).color(color),
            );
        }
        hits.extend(points.iter().map(|p| (p.0, p.1)));
    }
    hits
}

pub(super) fn final_eta_lambda_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_FINAL_TITLE,
        "η times the sharpness λ at the end of each run. Lazy runs keep their sharpness (on the diagonal). \
         Catapult runs (2 < η·λ₀ < 4) end below 2: training moved to a flatter place. Divergent runs are \
         clipped at the top (triangles).",
    );
    let top = x_range.1.max(4.5).min(8.0);
    let response = sweep_plot("sweep_final_eta_lambda", height, x_range, true)
        .include_y(0.0)
        .include_y(top)
        .y_axis_label("final η·λ")
        .label_formatter(point_hover(|y| format!("final η·λ = {y:.3}")))
        .show(ui, |plot_ui| {
            phase_edges(plot_ui, groups, true, ml);
            plot_ui.hline(HLine::new("η·λ = 2 (stable after training)", 2.0).color(Color32::GRAY).style(LineStyle::dashed_loose()));
            let (lo, hi) = (x_range.0.max(0.0), x_range.1.min(top));
            plot_ui.line(Line::new("η·λ = η·λ₀ (lazy: unchanged)", PlotPoints::new(vec![[lo, lo], [hi, hi]])).color(Color32::GRAY).style(LineStyle::dotted_dense()).width(1.2));
            series(plot_ui, groups, |r| Some(r.final_eta_lambda), Some(top))
        });
    let hit = clicked_point(&response, &response.inner);
    (response.response.rect, hit)
}

pub(super) fn peak_loss_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_PEAK_TITLE,
        "The largest loss of each run, on a log scale (each grid line is ×10). Lazy runs peak at their start. \
         In the catapult the loss spikes, and the spike grows in proportion to the width m: the curves of wider \
         networks sit higher by the ratio of the widths.",
    );
    let y_axis = AxisHints::new_y().label("peak loss").formatter(|mark, _| pow10_label(mark.value));
    let response = sweep_plot("sweep_peak_loss", height, x_range, true)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(decade_spacer)
        .label_formatter(point_hover(|y| format!("peak loss = {:.3e}", 10f64.powf(y))))
        .show(ui, |plot_ui| {
            phase_edges(plot_ui, groups, false, ml);
            series(plot_ui, groups, |r| (r.peak_loss > 0.0 && r.peak_loss.is_finite()).then(|| r.peak_loss.log10()), None)
        });
    let hit = clicked_point(&response, &response.inner);
    (response.response.rect, hit)
}

pub(super) fn weight_norm_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_NORM_TITLE,
        "How much the squared weight norm changed over the run (1 = unchanged). Lazy runs stay near 1; a \
         catapult throws the weights far from where they started. Divergent runs are clipped (triangles).",
    );
    let ratio = |r: &Summary| (r.weight_norm_sq0 > 0.0).then(|| r.final_weight_norm_sq / r.weight_norm_sq0);
    let top = groups
        .iter()
        .flat_map(|(_, g)| g.iter().filter(|(_, r)| r.phase != Phase::Divergent).filter_map(|(_, r)| ratio(r)))
        .fold(1.5f64, f64::max)
        .min(1e3)
        * 1.05;
    let response = sweep_plot("sweep_weight_norm", height, x_range, true)
        .include_y(0.0)
        .include_y(top)
        .y_axis_label("|w|² final / initial")
        .label_formatter(point_hover(|y| format!("|w|² ratio = {y:.4}")))
        .show(ui, |plot_ui| {
            phase_edges(plot_ui, groups, false, ml);
            plot_ui.hline(HLine::new("1 (unchanged)", 1.0).color(Color32::GRAY).style(LineStyle::dashed_loose()));
            series(plot_ui, groups, ratio, Some(top))
        });
    let hit = clicked_point(&response, &response.inner);
    (response.response.rect, hit)
}

/// Integer row marks for the phase strip's width axis.
pub(super) fn row_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    ((lo.ceil() as i64)..=(hi.floor() as i64)).map(|k| GridMark { value: k as f64, step_size: 1.0 }).collect()
}

pub(super) fn phase_strip_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_PHASE_TITLE,
        "One row per width, one cell per learning rate (stacked thin stripes when there are several seeds), \
         coloured by the phase each run ended in. The lazy/catapult edge sits at η·λ₀ = 2 for every width.",
    );
    // The colour key above the strip (a legend inside would cover cells).
    ui.horizontal(|ui| {
        ui.label(RichText::new("colour:").small());
        for phase in Phase::ALL {
            if groups.iter().any(|(_, g)| g.iter().any(|(_, r)| r.phase == phase)) {
                ui.label(RichText::new(phase_key_label(phase)).small().strong().color(rgb(phase_color(phase))));
            }
        }
    });
    let height = height - ui.text_style_height(&egui::TextStyle::Small) - ui.spacing().item_spacing.y;
    let labels: Vec<String> = groups.iter().map(|(w, _)| format!("m = {w}")).collect();
    let rows = groups.len().max(1) as f64;
    let y_axis = AxisHints::new_y().label("width").formatter(move |mark, _| {
        let k = mark.value.round();
        if (mark.value - k).abs() < 1e-6 && k >= 0.0 { labels.get(k as usize).cloned().unwrap_or_default() } else { String::new() }
    });
    // Cells: (cell index, phase, x from, x to, y from, y to).
    let mut cells: Vec<(usize, Phase, f64, f64, f64, f64)> = Vec::new();
    for (row, (_, group)) in groups.iter().enumerate() {
        let mut etas: Vec<f64> = group.iter().map(|(_, r)| r.eta_scaled).collect();
        etas.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
        let mut seeds: Vec<u64> = group.iter().map(|(_, r)| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let stripe = 0.9 / seeds.len().max(1) as f64;
        for (index, r) in group {
            let i = etas.iter().position(|e| (e - r.eta_scaled).abs() < 1e-12).unwrap_or(0);
            let left = if i == 0 { x_range.0 } else { 0.5 * (etas[i - 1] + etas[i]) };
            let right = if i + 1 == etas.len() { x_range.1 } else { 0.5 * (etas[i] + etas[i + 1]) };
            let s = seeds.iter().position(|s| *s == r.seed).unwrap_or(0) as f64;
            let bottom = row as f64 - 0.45 + s * stripe;
            cells.push((*index, r.phase, left, right, bottom, bottom + stripe));
        }
    }
    let response = sweep_plot("sweep_phase_strip", height, x_range, false)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(row_spacer)
        .include_y(-0.6)
        .include_y(rows - 0.4)
        .show_grid([true, false])
        .label_formatter(|pos| match pos {
            egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => Some(format!("{plot_name}\nη·λ₀ ≈ {:.3}\n(click to open this run)", position.x)),
            egui_plot::HoverPosition::Elsewhere { position } => Some(format!("η·λ₀ = {:.3}", position.x)),
        })
        .show(ui, |plot_ui| {
            for &(_, phase, l, r, b, t) in &cells {
                let color = rgb(phase_color(phase));
                plot_ui.polygon(Polygon::new(phase.label(), PlotPoints::new(vec![[l, b], [r, b], [r, t], [l, t]])).fill_color(color).stroke((0.5, color)));
            }
            phase_edges(plot_ui, groups, false, ml);
        });
    let mut hit = None;
    if response.response.clicked()
        && let Some(pointer) = response.response.interact_pointer_pos()
    {
        let p = response.transform.value_from_position(pointer);
        hit = cells.iter().find(|c| c.2 <= p.x && p.x < c.3 && c.4 <= p.y && p.y < c.5).map(|c| c.0);
    }
    (response.response.rect, hit)
}
