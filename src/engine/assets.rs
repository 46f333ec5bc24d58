//! The data files shipped inside the binary (assets/, sources and licences in assets/README.md),
//! decoded once on first use. Both preset validation (how many images a class has) and the data
//! sets read them here, so neither depends on the other.

use flate2::read::GzDecoder;
use std::io::Read;
use std::sync::OnceLock;

const DIGITS_GZ: &[u8] = include_bytes!("../../assets/digits.csv.gz");
pub const PIXELS: usize = 64;

/// (pixels scaled to [0, 1], label) of all 1797 images, decoded once.
pub fn digit_images() -> &'static [([f64; PIXELS], u8)] {
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
pub fn digits_available(classes: [u8; 2]) -> usize {
    digit_images().iter().filter(|(_, label)| classes.contains(label)).count()
}

