//! French communes by INSEE code, from the table shipped in `config/communes.csv` (compiled in), so that
//! a structure registered by its commune code is shown to people by its commune's name.

use std::collections::HashMap;
use std::sync::OnceLock;

const COMMUNES_CSV: &str = include_str!("../../../config/communes.csv");

/// The name of the commune with this INSEE code, when the shipped table has it.
pub fn commune_name(code: &str) -> Option<&'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            COMMUNES_CSV
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let mut fields = line.split(',');
                    Some((fields.next()?.trim(), fields.next()?.trim()))
                })
                .collect()
        })
        .get(code.trim())
        .copied()
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
        assert!(is_insee_code("69387") && is_insee_code("2A004"));
        assert!(!is_insee_code("Lyon") && !is_insee_code("6938") && !is_insee_code("2C004"));
    }
}
