//! Lambert-93 (EPSG:2154) to WGS84 longitude and latitude, for the FINESS extraction's coordinates.
//!
//! IGN's algorithms, notice NT/G 71 « Projection cartographique conique conforme de Lambert » (IGN, 1995):
//! ALG0004 (inverse Lambert conformal conic, « lambert vers géographiques ») and ALG0001/ALG0002 (isometric
//! latitude and its inverse), with the Lambert-93 constants the IGN publishes for GRS80 (RGF93). RGF93 and
//! WGS84 agree to a few centimetres, far below what an allocation by distance can see, so no datum shift.

use std::f64::consts::FRAC_PI_2;

/// The constants of a Lambert conformal conic projection in NT/G 71's « tangent » form.
#[derive(Debug, Clone, Copy)]
pub struct Lambert {
    /// First eccentricity of the ellipsoid.
    pub e: f64,
    /// Exponent of the projection.
    pub n: f64,
    /// Constant of the projection, in metres.
    pub c: f64,
    /// Longitude of the origin (central meridian), radians east of Greenwich.
    pub lambda_c: f64,
    /// Projected coordinates of the pole.
    pub xs: f64,
    pub ys: f64,
}

/// Lambert-93: GRS80, standard parallels 44° and 49° N, origin 46°30' N 3° E, false easting 700 000 m, false
/// northing 6 600 000 m; n, C and Ys as computed by the IGN (ALG0054) for these parameters.
pub const LAMBERT_93: Lambert = Lambert {
    e: 0.081_819_191_042_815_8,
    n: 0.725_607_765_053_267,
    c: 11_754_255.426_096,
    lambda_c: 3.0 * std::f64::consts::PI / 180.0,
    xs: 700_000.0,
    ys: 12_655_612.049_876,
};

impl Lambert {
    /// ALG0004: projected X, Y (metres) to longitude and latitude (radians).
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let dx = x - self.xs;
        let dy = y - self.ys;
        let r = dx.hypot(dy);
        let gamma = dx.atan2(-dy);
        let lambda = self.lambda_c + gamma / self.n;
        let isometric = -(r / self.c).abs().ln() / self.n;
        (lambda, self.latitude_from_isometric(isometric))
    }

    /// ALG0002: the latitude of an isometric latitude, by fixed point (converges in a handful of steps).
    fn latitude_from_isometric(&self, l: f64) -> f64 {
        let exp_l = l.exp();
        let mut phi = 2.0 * exp_l.atan() - FRAC_PI_2;
        for _ in 0..50 {
            let es = self.e * phi.sin();
            let next = 2.0 * (((1.0 + es) / (1.0 - es)).powf(self.e / 2.0) * exp_l).atan() - FRAC_PI_2;
            if (next - phi).abs() < 1e-12 {
                return next;
            }
            phi = next;
        }
        phi
    }

    /// ALG0003 (the direct projection), used by the tests to check the inverse both ways.
    pub fn forward(&self, lambda: f64, phi: f64) -> (f64, f64) {
        let es = self.e * phi.sin();
        let isometric = ((FRAC_PI_2 + phi) / 2.0).tan().ln() + self.e / 2.0 * ((1.0 - es) / (1.0 + es)).ln();
        let r = self.c * (-self.n * isometric).exp();
        let gamma = self.n * (lambda - self.lambda_c);
        (self.xs + r * gamma.sin(), self.ys - r * gamma.cos())
    }
}

/// Lambert-93 metres to WGS84 (latitude, longitude) in degrees; `None` outside metropolitan France's extent
/// (EPSG:2154's area of use, with a margin), where the numbers are surely not Lambert-93.
pub fn lambert93_to_wgs84(x: f64, y: f64) -> Option<(f64, f64)> {
    let inside = (-400_000.0..=1_600_000.0).contains(&x) && (5_900_000.0..=7_300_000.0).contains(&y);
    if !inside {
        return None;
    }
    let (lambda, phi) = LAMBERT_93.inverse(x, y);
    Some((phi.to_degrees(), lambda.to_degrees()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One metre in degrees of latitude (about 1/111 000).
    const ONE_METRE: f64 = 1.0 / 111_000.0;

    #[test]
    fn the_projection_origin_is_46_30_north_3_east() {
        let (lat, lon) = lambert93_to_wgs84(700_000.0, 6_600_000.0).unwrap();
        assert!((lat - 46.5).abs() < 1e-9, "{lat}");
        assert!((lon - 3.0).abs() < 1e-9, "{lon}");
    }

    /// NT/G 71's own test of ALG0004 (Lambert I, Clarke 1880 IGN, Paris meridian): X = 1 029 705.083 m,
    /// Y = 272 723.849 m gives λ = 0.145 512 099 rad, φ = 0.872 664 626 rad.
    #[test]
    fn the_ign_test_point_of_alg0004() {
        let lambert_i = Lambert {
            e: 0.082_483_256_8,
            n: 0.760_405_965_6,
            c: 11_603_796.98,
            lambda_c: 0.040_792_344_33,
            xs: 600_000.0,
            ys: 5_657_616.674,
        };
        let (lambda, phi) = lambert_i.inverse(1_029_705.083, 272_723.849);
        assert!((lambda - 0.145_512_099).abs() < 1e-9, "{lambda}");
        assert!((phi - 0.872_664_626).abs() < 1e-9, "{phi}");
    }

    /// A FINESS establishment in Ambérieu-en-Bugey (Ain), (882 408.3, 6 543 019.6), as another implementation
    /// of EPSG:2154 → WGS84 gives it (a FINESS parser's test: 5.355 651 287 573 366° E, 45.962 401 654 326 14° N).
    #[test]
    fn a_finess_position_as_another_implementation_converts_it() {
        let (lat, lon) = lambert93_to_wgs84(882_408.3, 6_543_019.6).unwrap();
        assert!((lat - 45.962_401_654_326_14).abs() < ONE_METRE / 1000.0, "{lat}");
        assert!((lon - 5.355_651_287_573_366).abs() < ONE_METRE / 1000.0, "{lon}");
    }

    /// Places at the corners of metropolitan France and in Corsica: projected by ALG0003 and brought back by
    /// ALG0004, they must land within a centimetre of where they were.
    #[test]
    fn places_across_france_come_back_within_a_metre() {
        let places: [(&str, f64, f64); 6] = [
            ("Paris, Notre-Dame", 48.853_0, 2.349_9),
            ("Brest", 48.390_4, -4.486_1),
            ("Strasbourg", 48.573_4, 7.752_1),
            ("Perpignan", 42.698_6, 2.895_6),
            ("Dunkerque", 51.034_4, 2.376_8),
            ("Bonifacio", 41.387_2, 9.159_5),
        ];
        for (name, lat, lon) in places {
            let (x, y) = LAMBERT_93.forward(lon.to_radians(), lat.to_radians());
            let (back_lat, back_lon) = lambert93_to_wgs84(x, y).unwrap();
            assert!((back_lat - lat).abs() < ONE_METRE / 100.0, "{name}: {back_lat}");
            assert!((back_lon - lon).abs() < ONE_METRE / 100.0, "{name}: {back_lon}");
        }
    }

    #[test]
    fn numbers_outside_lambert_93_are_refused() {
        assert_eq!(lambert93_to_wgs84(45.7, 4.8), None, "degrees given as metres");
        assert_eq!(lambert93_to_wgs84(f64::NAN, 6_600_000.0), None);
    }
}
