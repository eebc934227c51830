//! French communes by INSEE code, from the table shipped in `config/communes.csv` (compiled in), so that
//! a structure registered by its commune code is shown to people by its commune's name.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::GeoPoint;

const COMMUNES_CSV: &str = include_str!("../../../config/communes.csv");

/// One row of the shipped table: `code,name,latitude,longitude`.
struct Entry {
    name: &'static str,
    position: Option<GeoPoint>,
}

/// The shipped table, read once for every use (names on the proposal, positions at import).
fn table() -> &'static HashMap<&'static str, Entry> {
    static TABLE: OnceLock<HashMap<&'static str, Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        COMMUNES_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',').map(str::trim);
                let (code, name) = (fields.next()?, fields.next()?);
                let position = match (fields.next().map(str::parse), fields.next().map(str::parse)) {
                    (Some(Ok(lat)), Some(Ok(lon))) => GeoPoint::new(lat, lon).ok(),
                    _ => None,
                };
                Some((code, Entry { name, position }))
            })
            .collect()
    })
}

/// The name of the commune with this INSEE code, when the shipped table has it.
pub fn commune_name(code: &str) -> Option<&'static str> {
    table().get(code.trim()).map(|e| e.name)
}

/// The position of the commune with this INSEE code, when the shipped table has it.
pub fn commune_position(code: &str) -> Option<GeoPoint> {
    table().get(code.trim()).and_then(|e| e.position)
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
}
