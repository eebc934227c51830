//! The répartition as a spreadsheet, for the mandataire who fills the buyer's forms and for the buyer's
//! own tables: one row per lot (who does what, at which price, with its VAT and its share), a subtotal
//! per line, and a grand total equal to `totals`. Two forms of the same table:
//!
//! - [`xlsx`]: a workbook, numbers stored as numbers with number formats (euros to the cent, shares and VAT
//!   rates in %), a frozen bold header with a filter, and a second sheet « Membres » (one row per member).
//!   Identical proposals give identical bytes: the creation date is the proposal's `generated_at`.
//! - [`csv`]: the same rows as text, in the dialect of the proposal's language (see [`CsvDialect`]).
//!
//! Pure like the rest of the crate: the workbook is built in memory.

use std::fmt;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::{PriceBasis, Proposal, ProposalLine, ShareBasis};
use crate::{KindFamily, Lang, ParticipationMode, round_quantity};

/// The media type of [`xlsx`].
pub const XLSX_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of [`csv`].
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The workbook could not be written (a limit of the format, such as a sheet of more than 1 048 576 rows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write the spreadsheet: {0}")]
pub struct SheetError(String);

impl From<XlsxError> for SheetError {
    fn from(e: XlsxError) -> Self {
        Self(e.to_string())
    }
}

impl From<csv::Error> for SheetError {
    fn from(e: csv::Error) -> Self {
        Self(e.to_string())
    }
}

/// How [`csv`] writes the table. The CSV is for people who open it in a spreadsheet, mostly French Excel,
/// and for scripts; no one dialect serves both, so it follows the proposal's language, as the texts do:
///
/// - `fr`: `;` between fields and a decimal comma (`27500,00`) — what Excel and LibreOffice expect under a
///   French locale, where `,` is the decimal separator: with `,` between fields every number would split
///   in two, and with a decimal point Excel reads `12.5` as a date or as text.
/// - `en`: RFC 4180, `,` between fields and a decimal point.
///
/// Both: UTF-8 with a byte-order mark (without it Excel reads UTF-8 as Windows-1252 and garbles every
/// accent), CRLF line ends, fields quoted only when needed, no thousands separator, shares and VAT rates as
/// fractions 0–1 as in the JSON. A script that wants one dialect whatever the language reads the JSON, or
/// asks `lang=en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    pub decimal: char,
}

impl CsvDialect {
    pub fn of(lang: Lang) -> Self {
        match lang {
            Lang::Fr => Self { delimiter: b';', decimal: ',' },
            Lang::En => Self { delimiter: b',', decimal: '.' },
        }
    }
}

/// What a row of the répartition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowKind {
    Header,
    Lot,
    Subtotal,
    Total,
}

/// A cell, typed so that each form writes it its own way.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    /// Euros.
    Money(f64),
    Quantity(f64),
    /// A share or a rate, 0–1.
    Share(f64),
    Count(u32),
}

impl Cell {
    fn text(value: impl Into<String>) -> Self {
        Self::Text(value.into())
    }

    fn money(value: Option<f64>) -> Self {
        value.map_or(Self::Empty, Self::Money)
    }

    fn share(value: Option<f64>) -> Self {
        value.map_or(Self::Empty, Self::Share)
    }
}

struct Row {
    kind: RowKind,
    cells: Vec<Cell>,
}

/// Column headers and widths of the répartition (widths in Excel character units).
fn repartition_header(lang: Lang) -> Vec<(&'static str, f64)> {
    let fr = lang == Lang::Fr;
    let t = |fr_text, en_text| if fr { fr_text } else { en_text };
    vec![
        (t("Ligne", "Line"), 8.0),
        (t("Intitulé", "Title"), 36.0),
        ("CPV", 12.0),
        (t("Membre", "Member"), 32.0),
        ("SIRET", 16.0),
        (t("Catégorie", "Kind"), 10.0),
        (t("Mode de participation", "Participation"), 20.0),
        (t("Quantité", "Quantity"), 12.0),
        (t("Unité", "Unit"), 8.0),
        (t("Prix unitaire HT", "Unit price excl. VAT"), 14.0),
        (t("Base du prix", "Price basis"), 18.0),
        (t("Montant HT", "Amount excl. VAT"), 15.0),
        (t("Taux de TVA", "VAT rate"), 10.0),
        (t("TVA", "VAT"), 13.0),
        (t("Montant TTC", "Amount incl. VAT"), 15.0),
        (t("Part de la ligne", "Share of the line"), 12.0),
        (t("Part de l'offre", "Share of the bid"), 12.0),
        (t("N° d'offre", "Offer no."), 10.0),
    ]
}

