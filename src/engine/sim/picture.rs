//! What the network is fitting, as numbers for the data view: for d = 1 the training points
//! and the model's output along the line, for d = 2 the points and the output on a grid over
//! the plane, for images a few training images with their outputs, and otherwise the outputs
//! grouped by label (a histogram). Computed from the model as it is now.

use super::Simulation;
use crate::engine::config::DataKind;
use crate::engine::data::Dataset;

/// Points along the line (d = 1) and cells per side of the grid (d = 2).
const LINE_POINTS: usize = 200;
pub const PLANE_GRID: usize = 48;
/// Training images shown in the image view.
pub const IMAGE_TILES: usize = 12;

/// One training image with its label and the model's output on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageTile {
    /// side × side pixels, row-major, as the model sees them.
    pub pixels: Vec<f64>,
    pub label: f64,
    pub output: f64,
}

/// The data view's content (see the module header).
#[derive(Clone, Debug, PartialEq)]
pub enum DataPicture {
    /// d = 1: training inputs and targets, and f along `curve_x`.
    Line { x: Vec<f64>, y: Vec<f64>, curve_x: Vec<f64>, curve_f: Vec<f64> },
    /// d = 2: training points and targets, and f on a `PLANE_GRID`² grid over `x_range` ×
    /// `y_range` (row r is the r-th y value from the bottom).
    Plane { points: Vec<[f64; 2]>, y: Vec<f64>, x_range: (f64, f64), y_range: (f64, f64), f: Vec<f64> },
    /// Images: a few training images (side × side) with label and output.
    Images { side: usize, tiles: Vec<ImageTile> },
    /// Anything else: the outputs on the training set, one group per label value (sorted).
    Outputs { groups: Vec<(f64, Vec<f64>)> },
}

/// A padded range around values (never empty).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(0.5);
    (lo - pad, hi + pad)
}

impl Simulation {
    /// The data view of the model as it is now (see the module header).
    pub fn data_picture(&self) -> DataPicture {
        let data = self.data();
        let outputs_on = |points: Vec<f64>, d: usize| {
            let set = Dataset { n: points.len() / d, d, x: points, y: Vec::new() };
            let mut f = vec![0.0; set.n];
            self.model().outputs_on(&set, &mut f);
            f
        };
        let image_kind = matches!(self.preset().data.kind, DataKind::Digits | DataKind::Mnist | DataKind::FashionMnist);
        let side = (data.d as f64).sqrt().round() as usize;
        if data.d == 1 {
            let (lo, hi) = padded(data.x.iter().copied());
            let curve_x: Vec<f64> = (0..LINE_POINTS).map(|i| lo + (hi - lo) * i as f64 / (LINE_POINTS - 1) as f64).collect();
            let curve_f = outputs_on(curve_x.clone(), 1);
            DataPicture::Line { x: data.x.clone(), y: data.y.clone(), curve_x, curve_f }
        } else if data.d == 2 {
            let points: Vec<[f64; 2]> = (0..data.n).map(|i| [data.row(i)[0], data.row(i)[1]]).collect();
            let x_range = padded(points.iter().map(|p| p[0]));
            let y_range = padded(points.iter().map(|p| p[1]));
            let at = |(lo, hi): (f64, f64), k: usize| lo + (hi - lo) * (k as f64 + 0.5) / PLANE_GRID as f64;
            let grid: Vec<f64> = (0..PLANE_GRID).flat_map(|r| (0..PLANE_GRID).flat_map(move |c| [at(x_range, c), at(y_range, r)])).collect();
            let f = outputs_on(grid, 2);
            DataPicture::Plane { points, y: data.y.clone(), x_range, y_range, f }
        } else if image_kind && side * side == data.d {
            let tiles = (0..data.n.min(IMAGE_TILES))
                .map(|i| ImageTile { pixels: data.row(i).to_vec(), label: data.y[i], output: self.outputs()[i] })
                .collect();
            DataPicture::Images { side, tiles }
        } else {
            let mut labels: Vec<f64> = data.y.clone();
            labels.sort_by(f64::total_cmp);
            labels.dedup();
            let groups = if labels.len() <= 10 {
                labels.iter().map(|&l| (l, (0..data.n).filter(|&i| data.y[i] == l).map(|i| self.outputs()[i]).collect())).collect()
            } else {
                vec![(f64::NAN, self.outputs().to_vec())]
            };
            DataPicture::Outputs { groups }
        }
    }
}
