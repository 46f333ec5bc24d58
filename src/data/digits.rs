//! The real data set (SPEC §7): two classes of the 8×8 handwritten digits shipped in
//! `assets/digits.csv.gz` (see assets/README.md for source and license), pixels scaled to
//! [0, 1], labels +1 for the first class and −1 for the second, a seeded subset of n images.

use super::{Dataset, STREAM_DATA, rng_for};
use flate2::read::GzDecoder;
use rand::seq::SliceRandom;
use std::io::Read;
use std::sync::OnceLock;

const DIGITS_GZ: &[u8] = include_bytes!("../../assets/digits.csv.gz");
pub const PIXELS: usize = 64;

/// (pixels scaled to [0, 1], label) of all 1797 images, decoded once.
fn all_images() -> &'static [([f64; PIXELS], u8)] {
    static IMAGES: OnceLock<Vec<([f64; PIXELS], u8)>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let mut text = String::new();
        GzDecoder::new(DIGITS_GZ).read_to_string(&mut text).expect("the shipped digits file decodes");
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let values: Vec<f64> = line.split(',').map(|v| v.trim().parse().expect("digits are integers")).collect();
                let mut pixels = [0.0; PIXELS];
                for (p, v) in pixels.iter_mut().zip(&values) {
                    *p = v / 16.0;
                }
                (pixels, values[PIXELS] as u8)
            })
            .collect()
    })
}

/// How many images of the two classes there are (the largest allowed `data.n`).
pub fn available(classes: [u8; 2]) -> usize {
    all_images().iter().filter(|(_, label)| classes.contains(label)).count()
}

/// n images of the two classes, chosen by a seeded shuffle.
pub fn load(classes: [u8; 2], n: usize, seed: u64) -> Dataset {
    let mut chosen: Vec<usize> =
        all_images().iter().enumerate().filter(|(_, (_, label))| classes.contains(label)).map(|(i, _)| i).collect();
    chosen.shuffle(&mut rng_for(seed, STREAM_DATA));
    chosen.truncate(n);
    let images = all_images();
    let mut x = Vec::with_capacity(chosen.len() * PIXELS);
    let mut y = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        x.extend_from_slice(&images[i].0);
        y.push(if images[i].1 == classes[0] { 1.0 } else { -1.0 });
    }
    Dataset { n: chosen.len(), d: PIXELS, x, y }
}
