//! French communes by INSEE code, from the national table of [`crate::territory`] (`config/communes.tsv.gz`,
//! compiled in), so that a structure registered by its commune code is shown to people by its commune's name
//! and placed at its commune when the directory gives no coordinates.

use crate::GeoPoint;
use crate::territory;

/// The name of the commune with this INSEE code, when the national table has it (a code merged since gives the
/// name of the commune it is part of now).
pub fn commune_name(code: &str) -> Option<&'static str> {
    territory::commune(code).ok().map(|c| c.name)
}

/// The position of the commune with this INSEE code: its own (town hall, else outline centroid), never its
/// département's chef-lieu, which is too far off to place a structure without a word; a caller that can warn
/// reads [`territory::Commune::position_is_fallback`] instead.
pub fn commune_position(code: &str) -> Option<GeoPoint> {
    territory::commune(code).ok().filter(|c| !c.position_is_fallback).and_then(|c| c.position)
}

/// An INSEE commune code (`69387`, `2A004`), as opposed to a commune name.
pub fn is_insee_code(value: &str) -> bool {
    let b = value.trim().as_bytes();
    b.len() == 5
        && (b[..2].iter().all(u8::is_ascii_digit)
            || b[..2].eq_ignore_ascii_case(b"2A")
            || b[..2].eq_ignore_ascii_case(b"2B"))
        && b[2..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_shipped_table_have_names() {
        assert_eq!(commune_name("69123"), Some("Lyon"));
        assert_eq!(commune_name(" 69381 "), Some("Lyon 1er Arrondissement"));
        assert_eq!(commune_name("99999"), None);
        let villeurbanne = commune_position("69266").unwrap();
        assert!((villeurbanne.lat - 45.77).abs() < 0.05 && (villeurbanne.lon - 4.88).abs() < 0.05);
        assert_eq!(commune_position("99999"), None);
        assert!(is_insee_code("69387") && is_insee_code("2A004"));
        assert!(!is_insee_code("Lyon") && !is_insee_code("6938") && !is_insee_code("2C004"));
    }

    #[test]
    fn every_commune_of_france_not_only_around_lyon() {
        // The 64-commune table around Lyon knew neither.
        assert_eq!(commune_name("13055"), Some("Marseille"));
        assert_eq!(commune_name("35238"), Some("Rennes"));
        let marseille_1 = commune_position("13201").unwrap();
        assert!((marseille_1.lat - 43.30).abs() < 0.05 && (marseille_1.lon - 5.38).abs() < 0.05);
        assert!(commune_position("2A004").is_some() && commune_position("97411").is_some());
    }

    #[test]
    fn a_chef_lieu_fallback_is_not_a_position() {
        // Aurseulles (Calvados) has only Caen's position in the table.
        assert_eq!(commune_name("14581"), Some("Aurseulles"));
        assert_eq!(commune_position("14581"), None);
    }
}
