use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Mean Earth radius used by every distance in essaim (the allocation contract fixes it).
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// A WGS84 position. Built through [`GeoPoint::new`], which refuses impossible coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, DomainError> {
        Self::checked("lat", lat, "lon", lon)
    }

    /// Like [`GeoPoint::new`] but names the fields as the caller knows them (`latitude`, `site.lat`…).
    pub fn checked(lat_field: &str, lat: f64, lon_field: &str, lon: f64) -> Result<Self, DomainError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(DomainError::InvalidCoordinate {
                field: lat_field.to_owned(),
                value: lat,
                expected: "latitude within -90..=90",
            });
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(DomainError::InvalidCoordinate {
                field: lon_field.to_owned(),
                value: lon,
                expected: "longitude within -180..=180",
            });
        }
        Ok(Self { lat, lon })
    }

    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        haversine_km(*self, *other)
    }
}

/// Great-circle distance in km between two points (haversine, R = 6371.0 km).
pub fn haversine_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lyon_to_paris_is_about_392_km() {
        let lyon = GeoPoint::new(45.764, 4.8357).unwrap();
        let paris = GeoPoint::new(48.8566, 2.3522).unwrap();
        let d = haversine_km(lyon, paris);
        assert!((d - 391.5).abs() < 1.5, "got {d}");
        assert_eq!(haversine_km(lyon, lyon), 0.0);
    }

    #[test]
    fn antipodes_are_half_the_circumference() {
        let a = GeoPoint::new(0.0, 0.0).unwrap();
        let b = GeoPoint::new(0.0, 180.0).unwrap();
        assert!((haversine_km(a, b) - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
    }

    #[test]
    fn refuses_out_of_range_latitude_and_names_the_field() {
        let err = GeoPoint::checked("site.lat", 91.0, "site.lon", 0.0).unwrap_err();
        assert_eq!(err.field(), "site.lat");
        assert!(GeoPoint::new(0.0, f64::NAN).is_err());
    }
}
