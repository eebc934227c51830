//! Numbers and text as people read them: numbers French by default (`1 234,5`), English on demand
//! (`1,234.5`); text that people wrote without the invisible controls that would reorder it.

use crate::Lang;

/// Formats `value` with `decimals` decimals: French uses a narrow no-break space to group thousands and
/// a decimal comma; English a comma and a point.
pub fn format_number(value: f64, decimals: usize, lang: Lang) -> String {
    let (group, point) = match lang {
        Lang::Fr => ('\u{202f}', ','),
        Lang::En => (',', '.'),
    };
    let text = format!("{value:.decimals$}");
    let (int, frac) = text.split_once('.').map(|(a, b)| (a.to_owned(), Some(b.to_owned()))).unwrap_or((text, None));
    let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int.as_str()));
    // `-0` (a tiny negative rounded away) reads as 0.
    let sign = if digits.chars().all(|c| c == '0') && frac.as_deref().is_none_or(|f| f.chars().all(|c| c == '0')) {
        ""
    } else {
        sign
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}{point}{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A quantity with as few decimals as it needs (at most 2): `120`, `12,5`, `0,25`.
pub fn format_quantity(value: f64, lang: Lang) -> String {
    let decimals = if (value - value.round()).abs() < 0.005 {
        0
    } else if (value * 10.0 - (value * 10.0).round()).abs() < 0.05 {
        1
    } else {
        2
    };
    format_number(value, decimals, lang)
}

/// Invisible characters that change how the text around them is shown: bidirectional marks, embeddings,
/// overrides and isolates (Unicode UAX #9, « Trojan Source », CVE-2021-42574); the byte-order mark;
/// non-characters. A name or a typed answer carrying one (« \u{202e}ENIAL ») would turn the words around it
/// on the reader's screen, so text that people wrote is shown without them (the buyer's page, the map,
/// every chat and mail message).
pub fn is_hidden_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        || ('\u{fdd0}'..='\u{fdef}').contains(&c)
        || (c as u32 & 0xfffe) == 0xfffe
}

/// `text` without its [hidden controls](is_hidden_control).
pub fn without_hidden_controls(text: String) -> String {
    if text.chars().any(is_hidden_control) { text.chars().filter(|&c| !is_hidden_control(c)).collect() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_in_each_language() {
        assert_eq!(format_number(1234.5, 1, Lang::Fr), "1\u{202f}234,5");
        assert_eq!(format_number(1234.5, 1, Lang::En), "1,234.5");
        assert_eq!(format_number(12.0, 0, Lang::Fr), "12");
        assert_eq!(format_number(-1234567.0, 0, Lang::Fr), "-1\u{202f}234\u{202f}567");
        assert_eq!(format_number(-0.0001, 1, Lang::Fr), "0,0");
        assert_eq!(format_quantity(120.0, Lang::Fr), "120");
        assert_eq!(format_quantity(12.5, Lang::Fr), "12,5");
        assert_eq!(format_quantity(0.25, Lang::En), "0.25");
    }
}