fn participation(mode: ParticipationMode, lang: Lang) -> &'static str {
    match (mode, lang) {
        (ParticipationMode::Execution, Lang::Fr) => "exécution",
        (ParticipationMode::Execution, Lang::En) => "carrying out",
        (ParticipationMode::MiseADisposition, Lang::Fr) => "mise à disposition",
        (ParticipationMode::MiseADisposition, Lang::En) => "placing employees",
    }
}

fn price_basis(basis: PriceBasis, lang: Lang) -> &'static str {
    match (basis, lang) {
        (PriceBasis::Member, Lang::Fr) => "prix du membre",
        (PriceBasis::Member, Lang::En) => "member's price",
        (PriceBasis::Reference, Lang::Fr) => "prix de référence",
        (PriceBasis::Reference, Lang::En) => "reference price",
        (PriceBasis::Unpriced, Lang::Fr) => "non chiffré",
        (PriceBasis::Unpriced, Lang::En) => "unpriced",
    }
}

fn family(family: Option<KindFamily>, lang: Lang) -> &'static str {
    match (family, lang) {
        (Some(KindFamily::Iae), _) => "SIAE",
        (Some(KindFamily::Disability), Lang::Fr) => "handicap",
        (Some(KindFamily::Disability), Lang::En) => "disability",
        // A GEIQ is in neither family.
        (None, _) => "",
    }
}

/// A lot's or a line's share of the whole bid, measured as `totals.share_basis` says.
struct BidShare {
    basis: ShareBasis,
    amount: f64,
    quantity: f64,
}

impl BidShare {
    fn new(p: &Proposal) -> Self {
        Self {
            basis: p.totals.share_basis,
            amount: p.lots().filter_map(|l| l.amount).sum(),
            quantity: p.lots().map(|l| l.quantity).sum(),
        }
    }

    fn of(&self, amount: Option<f64>, quantity: f64) -> Option<f64> {
        match self.basis {
            ShareBasis::Amount if self.amount > 0.0 => amount.map(|a| round_quantity(a / self.amount)),
            ShareBasis::Quantity if self.quantity > 0.0 => Some(round_quantity(quantity / self.quantity)),
            _ => None,
        }
    }
}

fn line_title(line: &ProposalLine) -> String {
    line.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or(&line.sector).to_owned()
}

