//! splitmix64: tiny, good enough for test data and for the neighbourhood search's choices, identical on
//! every platform (so a run with a work limit is the same everywhere).

use crate::Site;

pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// Puts `items` in a random order (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
    /// A point scattered around a city (about `km` kilometres of spread).
    pub fn near(&mut self, city: (f64, f64), km: f64) -> Site {
        let dlat = self.range(-1.0, 1.0) * km / 111.0;
        let dlon = self.range(-1.0, 1.0) * km / (111.0 * city.0.to_radians().cos());
        Site { lat: round4(city.0 + dlat), lon: round4(city.1 + dlon) }
    }
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}
