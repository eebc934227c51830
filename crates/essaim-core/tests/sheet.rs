//! The répartition as a spreadsheet, read back as a buyer's program or a mandataire's Excel would: the
//! workbook with a real XLSX reader (calamine), the CSV with a real CSV parser. Every lot of the proposal is
//! a row with its figures; the total row is `totals`.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::Utc;
use essaim_core::proposal::example::{self, ExampleInputs};
use essaim_core::proposal::sheet::{self, CsvDialect};
use essaim_core::proposal::{BidSettings, PartialLines, PriceBasis, ShareBasis};
use essaim_core::{Campaign, Cpv, GroupementKind, ImpactSettings, Lang, Proposal, ProposalInput, Sector};

/// One row as text or number, whichever form it came in.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Empty,
    Text(String),
    Number(f64),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Self::Text(t) => t,
            _ => "",
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// A table read back: header and rows, cells found by header name.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}: {:?}", self.header))
    }

    fn get<'a>(&self, row: &'a [Value], name: &str) -> &'a Value {
        &row[self.col(name)]
    }

    /// The lot rows (the only ones with a SIRET and an offer number).
    fn lots(&self, offer: &str) -> Vec<&Vec<Value>> {
        self.rows
            .iter()
            .filter(|r| !self.get(r, "SIRET").text().is_empty() && self.get(r, offer) != &Value::Empty)
            .collect()
    }

    fn total(&self) -> &Vec<Value> {
        let total: Vec<&Vec<Value>> = self.rows.iter().filter(|r| r[0].text() == "Total").collect();
        assert_eq!(total.len(), 1, "one total row");
        total[0]
    }
}

fn read_xlsx(bytes: &[u8], sheet: &str) -> Table {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an XLSX workbook");
    let range = workbook.worksheet_range(sheet).unwrap_or_else(|e| panic!("sheet {sheet}: {e}"));
    let mut rows = range.rows().map(|r| {
        r.iter()
            .map(|c| match c {
                Data::Empty => Value::Empty,
                Data::String(s) => Value::Text(s.clone()),
                Data::Float(f) => Value::Number(*f),
                Data::Int(i) => Value::Number(*i as f64),
                other => panic!("unexpected cell {other:?}"),
            })
            .collect::<Vec<_>>()
    });
    let header = rows.next().expect("a header row").iter().map(|v| v.text().to_owned()).collect();
    Table { header, rows: rows.collect() }
}