/// The rows of the répartition: the lots of each line, then its subtotal; the grand total last.
fn repartition_rows(p: &Proposal) -> Vec<Row> {
    let lang = p.language;
    let fr = lang == Lang::Fr;
    let share = BidShare::new(p);
    let mut rows = vec![Row {
        kind: RowKind::Header,
        cells: repartition_header(lang).into_iter().map(|(h, _)| Cell::text(h)).collect(),
    }];
    for line in &p.lines {
        let title = line_title(line);
        let cpv = line.cpv.as_ref().map_or(Cell::Empty, |c| Cell::text(c.as_str()));
        for lot in &line.lots {
            let member = p.members.iter().find(|m| m.siret == lot.supplier);
            rows.push(Row {
                kind: RowKind::Lot,
                cells: vec![
                    Cell::text(&line.id),
                    Cell::text(&title),
                    cpv.clone(),
                    Cell::text(&lot.supplier_name),
                    Cell::text(&lot.supplier),
                    member.map_or(Cell::Empty, |m| Cell::text(m.kind.code())),
                    Cell::text(participation(lot.participation, lang)),
                    Cell::Quantity(lot.quantity),
                    Cell::text(&lot.unit),
                    Cell::money(lot.unit_price),
                    Cell::text(price_basis(lot.price_basis, lang)),
                    Cell::money(lot.amount),
                    Cell::Share(line.vat_rate),
                    Cell::money(lot.vat),
                    Cell::money(lot.amount_incl_vat),
                    Cell::Share(lot.share_of_line),
                    Cell::share(share.of(lot.amount, lot.quantity)),
                    Cell::Count(lot.offer),
                ],
            });
        }
        let quantity = round_quantity(line.lots.iter().map(|l| l.quantity).sum());
        let label = match (line.omitted, line.lots.is_empty(), line.partial, fr) {
            (true, _, _, true) => "Ligne non offerte (couverte en partie seulement)",
            (true, _, _, false) => "Line not offered (covered in part only)",
            (false, true, _, true) => "Aucun lot",
            (false, true, _, false) => "No lot",
            (false, false, true, true) => "Sous-total de la ligne (offre partielle)",
            (false, false, true, false) => "Line subtotal (partial offer)",
            (false, false, false, true) => "Sous-total de la ligne",
            (false, false, false, false) => "Line subtotal",
        };
        let has_lots = !line.lots.is_empty();
        rows.push(Row {
            kind: RowKind::Subtotal,
            cells: vec![
                Cell::text(&line.id),
                Cell::text(&title),
                cpv,
                Cell::text(label),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                if has_lots { Cell::Quantity(quantity) } else { Cell::Empty },
                Cell::text(&line.unit),
                Cell::Empty,
                Cell::Empty,
                Cell::money(line.amount),
                Cell::Share(line.vat_rate),
                Cell::money(line.vat),
                Cell::money(line.amount_incl_vat),
                if has_lots && line.quantity > 0.0 {
                    Cell::Share(round_quantity(quantity / line.quantity))
                } else {
                    Cell::Empty
                },
                if has_lots { Cell::share(share.of(line.amount, quantity)) } else { Cell::Empty },
                Cell::Empty,
            ],
        });
    }
    let t = &p.totals;
    // A total quantity only when every lot is in the same unit: hours and kilograms do not add up.
    let units: Vec<&str> = p.lots().map(|l| l.unit.as_str()).collect();
    let one_unit = units.first().filter(|u| units.iter().all(|v| v == *u)).copied();
    let quantity = one_unit.map(|_| round_quantity(p.lots().map(|l| l.quantity).sum()));
    let whole = (t.share_basis != ShareBasis::Unavailable && t.lots > 0).then_some(1.0);
    let description = if fr {
        format!("Offre groupée : {} lot(s), {} membre(s)", t.lots, t.members)
    } else {
        format!("Grouped bid: {} lot(s), {} member(s)", t.lots, t.members)
    };
    rows.push(Row {
        kind: RowKind::Total,
        cells: vec![
            Cell::text("Total"),
            Cell::text(description),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            quantity.map_or(Cell::Empty, Cell::Quantity),
            one_unit.map_or(Cell::Empty, Cell::text),
            Cell::Empty,
            Cell::Empty,
            Cell::money(t.amount),
            Cell::Empty,
            Cell::money(t.vat),
            Cell::money(t.amount_incl_vat),
            Cell::Empty,
            Cell::share(whole),
            Cell::Empty,
        ],
    });
    rows
}

fn members_header(lang: Lang) -> Vec<(&'static str, f64)> {
    let fr = lang == Lang::Fr;
    let t = |fr_text, en_text| if fr { fr_text } else { en_text };
    vec![
        (t("Membre", "Member"), 32.0),
        ("SIRET", 16.0),
        (t("Catégorie", "Kind"), 10.0),
        (t("Famille", "Family"), 10.0),
        (t("Mandataire", "Lead"), 11.0),
        (t("Adresse", "Address"), 36.0),
        (t("Commune", "Commune"), 18.0),
        (t("Lots", "Lots"), 6.0),
        (t("Montant HT", "Amount excl. VAT"), 15.0),
        (t("TVA", "VAT"), 13.0),
        (t("Montant TTC", "Amount incl. VAT"), 15.0),
        (t("Part de l'offre", "Share of the bid"), 12.0),
    ]
}

