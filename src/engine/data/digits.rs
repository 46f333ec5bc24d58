//! The real data set (SPEC §7): two classes of the 8×8 handwritten digits shipped in
//! `assets/digits.csv.gz` (see assets/README.md for source and license), pixels scaled to
//! [0, 1], labels +1 for the first class and −1 for the second, a seeded subset of n images.

use super::{Dataset, STREAM_DATA, rng_for};
use crate::engine::assets::{PIXELS, digit_images};
use rand::seq::SliceRandom;

/// n images of the two classes, chosen by a seeded shuffle.
pub fn load(classes: [u8; 2], n: usize, seed: u64) -> Dataset {
    let mut chosen: Vec<usize> =
        digit_images().iter().enumerate().filter(|(_, (_, label))| classes.contains(label)).map(|(i, _)| i).collect();
    chosen.shuffle(&mut rng_for(seed, STREAM_DATA));
    chosen.truncate(n);
    let images = digit_images();
    let mut x = Vec::with_capacity(chosen.len() * PIXELS);
    let mut y = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        x.extend_from_slice(&images[i].0);
        y.push(if images[i].1 == classes[0] { 1.0 } else { -1.0 });
    }
    Dataset { n: chosen.len(), d: PIXELS, x, y }
}