/// Reads the CSV as its dialect says; numbers are the cells that parse as numbers once the decimal
/// separator is a point (SIRET and CPV included: they are compared as text below).
fn read_csv(text: &str, dialect: CsvDialect) -> Table {
    let body = text.strip_prefix('\u{feff}').expect("a UTF-8 byte-order mark for Excel");
    let mut reader =
        csv::ReaderBuilder::new().delimiter(dialect.delimiter).has_headers(false).from_reader(body.as_bytes());
    let mut records = reader.records().map(|r| r.expect("a CSV record"));
    let header: Vec<String> = records.next().expect("a header").iter().map(str::to_owned).collect();
    let rows = records
        .map(|r| {
            assert_eq!(r.len(), header.len(), "every row has every column: {r:?}");
            r.iter()
                .map(|field| {
                    if field.is_empty() {
                        return Value::Empty;
                    }
                    let looks_numeric = field.chars().all(|c| c.is_ascii_digit() || c == dialect.decimal || c == '-');
                    let parsed = field.replace(dialect.decimal, ".").parse::<f64>();
                    match parsed {
                        Ok(n) if looks_numeric && field.len() < 14 => Value::Number(n),
                        _ => Value::Text(field.to_owned()),
                    }
                })
                .collect()
        })
        .collect();
    Table { header, rows }
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{what}: {a} ≠ {b}"),
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

struct Names {
    line: &'static str,
    member: &'static str,
    kind: &'static str,
    quantity: &'static str,
    unit: &'static str,
    unit_price: &'static str,
    basis: &'static str,
    amount: &'static str,
    vat_rate: &'static str,
    vat: &'static str,
    ttc: &'static str,
    share_of_line: &'static str,
    share_of_bid: &'static str,
    offer: &'static str,
}

fn names(lang: Lang) -> Names {
    match lang {
        Lang::Fr => Names {
            line: "Ligne",
            member: "Membre",
            kind: "Catégorie",
            quantity: "Quantité",
            unit: "Unité",
            unit_price: "Prix unitaire HT",
            basis: "Base du prix",
            amount: "Montant HT",
            vat_rate: "Taux de TVA",
            vat: "TVA",
            ttc: "Montant TTC",
            share_of_line: "Part de la ligne",
            share_of_bid: "Part de l'offre",
            offer: "N° d'offre",
        },
        Lang::En => Names {
            line: "Line",
            member: "Member",
            kind: "Kind",
            quantity: "Quantity",
            unit: "Unit",
            unit_price: "Unit price excl. VAT",
            basis: "Price basis",
            amount: "Amount excl. VAT",
            vat_rate: "VAT rate",
            vat: "VAT",
            ttc: "Amount incl. VAT",
            share_of_line: "Share of the line",
            share_of_bid: "Share of the bid",
            offer: "Offer no.",
        },
    }
}

/// What a reader of the répartition checks, in either form: one row per lot with the JSON's figures,
/// the total row equal to `totals`, the lot rows adding up to it.
#[track_caller]
fn assert_repartition_is_the_proposal(table: &Table, p: &Proposal) {
    let n = names(p.language);
    let json: serde_json::Value = serde_json::to_value(p).expect("JSON");
    let lots = table.lots(n.offer);
    assert_eq!(lots.len(), p.lots().count(), "one row per lot");
    let total_amount: f64 = p.lots().filter_map(|l| l.amount).sum();
    let total_quantity: f64 = p.lots().map(|l| l.quantity).sum();
    // The lots as the JSON gives them (what a buyer's program reads), matched by offer number.
    for lot in json["lines"].as_array().expect("lines").iter().flat_map(|l| l["lots"].as_array().expect("lots")) {
        let offer = lot["offer"].as_f64().expect("offer");
        let row = lots
            .iter()
            .find(|r| table.get(r, n.offer).number() == Some(offer))
            .unwrap_or_else(|| panic!("a row for offer {offer}"));
        let line = p.lines.iter().find(|l| l.id == lot["line"].as_str().unwrap_or("")).expect("line");
        let member = p.members.iter().find(|m| m.siret == lot["supplier"].as_str().unwrap_or("")).expect("member");
        let what = |field: &str| format!("offer {offer}: {field}");
        assert_eq!(table.get(row, n.line).text(), line.id);
        assert_eq!(table.get(row, "SIRET").text(), lot["supplier"].as_str().expect("supplier"));
        assert_eq!(table.get(row, n.member).text(), lot["supplier_name"].as_str().expect("name"));
        assert_eq!(table.get(row, n.kind).text(), member.kind.code());
        assert_eq!(table.get(row, "CPV").text(), line.cpv.as_ref().map_or("", |c| c.as_str()), "{}", what("CPV"));
        assert_eq!(table.get(row, n.unit).text(), lot["unit"].as_str().expect("unit"));
        close(table.get(row, n.quantity).number(), lot["quantity"].as_f64(), &what("quantity"));
        close(table.get(row, n.unit_price).number(), lot["unit_price"].as_f64(), &what("unit price"));
        close(table.get(row, n.amount).number(), lot["amount"].as_f64(), &what("amount"));
        close(table.get(row, n.vat).number(), lot["vat"].as_f64(), &what("VAT"));
        close(table.get(row, n.ttc).number(), lot["amount_incl_vat"].as_f64(), &what("TTC"));
        close(table.get(row, n.vat_rate).number(), Some(line.vat_rate), &what("VAT rate"));
        close(table.get(row, n.share_of_line).number(), lot["share_of_line"].as_f64(), &what("share of line"));
        let basis = match lot["price_basis"].as_str().expect("price basis") {
            "member" => [("prix du membre", "member's price")],
            "reference" => [("prix de référence", "reference price")],
            _ => [("non chiffré", "unpriced")],
        };
        let basis = if p.language == Lang::Fr { basis[0].0 } else { basis[0].1 };
        assert_eq!(table.get(row, n.basis).text(), basis, "{}", what("price basis"));
        let share = table.get(row, n.share_of_bid).number();
        match p.totals.share_basis {
            ShareBasis::Amount => {
                let amount = lot["amount"].as_f64().expect("a priced lot");
                assert!((share.expect("a share") - amount / total_amount).abs() < 1e-6, "{}", what("share of bid"));
            }
            ShareBasis::Quantity => {
                let q = lot["quantity"].as_f64().expect("quantity");
                assert!((share.expect("a share") - q / total_quantity).abs() < 1e-6, "{}", what("share of bid"));
            }
            ShareBasis::Unavailable => assert_eq!(share, None, "{}", what("no share without a basis")),
        }
    }

    // The total row is `totals`, and the lots add up to it.
    let total = table.total();
    let totals = &json["totals"];
    close(table.get(total, n.amount).number(), totals["amount"].as_f64(), "total HT");
    close(table.get(total, n.vat).number(), totals["vat"].as_f64(), "total VAT");
    close(table.get(total, n.ttc).number(), totals["amount_incl_vat"].as_f64(), "total TTC");
    let sum = |name: &str| lots.iter().filter_map(|r| table.get(r, name).number()).sum::<f64>();
    if let Some(amount) = totals["amount"].as_f64() {
        assert!((sum(n.amount) - amount).abs() < 0.005, "Σ lots HT = total HT");
        assert!((sum(n.vat) - totals["vat"].as_f64().expect("vat")).abs() < 0.005, "Σ lots VAT = total VAT");
    }
    if p.totals.share_basis != ShareBasis::Unavailable && p.totals.lots > 0 {
        assert!((sum(n.share_of_bid) - 1.0).abs() < 1e-5, "the shares of the bid add up to 1");
        assert_eq!(table.get(total, n.share_of_bid).number(), Some(1.0));
    }

    // A subtotal per line, after its lots, equal to the line's figures.
    for line in &p.lines {
        let rows: Vec<&Vec<Value>> = table.rows.iter().filter(|r| table.get(r, n.line).text() == line.id).collect();
        let subtotal = rows.last().unwrap_or_else(|| panic!("rows for line {}", line.id));
        assert!(table.get(subtotal, "SIRET").text().is_empty(), "line {} ends with its subtotal", line.id);
        close(table.get(subtotal, n.amount).number(), line.amount, "line HT");
        close(table.get(subtotal, n.vat).number(), line.vat, "line VAT");
        close(table.get(subtotal, n.ttc).number(), line.amount_incl_vat, "line TTC");
        assert_eq!(rows.len(), line.lots.len() + 1, "line {}: its lots and its subtotal", line.id);
    }
}

#[track_caller]
fn assert_members_are_the_proposal(table: &Table, p: &Proposal) {
    let (amount, share) = match p.language {
        Lang::Fr => ("Montant HT", "Part de l'offre"),
        Lang::En => ("Amount excl. VAT", "Share of the bid"),
    };
    for m in &p.members {
        let row = table
            .rows
            .iter()
            .find(|r| table.get(r, "SIRET").text() == m.siret)
            .unwrap_or_else(|| panic!("a row for member {}", m.name));
        close(table.get(row, amount).number(), m.amount, "member HT");
        close(table.get(row, "Lots").number(), Some(m.lots as f64), "member lots");
        close(table.get(row, share).number(), m.share_of_bid, "member share");
    }
    assert_eq!(table.rows.len(), p.members.len() + 1, "the members and the total");
    close(table.get(table.total(), amount).number(), p.totals.amount, "members total HT");
}

fn inputs() -> ExampleInputs {
    example::inputs().expect("example inputs")
}

fn build_with(inputs: &ExampleInputs, bid: &BidSettings, lang: Lang) -> Proposal {
    let campaign =
        Campaign::replay(inputs.tender.reference.clone(), &inputs.events).expect("replays").expect("a campaign");
    Proposal::build(&ProposalInput {
        tender: &inputs.tender,
        groupement: Some(&inputs.groupement),
        suppliers: &inputs.suppliers,
        campaign: &campaign,
        impact: &ImpactSettings::default(),
        bid,
        groupement_kind: GroupementKind::Conjoint,
        generated_at: example::generated_at(),
        lang,
    })
    .expect("proposal builds")
}

/// The example with CPV codes on two lines and one member's own price, so that every column is used.
fn rich(lang: Lang) -> Proposal {
    let mut inputs = inputs();
    inputs.tender.lines[0].cpv = Some(Cpv::parse("cpv", "90911200-8").expect("cpv"));
    inputs.tender.lines[1].cpv = Some(Cpv::parse("cpv", "77313000").expect("cpv"));
    inputs.tender.lines[1].vat_rate = Some(0.1);
    let green = Sector::parse("sector", "espaces_verts").expect("sector");
    inputs.suppliers[3].prices.insert(green, 29.5);
    build_with(&inputs, &BidSettings::default(), lang)
}

#[test]
fn the_workbook_holds_every_lot_and_the_totals() {
    for lang in [Lang::Fr, Lang::En] {
        let p = rich(lang);
        assert!(p.lots().any(|l| l.price_basis == PriceBasis::Member), "a member's own price is used");
        let bytes = sheet::xlsx(&p).expect("workbook");
        let (repartition, members) =
            if lang == Lang::Fr { ("Répartition", "Membres") } else { ("Allocation", "Members") };
        let table = read_xlsx(&bytes, repartition);
        assert_repartition_is_the_proposal(&table, &p);
        assert_members_are_the_proposal(&read_xlsx(&bytes, members), &p);
        // SIRET and CPV are text, with the check digit: as numbers they would lose it or leading zeros.
        let l1 = table.lots(names(lang).offer)[0];
        assert_eq!(table.get(l1, "CPV"), &Value::Text("90911200-8".into()));
    }
}

#[test]
fn the_csv_holds_every_lot_and_the_totals_in_the_dialect_of_its_language() {
    for lang in [Lang::Fr, Lang::En] {
        let p = rich(lang);
        let text = sheet::csv(&p).expect("CSV");
        let dialect = CsvDialect::of(lang);
        let table = read_csv(&text, dialect);
        assert_repartition_is_the_proposal(&table, &p);
        let first = text.lines().nth(1).expect("a first lot");
        match lang {
            // `;` between fields, a decimal comma, and no thousands separator.
            Lang::Fr => {
                assert!(first.starts_with("L1;"), "{first}");
                assert!(first.contains(";19250,00;"), "700 h × 27.5 € HT, written the French way: {first}");
            }
            Lang::En => {
                assert!(first.starts_with("L1,"), "{first}");
                assert!(first.contains(",19250.00,"), "{first}");
            }
        }
        assert!(text.ends_with("\r\n"), "CRLF line ends");
    }
}

#[test]
fn the_same_proposal_gives_the_same_workbook() {
    let p = rich(Lang::Fr);
    let a = sheet::xlsx(&p).expect("workbook");
    let b = sheet::xlsx(&p).expect("workbook");
    assert!(a == b, "identical bytes");
    let mut later = p.clone();
    later.generated_at = Utc::now();
    assert!(sheet::xlsx(&later).expect("workbook") != a, "the creation date is the proposal's");
}

#[test]
fn unpriced_lines_and_omitted_lines_are_told() {
    // No price anywhere: no amounts, no shares (hours and kilograms do not add up), « non chiffré ».
    let mut unpriced = inputs();
    for line in &mut unpriced.tender.lines {
        line.unit_price = None;
    }
    let p = build_with(&unpriced, &BidSettings::default(), Lang::Fr);
    assert_eq!(p.totals.share_basis, ShareBasis::Unavailable);
    for table in [
        read_xlsx(&sheet::xlsx(&p).expect("workbook"), "Répartition"),
        read_csv(&sheet::csv(&p).expect("CSV"), CsvDialect::of(Lang::Fr)),
    ] {
        assert_repartition_is_the_proposal(&table, &p);
        assert!(table.lots("N° d'offre").iter().all(|r| table.get(r, "Base du prix").text() == "non chiffré"));
        assert_eq!(table.get(table.total(), "Montant HT"), &Value::Empty);
    }

    // Partial lines left out of the bid: no lot rows, and the line says why.
    let omit = BidSettings { partial_lines: PartialLines::Omit, ..BidSettings::default() };
    let p = build_with(&inputs(), &omit, Lang::En);
    assert!(p.lines.iter().any(|l| l.omitted));
    let table = read_xlsx(&sheet::xlsx(&p).expect("workbook"), "Allocation");
    assert_repartition_is_the_proposal(&table, &p);
    for line in p.lines.iter().filter(|l| l.omitted) {
        let row = table.rows.iter().find(|r| table.get(r, "Line").text() == line.id).expect("the line's row");
        assert_eq!(table.get(row, "Member").text(), "Line not offered (covered in part only)");
    }
}

#[test]
fn odd_names_survive_both_forms_and_formulas_do_not_run() {
    let mut inputs = inputs();
    let hostile = "=HYPERLINK(\"http://x\";\"clic\") Atelier; \"Zéro\", Cie\nligne 2";
    inputs.suppliers[0].name = hostile.into();
    inputs.tender.lines[2].title = Some("Blanchisserie; des \"tenues\", lavées".into());
    inputs.tender.lines[1].title = Some("Espaces\u{0}verts \u{202e}\u{1F41D}\r\n".into());
    let p = build_with(&inputs, &BidSettings::default(), Lang::Fr);
    let lead = p.members.iter().find(|m| m.lead).expect("lead");

    let table = read_xlsx(&sheet::xlsx(&p).expect("workbook"), "Répartition");
    assert_repartition_is_the_proposal(&table, &p);
    let row = table.rows.iter().find(|r| table.get(r, "SIRET").text() == lead.siret).expect("lead's lot");
    // A workbook cell is a string, never a formula: written as is.
    assert_eq!(table.get(row, "Membre").text(), hostile);
    let l2 = table.rows.iter().find(|r| table.get(r, "Ligne").text() == "L2").expect("L2");
    // Control characters survive the XML (escaped by the writer), the title trimmed as everywhere else.
    assert_eq!(table.get(l2, "Intitulé").text(), "Espaces\u{0}verts \u{202e}\u{1F41D}");

    let table = read_csv(&sheet::csv(&p).expect("CSV"), CsvDialect::of(Lang::Fr));
    let row = table.rows.iter().find(|r| table.get(r, "SIRET").text() == lead.siret).expect("lead's lot");
    assert_eq!(table.get(row, "Membre").text(), format!("'{hostile}"), "a CSV cell cannot start a formula");
    let l3 = table.rows.iter().find(|r| table.get(r, "Ligne").text() == "L3").expect("L3");
    assert_eq!(table.get(l3, "Intitulé").text(), "Blanchisserie; des \"tenues\", lavées");
}