/// One row per member, the lead first, and the total.
fn member_rows(p: &Proposal) -> Vec<Row> {
    let lang = p.language;
    let fr = lang == Lang::Fr;
    let mut rows = vec![Row {
        kind: RowKind::Header,
        cells: members_header(lang).into_iter().map(|(h, _)| Cell::text(h)).collect(),
    }];
    for m in &p.members {
        let lead = match (m.lead, fr) {
            (true, true) => "oui",
            (true, false) => "yes",
            (false, _) => "",
        };
        rows.push(Row {
            kind: RowKind::Lot,
            cells: vec![
                Cell::text(&m.name),
                Cell::text(&m.siret),
                Cell::text(m.kind.code()),
                Cell::text(family(m.family, lang)),
                Cell::text(lead),
                m.address.as_deref().map_or(Cell::Empty, Cell::text),
                m.commune.as_deref().map_or(Cell::Empty, Cell::text),
                Cell::Count(u32::try_from(m.lots).unwrap_or(u32::MAX)),
                Cell::money(m.amount),
                Cell::money(m.vat),
                Cell::money(m.amount_incl_vat),
                Cell::share(m.share_of_bid),
            ],
        });
    }
    let t = &p.totals;
    let whole = (t.share_basis != ShareBasis::Unavailable && t.lots > 0).then_some(1.0);
    rows.push(Row {
        kind: RowKind::Total,
        cells: vec![
            Cell::text("Total"),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Count(u32::try_from(t.lots).unwrap_or(u32::MAX)),
            Cell::money(t.amount),
            Cell::money(t.vat),
            Cell::money(t.amount_incl_vat),
            Cell::share(whole),
        ],
    });
    rows
}

/// A number as the dialect writes it: no thousands separator, at most `decimals` digits, and exactly
/// `decimals` when `fixed` (money).
struct Number {
    value: f64,
    decimals: usize,
    fixed: bool,
    decimal: char,
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `-0.00` would read as a negative amount.
        let value = if self.value == 0.0 { 0.0 } else { self.value };
        let mut text = format!("{value:.*}", self.decimals);
        if !self.fixed && text.contains('.') {
            text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
        }
        if self.decimal != '.' {
            text = text.replace('.', &self.decimal.to_string());
        }
        f.write_str(&text)
    }
}

