//! Terminal tables: aligned columns, optional colour, no dependency.

use std::fmt::Write;

/// Paints text when colour is on (a TTY without NO_COLOR).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn cyan(&self, text: &str) -> String {
        self.paint("36", text)
    }
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Visible width of a cell (escape sequences excluded; accented letters are one column).
fn width(text: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Shortens a plain cell to `max` columns with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Renders rows under a header with box-drawing rules, indented by `indent` spaces.
pub fn table(header: &[&str], align: &[Align], rows: &[Vec<String>], style: Style, indent: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(cell));
            }
        }
    }
    let pad = " ".repeat(indent);
    let cell = |text: &str, i: usize| {
        let fill = " ".repeat(widths[i].saturating_sub(width(text)));
        if align.get(i) == Some(&Align::Right) { format!("{fill}{text}") } else { format!("{text}{fill}") }
    };
    let mut out = String::new();
    let head: Vec<String> = header.iter().enumerate().map(|(i, h)| cell(h, i)).collect();
    let _ = writeln!(out, "{pad}{}", style.bold(head.join("  ").trim_end()));
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    let _ = writeln!(out, "{pad}{}", style.dim(&rule.join("  ")));
    for row in rows {
        let cells: Vec<String> = row.iter().enumerate().take(widths.len()).map(|(i, c)| cell(c, i)).collect();
        let _ = writeln!(out, "{pad}{}", cells.join("  ").trim_end());
    }
    out
}

/// French number formatting: thin grouping, decimal comma (`1 234,5`).
pub fn number(value: f64, decimals: usize) -> String {
    essaim_core::format_number(value, decimals, essaim_core::Lang::Fr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_with_accents_and_colours() {
        let style = Style { color: true };
        let rows = vec![vec!["Régie".to_owned(), "12".to_owned()], vec!["ESAT Éole".to_owned(), "3".to_owned()]];
        let text = table(&["Structure", "h"], &[Align::Left, Align::Right], &rows, Style { color: false }, 0);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[3].ends_with(" 3"), "{text}");
        assert_eq!(width(&style.green("12")), 2);
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