/// A text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage return
/// first: CSV injection) gets a leading apostrophe, which Excel and LibreOffice show as text. Names and
/// titles come from the directory and the chat, not from us.
fn defused(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// The répartition as CSV text, in the dialect of the proposal's language ([`CsvDialect`]), with its
/// byte-order mark.
pub fn csv(p: &Proposal) -> Result<String, SheetError> {
    let dialect = CsvDialect::of(p.language);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(dialect.delimiter)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let number = |value: f64, decimals: usize, fixed: bool| {
        Number { value, decimals, fixed, decimal: dialect.decimal }.to_string()
    };
    for row in repartition_rows(p) {
        let fields: Vec<String> = row
            .cells
            .iter()
            .map(|cell| match cell {
                Cell::Empty => String::new(),
                Cell::Text(t) => defused(t),
                Cell::Money(v) => number(*v, 2, true),
                Cell::Quantity(v) | Cell::Share(v) => number(*v, 6, false),
                Cell::Count(n) => n.to_string(),
            })
            .collect();
        writer.write_record(&fields)?;
    }
    let bytes = writer.into_inner().map_err(|e| SheetError(e.error().to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| SheetError(e.to_string()))?;
    Ok(format!("\u{feff}{text}"))
}

/// The number formats of the workbook (stored in the file in Excel's neutral syntax; Excel and LibreOffice
/// show them with the reader's separators).
const MONEY_FORMAT: &str = "#,##0.00\\ \"€\"";
const QUANTITY_FORMAT: &str = "#,##0.00";
const SHARE_FORMAT: &str = "0.0%";
const COUNT_FORMAT: &str = "0";

fn cell_format(cell: &Cell, kind: RowKind) -> Format {
    let format = match cell {
        Cell::Money(_) => Format::new().set_num_format(MONEY_FORMAT),
        Cell::Quantity(_) => Format::new().set_num_format(QUANTITY_FORMAT),
        Cell::Share(_) => Format::new().set_num_format(SHARE_FORMAT),
        Cell::Count(_) => Format::new().set_num_format(COUNT_FORMAT),
        Cell::Empty | Cell::Text(_) => Format::new(),
    };
    match kind {
        RowKind::Header => format.set_bold().set_text_wrap().set_border_bottom(FormatBorder::Thin),
        RowKind::Lot => format,
        RowKind::Subtotal => format.set_italic(),
        RowKind::Total => format.set_bold().set_border_top(FormatBorder::Thin),
    }
}

fn write_sheet(sheet: &mut Worksheet, name: &str, header: &[(&str, f64)], rows: &[Row]) -> Result<(), SheetError> {
    sheet.set_name(name)?;
    for (col, (_, width)) in header.iter().enumerate() {
        sheet.set_column_width(column(col)?, *width)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).map_err(|_| SheetError("too many rows".into()))?;
        for (c, cell) in row.cells.iter().enumerate() {
            let c = column(c)?;
            let format = cell_format(cell, row.kind);
            match cell {
                // A styled blank keeps the total's border across the row.
                Cell::Empty => sheet.write_blank(r, c, &format)?,
                // SIRET, CPV and codes stay text: as numbers they would lose leading zeros.
                Cell::Text(t) => sheet.write_string_with_format(r, c, t, &format)?,
                Cell::Money(v) | Cell::Quantity(v) | Cell::Share(v) => {
                    sheet.write_number_with_format(r, c, *v, &format)?
                }
                Cell::Count(n) => sheet.write_number_with_format(r, c, *n, &format)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    // Printed for the buyer's file: A4 landscape, one page wide, the header on every page.
    sheet.set_paper_size(9).set_landscape().set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    let last_row = u32::try_from(rows.len().saturating_sub(1)).map_err(|_| SheetError("too many rows".into()))?;
    sheet.autofilter(0, 0, last_row, column(header.len().saturating_sub(1))?)?;
    Ok(())
}

fn column(index: usize) -> Result<u16, SheetError> {
    u16::try_from(index).map_err(|_| SheetError("too many columns".into()))
}

/// The workbook's creation date: the proposal's, so that the same proposal gives the same bytes.
fn created(p: &Proposal) -> Result<ExcelDateTime, SheetError> {
    use chrono::{Datelike, Timelike};
    let at = p.generated_at;
    let year = u16::try_from(at.year()).map_err(|_| SheetError(format!("year {} out of range", at.year())))?;
    // Month, day, hour, minute and second are small by construction.
    let small = |v: u32| u8::try_from(v).unwrap_or(0);
    Ok(ExcelDateTime::from_ymd(year, small(at.month()), small(at.day()))?.and_hms(
        u16::from(small(at.hour())),
        small(at.minute()),
        f64::from(at.second()),
    )?)
}

/// The répartition and the members as an XLSX workbook.
pub fn xlsx(p: &Proposal) -> Result<Vec<u8>, SheetError> {
    let lang = p.language;
    let fr = lang == Lang::Fr;
    let mut workbook = Workbook::new();
    let title = if fr {
        format!("Proposition du groupement — {} {}", p.tender.reference, p.tender.title.trim())
    } else {
        format!("Grouped bid — {} {}", p.tender.reference, p.tender.title.trim())
    };
    workbook.set_properties(
        &DocProperties::new()
            .set_title(title)
            .set_subject(p.groupement.name.clone())
            .set_author("essaim")
            .set_creation_datetime(&created(p)?),
    );
    let (repartition, members) = if fr { ("Répartition", "Membres") } else { ("Allocation", "Members") };
    write_sheet(workbook.add_worksheet(), repartition, &repartition_header(lang), &repartition_rows(p))?;
    write_sheet(workbook.add_worksheet(), members, &members_header(lang), &member_rows(p))?;
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_dialect() {
        let n = |value, decimals, fixed, decimal| Number { value, decimals, fixed, decimal }.to_string();
        assert_eq!(n(27500.0, 2, true, ','), "27500,00");
        assert_eq!(n(0.125, 6, false, ','), "0,125");
        assert_eq!(n(700.0, 6, false, '.'), "700");
        assert_eq!(n(-0.0, 2, true, '.'), "0.00");
        assert_eq!(n(1.0 / 3.0, 6, false, '.'), "0.333333");
    }

    #[test]
    fn formulas_are_defused_and_plain_text_is_not() {
        assert_eq!(defused("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("-1"), "'-1");
        assert_eq!(defused("Atelier = Cie"), "Atelier = Cie");
        assert_eq!(defused(""), "");
    }
}
