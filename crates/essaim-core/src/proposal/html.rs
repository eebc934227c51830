//! The proposal as one printable, self-contained HTML page: what a public buyer reads before accepting a
//! grouped bid, and what a lead checks before signing the groupement agreement.
//!
//! The page carries everything inline (a `<style>` block, a system font stack, no images, scripts or
//! links), prints on A4 with repeated table headers, and is a pure function of the [`Proposal`]: the
//! same proposal always gives the same bytes. Every text that comes from data (names, titles, communes,
//! reasons) goes through [`escape`]; supplier names come from CSV files written by anyone.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Timelike, Utc};

use super::{
    Acceptance, Currency, LeadBasis, Member, PriceBasis, Proposal, ProposalLine, ProposalLot, ProposalStatus,
    ShareBasis,
};
use crate::{
    GroupementKind, KindFamily, Lang, ParticipationMode, QUANTITY_EPSILON, ReadyCause, format_number, format_quantity,
};

/// Renders the proposal as one self-contained HTML page.
pub fn render(proposal: &Proposal) -> String {
    let mut out = String::with_capacity(48 * 1024);
    // Dates are written in the campaign's time zone; a name the page does not know falls back to Paris.
    let tz = proposal.time_zone.parse().unwrap_or(chrono_tz::Europe::Paris);
    // Writing into a `String` cannot fail.
    let _ = Page { p: proposal, lang: proposal.language, tz }.write(&mut out);
    out
}

/// Escapes text for HTML element content and quoted attribute values: `& < > " '`.
pub fn escape(text: &str) -> String {
    Esc(text).to_string()
}

/// Displays a text escaped for HTML (and the SVG of the map), without an intermediate string.
pub(super) struct Esc<'a>(pub(super) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let mut start = 0;
        for (i, c) in text.char_indices() {
            let replacement = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                // A bidirectional override in a name (« \u{202e}ENIAL ») would turn the text around it
                // on the buyer's page: such invisible controls are dropped, as on the map.
                c if crate::format::is_hidden_control(c) => "",
                _ => continue,
            };
            f.write_str(&text[start..i])?;
            f.write_str(replacement)?;
            start = i + c.len_utf8();
        }
        f.write_str(&text[start..])
    }
}

/// A text as a CSS string literal: every character but letters, digits, space, `-`, `_` and `.` as a
/// six-digit escape, so that no data can close the string or the `<style>` element.
fn css_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
            out.push(c);
        } else {
            // The space ends the escape (CSS consumes it), so that a real space after it survives.
            let _ = write!(out, "\\{:06x} ", c as u32);
        }
    }
    out.push('"');
    out
}

/// The printed margin boxes do not inherit the body's font.
const MARGIN_BOX: &str = "font-size: 7.5pt; color: #5d6776; font-family: \"Segoe UI\", -apple-system, Roboto, \
    \"Helvetica Neue\", Arial, \"Liberation Sans\", \"Noto Sans\", system-ui, sans-serif;";

/// The page's fixed style. Colours: one accent (deep blue); amber only for what is missing or pending.
const STYLE: &str = r#"
:root {
  --accent: #1f4f82; --accent-soft: #e9f0f8; --ink: #1b2430; --muted: #5d6776; --rule: #dde2e8;
  --warn: #8a4b00; --warn-bar: #d98b1f; --warn-soft: #fdf4e6; --gap: #c9ced6; --ok: #2c6e49;
}
* { box-sizing: border-box; }
html { background: #eceff3; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; padding: 28px 16px 40px; color: var(--ink); font-size: 13.5px; line-height: 1.5;
  font-family: "Segoe UI", -apple-system, BlinkMacSystemFont, Roboto, "Helvetica Neue", Arial,
    "Liberation Sans", "Noto Sans", system-ui, sans-serif;
  font-kerning: normal; text-rendering: optimizeLegibility;
}
.sheet {
  max-width: 210mm; margin: 0 auto; background: #fff; padding: 16mm 15mm 12mm;
  box-shadow: 0 1px 2px rgba(20, 30, 45, .10), 0 10px 30px rgba(20, 30, 45, .08);
}
h1, h2, h3 { line-height: 1.25; break-after: avoid; page-break-after: avoid; }
h1 { font-size: 23px; margin: 6px 0 4px; font-weight: 700; letter-spacing: -.01em; }
h2 {
  font-size: 15.5px; margin: 30px 0 12px; padding-bottom: 5px; color: var(--accent);
  border-bottom: 2px solid var(--accent); font-weight: 700;
}
h2 .no { display: inline-block; min-width: 1.4em; color: var(--muted); font-weight: 600; }
h3 { font-size: 14px; margin: 0; font-weight: 650; }
p { margin: 0 0 8px; }
.muted { color: var(--muted); }
.lead-in { break-after: avoid; page-break-after: avoid; }
.small { font-size: 11.5px; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.tag {
  display: inline-block; padding: 0 6px; border: 1px solid var(--rule); border-radius: 3px; font-size: 11px;
  line-height: 17px; color: var(--muted); vertical-align: 1px; font-weight: 500;
}
/* A long tag (a structure added for this tender only) wraps inside its frame rather than pushing its table
   into the margin; a kind, a family and the lead's tag stay on one line. */
.tag.kind, .tag.family, .tag.lead { white-space: nowrap; }
.tag.kind { color: var(--ink); font-weight: 600; letter-spacing: .02em; }
.tag.family { border-color: var(--accent); color: var(--accent); }
.tag.lead { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }

/* Header */
.doc-head { border-top: 5px solid var(--accent); padding-top: 12px; }
.doc-head .top { display: flex; justify-content: space-between; align-items: center; gap: 12px; }
.eyebrow {
  text-transform: uppercase; letter-spacing: .09em; font-size: 12px; font-weight: 700; color: var(--accent);
}
.badge {
  display: inline-block; padding: 3px 10px; border-radius: 999px; font-size: 12px; font-weight: 700;
  white-space: nowrap; border: 1.5px solid currentColor;
}
.badge.final { color: #fff; background: var(--accent); border-color: var(--accent); }
.badge.draft { color: var(--warn); background: var(--warn-soft); }
.ref { font-size: 14px; color: var(--muted); margin: 0 0 14px; }
.ref strong { color: var(--ink); font-weight: 650; }
.facts {
  display: grid; grid-template-columns: minmax(0, 1.2fr) minmax(0, 1fr) minmax(0, 1.15fr) minmax(0, 1fr); gap: 0;
  margin: 0;
  border: 1px solid var(--rule);
  border-radius: 4px;
}
.facts > div { padding: 8px 12px; border-left: 1px solid var(--rule); }
.facts > div:first-child { border-left: 0; }
.facts dt {
  font-size: 10.5px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600;
}
.facts dd { margin: 2px 0 0; font-weight: 600; }
.facts dd .sub { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
.summary { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 14px 0 0; }
.summary > div { background: var(--accent-soft); border-radius: 4px; padding: 9px 12px; }
.summary .v {
  display: block; font-size: 17px; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.3;
}
.summary .k { display: block; font-size: 11.5px; color: var(--muted); }
.notice {
  margin: 14px 0 0; padding: 9px 12px; border-left: 4px solid var(--warn-bar); background: var(--warn-soft);
  color: var(--warn); font-weight: 500;
}

/* Groupement */
.grp { display: grid; grid-template-columns: 1fr 1.15fr; gap: 14px; align-items: stretch; margin-bottom: 14px; }
.grp dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 3px 12px; align-content: start; }
.grp dt { color: var(--muted); }
.grp dd { margin: 0; font-weight: 600; }
figure.map { margin: 0 0 14px; padding: 8px; background: #fff; border: 1px solid var(--rule); border-radius: 4px; break-inside: avoid; }
figure.map svg { display: block; width: 100%; max-width: 180mm; height: auto; margin: 0 auto; }
figure.map figcaption { font-size: 8pt; color: var(--muted); margin-top: 4px; }
.lead-card {
  border: 1.5px solid var(--accent); border-radius: 4px; padding: 10px 14px; background: var(--accent-soft);
}
.lead-card .role {
  font-size: 11px; text-transform: uppercase; letter-spacing: .07em; color: var(--accent); font-weight: 700;
}
.lead-card .name { font-size: 16px; font-weight: 700; margin: 2px 0; }
.lead-card .meta { font-size: 12px; color: var(--muted); }

/* Tables */
table { width: 100%; border-collapse: collapse; font-size: 12.5px; }
thead { display: table-header-group; }
tfoot { display: table-row-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th {
  text-align: left; font-size: 10.5px; font-weight: 650; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); padding: 6px 7px; border-bottom: 1.5px solid var(--ink); vertical-align: bottom;
}
td { padding: 6px 7px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th:first-child, td:first-child { padding-left: 2px; }
th:last-child, td:last-child { padding-right: 2px; }
tfoot td { border-bottom: 0; border-top: 1.5px solid var(--ink); font-weight: 650; }
tfoot tr.vat td { border-top: 0; padding-top: 0; font-weight: 400; color: var(--muted); font-size: 11.5px; }
tr.is-lead td { background: var(--accent-soft); }
tr.is-lead td:first-child { box-shadow: inset 3px 0 0 var(--accent); padding-left: 8px; }
td .sub { display: block; color: var(--muted); font-size: 11.5px; }
.member-name { font-weight: 600; }
.note { font-size: 11.5px; color: var(--muted); margin: 6px 0 0; break-before: avoid; page-break-before: avoid; }

/* Lines */
/* A line card may break between its lot rows (a long one would otherwise leave half a page blank); its
   head and specs stay with the first rows. */
.line { border: 1px solid var(--rule); border-radius: 4px; padding: 12px 14px 12px; margin: 0 0 14px; }
.line-head, .specs, .line .rule { break-after: avoid; page-break-after: avoid; }
.cover { break-inside: avoid; page-break-inside: avoid; }
table.lots td:first-child, table.lots th:first-child { width: 44%; }
table.evidence td:first-child, table.evidence th:first-child { width: 30%; }
.mark { color: var(--accent); font-weight: 700; padding-left: 2px; }
.line-head { display: flex; align-items: baseline; gap: 10px; margin-bottom: 8px; }
.line-id {
  font-weight: 700; color: #fff; background: var(--accent); border-radius: 3px; padding: 0 7px; font-size: 12.5px;
  line-height: 20px; white-space: nowrap;
}
.line-head .sector { margin-left: auto; }
.specs {
  display: grid; grid-template-columns: repeat(4, auto); justify-content: space-between; gap: 4px 16px;
  margin: 0 0 10px;
}
.specs dt {
  font-size: 10.5px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600;
}
.specs dd { margin: 0; font-variant-numeric: tabular-nums; }
.cover { margin-top: 10px; }
.bar { display: flex; height: 8px; border-radius: 4px; overflow: hidden; background: var(--gap); }
.bar .c { background: var(--accent); }
.bar .p { background: var(--warn-bar); }
.legend {
  display: flex; flex-wrap: wrap; gap: 4px 18px; margin-top: 5px; font-size: 12px;
  font-variant-numeric: tabular-nums;
}
.legend span::before {
  content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 5px;
  vertical-align: 0; background: var(--gap);
}
.legend .c::before { background: var(--accent); }
.legend .p::before { background: var(--warn-bar); }
.legend .u.has { color: var(--warn); font-weight: 650; }
.empty { color: var(--muted); font-style: italic; margin: 4px 0 0; }

/* Shortfall */
.shortfall {
  break-inside: avoid; page-break-inside: avoid; border-left: 4px solid var(--warn-bar);
  background: var(--warn-soft); padding: 10px 14px; border-radius: 0 4px 4px 0;
}
.shortfall p { color: var(--warn); font-weight: 600; }
.shortfall table td { border-bottom-color: #efd9b8; }
.shortfall table th { border-bottom-color: var(--warn); color: var(--warn); }
.all-covered {
  border-left: 4px solid var(--ok); background: #eef6f1; padding: 10px 14px; color: var(--ok); font-weight: 600;
  border-radius: 0 4px 4px 0;
}

/* Totals */
.totals {
  break-inside: avoid; page-break-inside: avoid; display: grid; grid-template-columns: 1fr 1.6fr; gap: 18px;
  align-items: start;
}
.amount-box { border: 1.5px solid var(--accent); border-radius: 4px; padding: 12px 14px; }
.amount-box .k {
  font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600;
}
.amount-box .v {
  font-size: 24px; font-weight: 700; color: var(--accent); font-variant-numeric: tabular-nums; line-height: 1.3;
}
.amount-box .sub { font-size: 12px; color: var(--muted); }
td .bar { margin-top: 5px; height: 6px; }

/* Impact */
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.card {
  border: 1px solid var(--rule); border-top: 3px solid var(--accent); border-radius: 4px; padding: 9px 12px 10px;
  break-inside: avoid; page-break-inside: avoid;
}
.card .v { font-size: 18px; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.25; }
.card .v.long { font-size: 15px; padding: 2px 0 1px; }
.card .l { font-weight: 600; font-size: 12.5px; margin-top: 1px; }
.card .x { font-size: 11.5px; color: var(--muted); margin-top: 4px; line-height: 1.4; }

/* Rules, repartition, mandate */
.tag.warn { border-color: var(--warn-bar); color: var(--warn); background: var(--warn-soft); }
.rule { margin: -2px 0 8px; font-size: 12px; color: var(--accent); font-weight: 600; }
.signatures { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px 12px; margin-top: 10px; }
.signature {
  border: 1px solid var(--rule); border-radius: 4px; padding: 8px 10px; break-inside: avoid;
  page-break-inside: avoid;
}
.signature .sub { color: var(--muted); font-size: 11.5px; }
.signature .field { margin-top: 10px; border-bottom: 1px dotted var(--muted); font-size: 10.5px; color: var(--muted); }
.signature .field.sign { height: 34px; }
.oeth { border: 1px solid var(--rule); border-left: 4px solid var(--accent); padding: 9px 12px; margin-top: 12px; break-inside: avoid; page-break-inside: avoid; }
.oeth dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 6px 0 0; }
.oeth dt { color: var(--muted); }
.sub-title { margin: 16px 0 6px; color: var(--accent); }
.oeth dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }

/* Commitments */
.evidence td { font-size: 12px; }
.evidence td:first-child { width: 5.5em; }

footer.doc-foot {
  margin-top: 28px; padding-top: 10px; border-top: 1px solid var(--rule); font-size: 11.5px; color: var(--muted);
  display: flex; justify-content: space-between; gap: 18px;
}
footer.doc-foot strong { color: var(--ink); }

@page { size: A4; margin: 14mm 13mm 16mm; }
@media print {
  html { background: none; }
  body { padding: 0; font-size: 9.2pt; line-height: 1.42; }
  .sheet { max-width: none; padding: 0; box-shadow: none; }
  h2 { margin: 18px 0 9px; }
  table { font-size: 8.8pt; }
  td { padding: 4px 6px; }
  th { padding: 4px 6px; }
  .evidence td { font-size: 8.5pt; }
  /* A bid may have thousands of lots: one compact row each. */
  table.lots td { padding: 2.5px 6px; }
  .line { padding: 9px 12px; margin-bottom: 10px; }
  .card { padding: 7px 10px 8px; }
  .card .v { font-size: 15pt; }
  .card .v.long { font-size: 11.5pt; }
  .card .x { font-size: 8.2pt; }
  section { break-inside: auto; }
  /* The footer follows the last section rather than opening a page of its own. */
  footer.doc-foot { break-before: avoid; page-break-before: avoid; margin-top: 12px; }
  .signature { padding: 6px 9px; }
  .signature .field { margin-top: 7px; }
  .signature .field.sign { height: 26px; }
}
@media screen and (max-width: 720px) {
  .sheet { padding: 20px 16px; }
  .facts, .grp, .totals, .cards, .signatures { grid-template-columns: 1fr; }
  .summary { grid-template-columns: 1fr 1fr; }
  .facts > div { border-left: 0; border-top: 1px solid var(--rule); }
  .facts > div:first-child { border-top: 0; }
  .specs { grid-template-columns: repeat(2, auto); }
  .table-wrap { overflow-x: auto; }
}
"#;

struct Page<'a> {
    p: &'a Proposal,
    lang: Lang,
    tz: chrono_tz::Tz,
}

impl Page<'_> {
    /// The French or the English text.
    fn t<'s>(&self, fr: &'s str, en: &'s str) -> &'s str {
        match self.lang {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    fn write(&self, out: &mut String) -> fmt::Result {
        self.head(out)?;
        out.push_str("<body>\n<main class=\"sheet\">\n");
        self.header(out)?;
        self.groupement(out)?;
        self.lines(out)?;
        self.shortfall(out)?;
        self.repartition(out)?;
        self.totals(out)?;
        self.impact(out)?;
        self.commitments(out)?;
        self.mandate(out)?;
        self.footer(out)?;
        out.push_str("</main>\n</body>\n</html>\n");
        Ok(())
    }

    fn head(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        let lang = match self.lang {
            Lang::Fr => "fr",
            Lang::En => "en",
        };
        writeln!(out, "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">")?;
        writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
        writeln!(out, "<meta name=\"generator\" content=\"essaim\">")?;
        writeln!(
            out,
            "<title>{} — {} — {}</title>",
            self.t("Proposition de groupement", "Grouped bid"),
            Esc(&p.tender.reference),
            Esc(&p.tender.title)
        )?;
        out.push_str("<style>");
        out.push_str(STYLE);
        // The reference and page numbers in the bottom margin of every printed page.
        let page = self.t("page ", "page ");
        writeln!(
            out,
            "@page {{ @bottom-left {{ content: {}; {MARGIN_BOX} }} \
             @bottom-right {{ content: {} counter(page) \" / \" counter(pages); {MARGIN_BOX} }} }}",
            css_string(&format!("{} · {}", p.tender.reference, p.groupement.name)),
            css_string(page),
        )?;
        out.push_str("</style>\n</head>\n");
        Ok(())
    }

    fn header(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        out.push_str("<header class=\"doc-head\">\n<div class=\"top\">");
        write!(out, "<span class=\"eyebrow\">{}</span>", self.t("Proposition de groupement", "Grouped bid"))?;
        match p.status {
            ProposalStatus::Final => {
                writeln!(out, "<span class=\"badge final\">{}</span></div>", self.t("Définitive", "Final"))?
            }
            ProposalStatus::Draft => writeln!(
                out,
                "<span class=\"badge draft\">{}</span></div>",
                self.t("Provisoire — offres en attente", "Draft — offers pending")
            )?,
        }
        writeln!(out, "<h1>{}</h1>", Esc(&p.tender.title))?;
        writeln!(
            out,
            "<p class=\"ref\">{} <strong>{}</strong></p>",
            self.t("Consultation", "Tender"),
            Esc(&p.tender.reference)
        )?;

        out.push_str("<dl class=\"facts\">\n");
        write!(out, "<div><dt>{}</dt><dd>{}", self.t("Acheteur", "Buyer"), Esc(&p.tender.buyer.name))?;
        if let Some(siret) = &p.tender.buyer.siret {
            write!(out, "<span class=\"sub\">SIRET {}</span>", Esc(&siret_display(siret.as_str())))?;
        }
        out.push_str("</dd></div>\n");
        write!(out, "<div><dt>{}</dt><dd>", self.t("Date limite de remise", "Submission deadline"))?;
        match &p.tender.deadline {
            Some(d) => write!(out, "{}", self.deadline(d))?,
            None => write!(out, "<span class=\"muted\">{}</span>", self.t("non précisée", "not given"))?,
        }
        out.push_str("</dd></div>\n");
        let campaign = match p.campaign.ready_at {
            Some(at) => format!("{} {}", self.t("Campagne close le", "Campaign closed on"), self.date_time(at)),
            None => self.t("Campagne en cours", "Campaign still running").to_string(),
        };
        writeln!(
            out,
            "<div><dt>{}</dt><dd>{}<span class=\"sub\">{campaign}</span></dd></div>",
            self.t("Générée le", "Generated"),
            self.date_time(p.generated_at),
        )?;
        writeln!(
            out,
            "<div><dt>{}</dt><dd>{}<span class=\"sub\">{} {}</span></dd></div>",
            self.t("Offre valable jusqu'au", "Offer valid until"),
            self.date(p.valid_until.with_timezone(&self.tz).date_naive()),
            p.validity_days,
            self.t("jours à compter de son établissement", "days from when it was drawn up"),
        )?;
        out.push_str("</dl>\n");

        // The figures a buyer looks for first.
        out.push_str("<div class=\"summary\">\n");
        let amount = match p.totals.amount {
            Some(a) => self.money(a),
            None => "—".into(),
        };
        let incl = match p.totals.amount_incl_vat {
            Some(a) => format!(" · {} {}", self.money(a), self.t("TTC", "incl. VAT")),
            None => String::new(),
        };
        writeln!(
            out,
            "<div><span class=\"v\">{amount}</span><span class=\"k\">{}{incl}</span></div>",
            self.t("Montant total HT", "Total amount excl. VAT")
        )?;
        let units = &p.totals.coverage_by_unit;
        let shares: Vec<String> = units.values().map(|c| self.pct(c.share)).collect();
        let names: Vec<String> = units.keys().map(|u| Esc(&unit_display(u)).to_string()).collect();
        let shares = if shares.is_empty() { "—".into() } else { shares.join(" · ") };
        writeln!(
            out,
            "<div><span class=\"v\">{shares}</span><span class=\"k\">{} ({})</span></div>",
            self.t("Demande couverte", "Demand covered"),
            names.join(" · ")
        )?;
        writeln!(
            out,
            "<div><span class=\"v\">{}</span><span class=\"k\">{}</span></div>",
            p.totals.members,
            self.t("Structures membres", "Member structures")
        )?;
        writeln!(
            out,
            "<div><span class=\"v\">{}</span><span class=\"k\">{}</span></div>",
            p.totals.lots,
            self.t("Micro-lots confirmés", "Confirmed micro-lots")
        )?;
        out.push_str("</div>\n");

        if p.groupement.lead_basis == LeadBasis::ToDesignate {
            writeln!(
                out,
                "<p class=\"notice\">{}</p>",
                self.t(
                    "Mandataire à désigner : un groupement constitué pour cette consultation désigne son mandataire dans sa candidature et son offre (art. R2142-24 du code de la commande publique). Le facilitateur le désigne avec /mandataire.",
                    "Lead to be named: a groupement formed for this tender names its lead (mandataire) in its application and bid (art. R2142-24 of the French public procurement code). The facilitator names it with /mandataire.",
                )
            )?;
        }
        if p.lines.iter().any(|l| l.partial) {
            writeln!(
                out,
                "<p class=\"notice\">{}</p>",
                self.t(
                    "Offre partielle : certaines lignes ne sont couvertes qu'en partie (marquées « offre partielle »).",
                    "Partial offer: some lines are covered in part only (marked « partial offer »).",
                )
            )?;
        }
        if p.status == ProposalStatus::Draft {
            let n = p.campaign.open_offers;
            let text = match (self.lang, n) {
                (Lang::Fr, 1) => "Document provisoire : 1 offre attend encore une réponse. \
                                  Les quantités en attente ne sont pas comptées comme couvertes."
                    .to_string(),
                (Lang::Fr, _) => format!(
                    "Document provisoire : {n} offres attendent encore une réponse. \
                     Les quantités en attente ne sont pas comptées comme couvertes."
                ),
                (Lang::En, 1) => "Draft: 1 offer is still awaiting an answer. \
                                  Pending quantities are not counted as covered."
                    .to_string(),
                (Lang::En, _) => format!(
                    "Draft: {n} offers are still awaiting an answer. \
                     Pending quantities are not counted as covered."
                ),
            };
            writeln!(out, "<p class=\"notice\">{text}</p>")?;
        }
        out.push_str("</header>\n");
        Ok(())
    }

    fn section(&self, out: &mut String, id: &str, no: u32, fr: &str, en: &str) -> fmt::Result {
        writeln!(out, "<section id=\"{id}\">\n<h2><span class=\"no\">{no}.</span> {}</h2>", self.t(fr, en))
    }

    fn groupement(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        let g = &p.groupement;
        self.section(out, "groupement", 1, "Le groupement", "The groupement")?;
        out.push_str("<div class=\"grp\">\n<dl>\n");
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", self.t("Nom", "Name"), Esc(&g.name))?;
        match &g.code {
            Some(code) => writeln!(out, "<dt>{}</dt><dd>{}</dd>", self.t("Code", "Code"), Esc(code))?,
            None => writeln!(
                out,
                "<dt>{}</dt><dd>{}</dd>",
                self.t("Code", "Code"),
                self.t("aucun (groupement constitué pour cette consultation)", "none (formed for this tender)")
            )?,
        }
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", self.t("Forme", "Form"), self.form())?;
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", self.t("Membres", "Members"), p.members.len())?;
        out.push_str("</dl>\n");

        let lead = p.lead();
        out.push_str("<div class=\"lead-card\">\n");
        writeln!(
            out,
            "<div class=\"role\">{}</div>",
            self.t("Mandataire — interlocuteur unique de l'acheteur", "Lead (mandataire) — single point of contact")
        )?;
        match lead {
            Some(m) => {
                writeln!(out, "<div class=\"name\">{}</div>", Esc(&m.name))?;
                write!(out, "<div class=\"meta\">SIRET {} · {}", Esc(&siret_display(&m.siret)), Esc(m.kind.code()))?;
                if let Some(place) = self.place(m) {
                    write!(out, " · {place}")?;
                }
                out.push_str("</div>\n");
            }
            None => writeln!(out, "<div class=\"name\">{}</div>", self.t("à désigner", "to be named"))?,
        }
        if let Some(c) = &g.lead_contact {
            let parts: Vec<String> =
                [&c.name, &c.email, &c.phone].into_iter().flatten().map(|v| Esc(v).to_string()).collect();
            if !parts.is_empty() {
                writeln!(out, "<div class=\"meta\">{} {}</div>", self.t("Contact :", "Contact:"), parts.join(" · "))?;
            }
        }
        let basis = match g.lead_basis {
            LeadBasis::Groupement => self.t("Désigné par le groupement.", "Named by the groupement."),
            LeadBasis::Designated => self.t(
                "Désigné pour ce groupement constitué pour la consultation (art. R2142-24 du code de la commande publique).",
                "Named for this groupement formed for the tender (art. R2142-24 of the French public procurement code).",
            ),
            LeadBasis::ToDesignate => self.t(
                "À désigner dans la candidature et l'offre (art. R2142-24 du code de la commande publique).",
                "To be named in the application and bid (art. R2142-24 of the French public procurement code).",
            ),
        };
        writeln!(out, "<div class=\"meta\">{basis}</div>\n</div>\n</div>")?;

        // Members.
        out.push_str("<div class=\"table-wrap\"><table class=\"members\">\n<thead><tr>");
        write!(
            out,
            "<th>{}</th><th>SIRET</th><th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th>\
             <th class=\"num\">{}</th><th class=\"num\">{}</th>",
            self.t("Structure · commune", "Structure · town"),
            self.t("Catégorie", "Kind"),
            self.t("Lots", "Lots"),
            self.t("Quantité", "Quantity"),
            self.t("Montant HT", "Amount excl. VAT"),
            self.t("Part*", "Share*"),
        )?;
        out.push_str("</tr></thead>\n<tbody>\n");
        for m in &p.members {
            self.member_row(out, m)?;
        }
        out.push_str("</tbody>\n</table></div>\n");
        let note = match p.totals.share_basis {
            ShareBasis::Amount => self.t(
                "* Part de chaque membre dans le montant total HT de l'offre (base : montant).",
                "* Each member's share of the bid's total amount excluding VAT (basis: amount).",
            ),
            ShareBasis::Quantity => self.t(
                "* Part de chaque membre dans la quantité totale de l'offre (base : quantité ; toutes les lignes ne sont pas chiffrées).",
                "* Each member's share of the bid's total quantity (basis: quantity; not every line has a price).",
            ),
            ShareBasis::Unavailable => self.t(
                "* Parts non calculables (base : indisponible) : les lots ne sont pas tous chiffrés et sont exprimés dans des unités différentes.",
                "* Shares cannot be computed (basis: unavailable): not every lot has a price and the lots are in different units.",
            ),
        };
        writeln!(out, "<p class=\"note\">{note}{}</p>", self.families_note())?;
        out.push_str("</section>\n");
        Ok(())
    }

    /// What the family tags of the members table mean, for the families present in the bid.
    fn families_note(&self) -> String {
        let has = |family: Option<KindFamily>| self.p.members.iter().any(|m| m.family == family);
        let mut parts = Vec::new();
        if has(Some(KindFamily::Iae)) {
            parts.push(self.t(
                "SIAE : structure d'insertion par l'activité économique (EI, ETTI, AI, ACI, EITI).",
                "SIAE: work integration social enterprise (insertion par l'activité économique: EI, ETTI, AI, ACI, EITI).",
            ));
        }
        if has(None) {
            parts.push(self.t(
                "Un GEIQ (groupement d'employeurs pour l'insertion et la qualification) n'est pas une SIAE.",
                "A GEIQ (employers' group for insertion and qualification) is not an SIAE.",
            ));
        }
        if has(Some(KindFamily::Disability)) {
            parts.push(self.t(
                "Travailleurs handicapés : ESAT, EA, EATT, TIH ; les achats auprès de ces structures ouvrent droit à une déduction sur la contribution de l'acheteur au titre de l'obligation d'emploi des travailleurs handicapés (OETH, art. L5212-10-1 du code du travail).",
                "Disabled workers: ESAT, EA, EATT, TIH; purchases from them give the buyer a deduction from its disability-employment contribution (OETH, art. L5212-10-1 of the French labour code).",
            ));
        }
        parts.iter().map(|p| format!(" {p}")).collect()
    }

    fn member_row(&self, out: &mut String, m: &Member) -> fmt::Result {
        let p = self.p;
        write!(out, "<tr{}>", if m.lead { " class=\"is-lead\"" } else { "" })?;
        write!(out, "<td><span class=\"member-name\">{}</span>", Esc(&m.name))?;
        if m.lead {
            write!(out, " <span class=\"tag lead\">{}</span>", self.t("Mandataire", "Lead"))?;
        }
        if m.joined_for_this_tender {
            let joined = self.t("membre pour cet appel seulement", "member for this tender only");
            write!(out, " <span class=\"tag\">{joined}</span>")?;
        }
        match self.place(m) {
            Some(place) => write!(out, "<span class=\"sub\">{place}</span>")?,
            None => write!(out, "<span class=\"sub\">{}</span>", self.t("commune non renseignée", "town not given"))?,
        }
        out.push_str("</td>");
        write!(out, "<td class=\"nowrap\">{}</td>", Esc(&siret_display(&m.siret)))?;
        write!(out, "<td><span class=\"tag kind\">{}</span>", Esc(m.kind.code()))?;
        // The family, when the kind has one: a GEIQ is neither an SIAE nor disability employment.
        let family = match m.family {
            Some(KindFamily::Iae) => Some("SIAE"),
            Some(KindFamily::Disability) => Some(self.t("travailleurs handicapés", "disabled workers")),
            None => None,
        };
        if let Some(family) = family {
            write!(out, " <span class=\"tag family\">{family}</span>")?;
        }
        out.push_str("</td>");
        write!(out, "<td class=\"num\">{}</td>", m.lots)?;
        // A member's lots may be in several units: show each rather than adding hours to kilograms.
        let mut by_unit: BTreeMap<&str, f64> = BTreeMap::new();
        for lot in p.lots().filter(|l| l.supplier == m.siret) {
            *by_unit.entry(lot.unit.as_str()).or_default() += lot.quantity;
        }
        let quantities: Vec<String> = by_unit.iter().map(|(unit, q)| self.qty_unit(*q, unit)).collect();
        if quantities.is_empty() {
            out.push_str("<td class=\"num muted\">—</td>");
        } else {
            write!(out, "<td class=\"num\">{}</td>", quantities.join("<br>"))?;
        }
        write!(out, "<td class=\"num\">{}</td>", self.opt_money(m.amount))?;
        match m.share_of_bid {
            Some(s) => write!(out, "<td class=\"num\">{}</td>", self.pct(s))?,
            None => out.push_str("<td class=\"num muted\">—</td>"),
        }
        out.push_str("</tr>\n");
        Ok(())
    }

    fn lines(&self, out: &mut String) -> fmt::Result {
        self.section(out, "lines", 2, "Les lignes et leurs lots", "Lines and their lots")?;
        if self.p.lines.is_empty() {
            writeln!(
                out,
                "<p class=\"empty\">{}</p>",
                self.t("La consultation n'a pas de ligne.", "The tender has no line.")
            )?;
        }
        let map = super::map::svg(self.p, self.lang);
        if !map.is_empty() {
            writeln!(
                out,
                "<figure class=\"map\">{map}<figcaption>{}</figcaption></figure>",
                self.t(
                    "Où se trouvent les sites et les membres, et qui travaille sur chaque site (trait plus épais : lots plus importants).",
                    "Where the sites and the members are, and who works on each site (thicker line: larger lots).",
                )
            )?;
        }
        for line in &self.p.lines {
            self.line(out, line)?;
        }
        out.push_str("</section>\n");
        Ok(())
    }

    fn line(&self, out: &mut String, line: &ProposalLine) -> fmt::Result {
        writeln!(out, "<article class=\"line\" id=\"line-{}\">", Esc(&line.id))?;
        write!(out, "<div class=\"line-head\"><span class=\"line-id\">{}</span>", Esc(&line.id))?;
        match &line.title {
            Some(title) => write!(out, "<h3>{}</h3>", Esc(title))?,
            None => write!(out, "<h3>{}</h3>", Esc(&sector_display(&line.sector)))?,
        }
        if line.partial {
            write!(out, "<span class=\"tag warn\">{}</span>", self.t("offre partielle", "partial offer"))?;
        }
        if line.omitted {
            write!(out, "<span class=\"tag warn\">{}</span>", self.t("non offerte", "not offered"))?;
        }
        writeln!(out, "<span class=\"tag sector\">{}</span></div>", Esc(&sector_display(&line.sector)))?;
        if let Some(r) = line.reserved {
            writeln!(
                out,
                "<p class=\"rule\">{}</p>",
                Esc(&sentence(&format!("{} {}", self.t("lot", "lot"), r.label(self.lang))))
            )?;
        }

        out.push_str("<dl class=\"specs\">\n");
        writeln!(
            out,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            self.t("Quantité demandée", "Quantity tendered"),
            self.qty_unit(line.quantity, &line.unit)
        )?;
        match &line.address {
            Some(address) => writeln!(out, "<div><dt>{}</dt><dd>{}</dd></div>", self.t("Site", "Site"), Esc(address))?,
            None => writeln!(
                out,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                self.t("Site (coordonnées GPS)", "Site (GPS coordinates)"),
                self.coordinates(line.site)
            )?,
        }
        write!(out, "<div><dt>{}</dt><dd>", self.t("Période", "Period"))?;
        match &line.window {
            Some(w) => out.push_str(&self.window(w.start, w.end)),
            None => write!(out, "<span class=\"muted\">{}</span>", self.t("non précisée", "not given"))?,
        }
        out.push_str("</dd></div>\n");
        write!(out, "<div><dt>{}</dt><dd>", self.t("Prix de référence HT", "Reference price excl. VAT"))?;
        match line.unit_price {
            Some(price) => write!(out, "{} / {}", self.money(price), Esc(&unit_display(&line.unit)))?,
            None => write!(out, "<span class=\"muted\">{}</span>", self.t("non chiffré", "not priced"))?,
        }
        out.push_str("</dd></div>\n");
        writeln!(out, "<div><dt>{}</dt><dd>{}</dd></div>", self.t("TVA", "VAT"), self.pct(line.vat_rate))?;
        if let Some(cpv) = &line.cpv {
            writeln!(out, "<div><dt>CPV</dt><dd>{}</dd></div>", Esc(cpv.as_str()))?;
        }
        // Said only when the line departs from the default (execution only).
        if line.participation.contains(&ParticipationMode::MiseADisposition) {
            let modes: Vec<&str> = line.participation.iter().map(|m| m.label(self.lang)).collect();
            writeln!(
                out,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                self.t("Participation admise", "Participation accepted"),
                Esc(&modes.join(" ; "))
            )?;
        }
        if let Some(c) = &line.clause {
            let mark = if c.gap > QUANTITY_EPSILON { "⚠\u{fe0e}" } else { "✓" };
            writeln!(
                out,
                "<div><dt>{}</dt><dd>{mark} {} {} / {} {}</dd></div>",
                self.t("Clause d'insertion", "Insertion clause"),
                self.qty_unit(c.projected, "h"),
                self.t("projetées", "projected"),
                self.qty_unit(c.target, "h"),
                self.t("visées", "targeted"),
            )?;
        }
        out.push_str("</dl>\n");

        if line.omitted {
            writeln!(
                out,
                "<p class=\"empty\">{}</p>",
                self.t(
                    "Ligne non offerte : le groupement ne la couvre qu'en partie et a choisi de ne pas la proposer.",
                    "Line not offered: the groupement covers it in part only and chose not to bid for it.",
                )
            )?;
        } else if line.lots.is_empty() {
            writeln!(
                out,
                "<p class=\"empty\">{}</p>",
                self.t("Aucun lot confirmé sur cette ligne.", "No confirmed lot on this line.")
            )?;
        } else {
            out.push_str("<div class=\"table-wrap\"><table class=\"lots\">\n<thead><tr>");
            write!(
                out,
                "<th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th>\
                 <th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th>",
                self.t("Structure", "Structure"),
                self.t("Quantité", "Quantity"),
                self.t("Part", "Share"),
                self.t("Distance", "Distance"),
                self.t("Prix HT / unité", "Price / unit"),
                self.t("Montant HT", "Amount excl. VAT"),
            )?;
            out.push_str("</tr></thead>\n<tbody>\n");
            for lot in &line.lots {
                self.lot_row(out, lot)?;
            }
            out.push_str("</tbody>\n");
            let share = if line.quantity > 0.0 { line.covered / line.quantity } else { 0.0 };
            // VAT and TTC on a row of their own, across the table: in the amount's cell they would widen
            // that column at the expense of the structures' names.
            let vat = match (line.vat, line.amount_incl_vat) {
                (Some(v), Some(ttc)) => format!(
                    "<tr class=\"vat\"><td colspan=\"6\" class=\"num\">{} {} · {} {}</td></tr>",
                    self.t("TVA", "VAT"),
                    self.money(v),
                    self.t("TTC", "incl. VAT"),
                    self.money(ttc)
                ),
                _ => String::new(),
            };
            writeln!(
                out,
                "<tfoot><tr><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td></td><td></td><td class=\"num\">{}</td></tr>{vat}</tfoot>",
                self.t("Total confirmé", "Total confirmed"),
                self.qty_unit(line.covered, &line.unit),
                self.pct(share),
                self.opt_money(line.amount),
            )?;
            out.push_str("</table></div>\n");
            if line.lots.iter().any(|l| l.price_basis == PriceBasis::Member) {
                writeln!(
                    out,
                    "<p class=\"note\">\u{2020} {}</p>",
                    self.t(
                        "prix du membre ; les autres lots sont au prix de référence de l'acheteur.",
                        "member's price; the other lots are at the buyer's reference price.",
                    )
                )?;
            }
        }
        self.coverage(out, line)?;
        out.push_str("</article>\n");
        Ok(())
    }

    fn lot_row(&self, out: &mut String, lot: &ProposalLot) -> fmt::Result {
        let lead = self.p.groupement.lead.as_deref() == Some(lot.supplier.as_str());
        write!(out, "<tr><td><span class=\"member-name\">{}</span>", Esc(&lot.supplier_name))?;
        if lead {
            write!(out, " <span class=\"tag lead\">{}</span>", self.t("Mandataire", "Lead"))?;
        }
        if lot.participation == ParticipationMode::MiseADisposition {
            // An AI, ETTI, EATT or GEIQ places its employees with the user: it does not carry out the lot.
            write!(out, " <span class=\"tag\">{}</span>", self.t("mise à disposition", "placement"))?;
        }
        if lot.commitment.answer == Acceptance::Part {
            write!(
                out,
                "<span class=\"sub\">{} {}</span>",
                self.t("accepté en partie sur", "accepted in part of"),
                self.qty_unit(lot.commitment.offered, &lot.unit)
            )?;
        }
        let price = match (lot.unit_price, lot.price_basis) {
            (Some(p), PriceBasis::Member) => format!(
                "{}<span class=\"mark\" title=\"{}\">\u{2020}</span>",
                self.money(p),
                self.t("prix du membre", "member's price")
            ),
            // The line's reference price is stated with the line: only a member's own price is marked,
            // so that a row stays one line high in a bid of thousands of lots.
            (Some(p), _) => self.money(p),
            (None, _) => "<span class=\"muted\">—</span>".into(),
        };
        writeln!(
            out,
            "</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{} km</td><td class=\"num\">{price}</td><td class=\"num\">{}</td></tr>",
            self.qty_unit(lot.quantity, &lot.unit),
            self.pct(lot.share_of_line),
            format_number(lot.distance_km, 1, self.lang),
            self.opt_money(lot.amount),
        )
    }

    fn coverage(&self, out: &mut String, line: &ProposalLine) -> fmt::Result {
        let q = line.quantity.max(QUANTITY_EPSILON);
        let width = |v: f64| format_number((v / q * 100.0).clamp(0.0, 100.0), 2, Lang::En);
        out.push_str("<div class=\"cover\">");
        write!(
            out,
            "<div class=\"bar\" role=\"img\" aria-label=\"{}\"><span class=\"c\" style=\"width:{}%\"></span>\
             <span class=\"p\" style=\"width:{}%\"></span></div>",
            self.t("couverture de la ligne", "line coverage"),
            width(line.covered),
            width(line.pending),
        )?;
        out.push_str("<div class=\"legend\">");
        write!(
            out,
            "<span class=\"c\">{} {} ({})</span>",
            self.t("Couvert", "Covered"),
            self.qty_unit(line.covered, &line.unit),
            self.pct(line.covered / q)
        )?;
        if line.pending > QUANTITY_EPSILON {
            write!(
                out,
                "<span class=\"p\">{} {}</span>",
                self.t("En attente", "Pending"),
                self.qty_unit(line.pending, &line.unit)
            )?;
        }
        let has = if line.uncovered > QUANTITY_EPSILON { " has" } else { "" };
        write!(
            out,
            "<span class=\"u{has}\">{} {}</span>",
            self.t("Non couvert", "Uncovered"),
            self.qty_unit(line.uncovered, &line.unit)
        )?;
        out.push_str("</div></div>\n");
        Ok(())
    }

    fn shortfall(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        self.section(out, "shortfall", 3, "Ce qui n'est pas couvert", "What is not covered")?;
        if p.shortfall.is_empty() {
            writeln!(
                out,
                "<p class=\"all-covered\">{}</p>",
                self.t(
                    "Tout est couvert : chaque ligne de la consultation est entièrement attribuée aux membres du groupement.",
                    "Everything is covered: every line of the tender is fully allocated to members of the groupement."
                )
            )?;
            out.push_str("</section>\n");
            return Ok(());
        }
        let mut by_unit: BTreeMap<&str, f64> = BTreeMap::new();
        for s in &p.shortfall {
            *by_unit.entry(s.unit.as_str()).or_default() += s.quantity;
        }
        let total: Vec<String> = by_unit.iter().map(|(u, q)| self.qty_unit(*q, u)).collect();
        let total = total.join(self.t(" et ", " and "));
        let n = p.shortfall.len();
        out.push_str("<div class=\"shortfall\">\n");
        let intro = match (self.lang, n) {
            (Lang::Fr, 1) => {
                format!("1 ligne n'est pas entièrement couverte : {total} restent sans titulaire dans ce groupement.")
            }
            (Lang::Fr, _) => format!(
                "{n} lignes ne sont pas entièrement couvertes : {total} restent sans titulaire dans ce groupement."
            ),
            (Lang::En, 1) => format!("1 line is not fully covered: {total} have no taker in this groupement."),
            (Lang::En, _) => format!("{n} lines are not fully covered: {total} have no taker in this groupement."),
        };
        writeln!(out, "<p class=\"lead-in\">{intro}</p>")?;
        out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
        write!(
            out,
            "<th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th>{}</th>",
            self.t("Ligne", "Line"),
            self.t("Non couvert", "Not covered"),
            self.t("dont en attente", "of which pending"),
            self.t("Raison", "Reason"),
        )?;
        out.push_str("</tr></thead>\n<tbody>\n");
        for s in &p.shortfall {
            let line = p.lines.iter().find(|l| l.id == s.line);
            write!(out, "<tr><td><strong>{}</strong>", Esc(&s.line))?;
            if let Some(title) = line.and_then(|l| l.title.as_deref()) {
                write!(out, "<span class=\"sub\">{}</span>", Esc(title))?;
            }
            let of_line = line.filter(|l| l.quantity > 0.0).map(|l| s.quantity / l.quantity);
            write!(out, "</td><td class=\"num\">{}", self.qty_unit(s.quantity, &s.unit))?;
            if let Some(share) = of_line {
                write!(out, "<span class=\"sub\">{} {}</span>", self.pct(share), self.t("de la ligne", "of the line"))?;
            }
            out.push_str("</td>");
            if s.pending > QUANTITY_EPSILON {
                write!(out, "<td class=\"num\">{}</td>", self.qty_unit(s.pending, &s.unit))?;
            } else {
                out.push_str("<td class=\"num muted\">—</td>");
            }
            writeln!(out, "<td>{}</td></tr>", Esc(&sentence(&s.reason)))?;
        }
        out.push_str("</tbody>\n</table></div>\n");
        writeln!(
            out,
            "<p class=\"note\">{}</p>",
            self.t(
                "Ces quantités ne font pas partie de l'offre du groupement ; l'acheteur peut les attribuer autrement.",
                "These quantities are not part of the groupement's bid; the buyer may award them otherwise."
            )
        )?;
        out.push_str("</div>\n</section>\n");
        Ok(())
    }

    fn totals(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        let t = &p.totals;
        self.section(out, "totals", 5, "Totaux", "Totals")?;
        out.push_str("<div class=\"totals\">\n<div class=\"amount-box\">");
        write!(out, "<div class=\"k\">{}</div>", self.t("Montant total HT", "Total amount excl. VAT"))?;
        match t.amount {
            Some(a) => write!(out, "<div class=\"v\">{}</div>", self.money(a))?,
            None => write!(out, "<div class=\"v\">—</div>")?,
        }
        if let (Some(vat), Some(ttc)) = (t.vat, t.amount_incl_vat) {
            write!(
                out,
                "<div class=\"sub\">{} {} · <strong>{} {}</strong></div>",
                self.t("TVA", "VAT"),
                self.money(vat),
                self.t("TTC", "incl. VAT"),
                self.money(ttc)
            )?;
        }
        let member_priced = self.p.lots().any(|l| l.price_basis == PriceBasis::Member);
        let sub = match (t.amount, t.fully_priced, member_priced) {
            (None, _, _) => self
                .t("Aucun lot n'a de prix (ni du membre, ni de référence).", "No lot has a price (neither the member's nor a reference one).")
                .to_string(),
            (Some(_), true, true) => self.t(
                "Hors TVA ; chaque lot au prix de son membre, sinon au prix de référence de la ligne (indiqué par lot).",
                "Excluding VAT; each lot at its member's price, else at the line's reference price (shown per lot).",
            ).to_string(),
            (Some(_), true, false) => self.t("Hors TVA, aux prix de référence de la consultation.", "Excluding VAT, at the tender's reference prices.").to_string(),
            (Some(_), false, _) => self
                .t(
                    "Hors TVA ; ne couvre que les lots chiffrés (certains lots n'ont ni prix du membre ni prix de référence).",
                    "Excluding VAT; covers only the priced lots (some lots have neither a member's nor a reference price).",
                )
                .to_string(),
        };
        write!(out, "<div class=\"sub\">{sub}</div>")?;
        write!(
            out,
            "<div class=\"sub\">{} {} · {} {}</div>",
            t.lots,
            self.t("micro-lots", "micro-lots"),
            t.members,
            self.t("structures titulaires", "structures holding lots")
        )?;
        out.push_str("</div>\n");

        out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
        write!(
            out,
            "<th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th>\
             <th class=\"num\" style=\"width:34%\">{}</th>",
            self.t("Unité", "Unit"),
            self.t("Demandé", "Tendered"),
            self.t("Couvert", "Covered"),
            self.t("Couverture", "Coverage"),
        )?;
        out.push_str("</tr></thead>\n<tbody>\n");
        for (unit, c) in &t.coverage_by_unit {
            let width = format_number((c.share * 100.0).clamp(0.0, 100.0), 2, Lang::En);
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}\
                 <div class=\"bar\"><span class=\"c\" style=\"width:{width}%\"></span></div></td></tr>",
                Esc(&self.unit_name(unit)),
                self.qty(c.tendered),
                self.qty(c.covered),
                self.pct(c.share),
            )?;
        }
        out.push_str("</tbody>\n</table></div>\n</div>\n</section>\n");
        Ok(())
    }

    fn impact(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        self.section(out, "impact", 6, "Impact social", "Social impact")?;
        writeln!(
            out,
            "<p class=\"muted small lead-in\">{}</p>",
            self.t(
                "Calculé à partir des seuls micro-lots confirmés ci-dessus ; chaque chiffre indique sa méthode.",
                "Computed from the confirmed micro-lots above only; each figure states how."
            )
        )?;
        out.push_str("<div class=\"cards\">\n");
        for f in &p.impact.explained {
            writeln!(
                out,
                "<div class=\"card\" data-key=\"{}\"><div class=\"v{}\">{}</div>\
                 <div class=\"l\">{}</div><div class=\"x\">{}</div></div>",
                Esc(&f.key),
                // A long display (`3 structures : 2 SIAE, 1 ESAT`) in a smaller size, to stay on one line.
                if f.display.chars().count() > 14 { " long" } else { "" },
                Esc(&f.display),
                Esc(&f.label),
                Esc(&f.explanation)
            )?;
        }
        out.push_str("</div>\n");
        self.clauses(out)?;
        self.oeth(out)?;
        self.reservations(out)?;
        out.push_str("</section>\n");
        Ok(())
    }

    /// The tender's social clauses against the hours the lots bring, line by line and in total.
    fn clauses(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        let lines: Vec<&ProposalLine> = p.lines.iter().filter(|l| l.clause.is_some()).collect();
        if lines.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "<h3 class=\"sub-title\">{}</h3>",
            self.t("Clauses sociales d'insertion", "Social insertion clauses")
        )?;
        out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
        write!(
            out,
            "<th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th>",
            self.t("Ligne", "Line"),
            self.t("Heures visées", "Hours targeted"),
            self.t("Heures projetées", "Hours projected"),
            self.t("Écart", "Gap"),
        )?;
        out.push_str("</tr></thead>\n<tbody>\n");
        for line in lines {
            let Some(c) = &line.clause else { continue };
            writeln!(
                out,
                "<tr><td><strong>{}</strong>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                Esc(&line.id),
                line.title.as_deref().map(|t| format!("<span class=\"sub\">{}</span>", Esc(t))).unwrap_or_default(),
                self.qty_unit(c.target, "h"),
                self.qty_unit(c.projected, "h"),
                if c.gap > QUANTITY_EPSILON { self.qty_unit(c.gap, "h") } else { "✓".to_owned() },
            )?;
        }
        writeln!(
            out,
            "</tbody>\n<tfoot><tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></tfoot>\n</table></div>",
            self.t("Total", "Total"),
            self.qty_unit(p.clauses.target, "h"),
            self.qty_unit(p.clauses.projected, "h"),
            if p.clauses.gap > QUANTITY_EPSILON { self.qty_unit(p.clauses.gap, "h") } else { "✓".to_owned() },
        )?;
        writeln!(
            out,
            "<p class=\"note\">{}</p>",
            self.t(
                "Estimation : heures des lots × taux d'insertion de chaque structure (le sien, sinon celui de sa catégorie). Les heures sous-traitées à une SIAE ou à un ESAT/EA et celles mises à disposition par un GEIQ comptent pour la clause ; le réalisé se justifie en cours d'exécution.",
                "Estimate: hours of the lots × each structure's insertion rate (its own, else its kind's). Hours subcontracted to an SIAE or an ESAT/EA and those placed by a GEIQ count toward the clause; what is achieved is evidenced during the contract.",
            )
        )
    }

    /// The OETH deduction estimate, with its basis in words.
    fn oeth(&self, out: &mut String) -> fmt::Result {
        let Some(o) = &self.p.oeth else { return Ok(()) };
        out.push_str("<div class=\"oeth\">\n");
        writeln!(
            out,
            "<h3>{}</h3>",
            self.t(
                "Obligation d'emploi des travailleurs handicapés (OETH) : déduction estimée",
                "Disability-employment obligation (OETH): estimated deduction"
            )
        )?;
        let shares: Vec<String> = o
            .labour_share
            .iter()
            .map(|(sector, share)| format!("{} {}", Esc(&sector_display(sector)), self.pct(*share)))
            .collect();
        out.push_str("<dl>\n");
        writeln!(
            out,
            "<dt>{}</dt><dd>{} ({} {})</dd>",
            self.t("Achats auprès d'EA, EATT, ESAT, TIH", "Purchases from EA, EATT, ESAT, TIH"),
            self.money(o.amount),
            o.lots,
            self.t("lots, HT", "lots, excl. VAT"),
        )?;
        writeln!(
            out,
            "<dt>{}</dt><dd>{} <span class=\"muted\">({})</span></dd>",
            self.t("Coût de la main-d'œuvre", "Labour cost"),
            self.money(o.labour_cost),
            shares.join(", "),
        )?;
        writeln!(
            out,
            "<dt>{}</dt><dd>{}</dd>",
            self.t("Déductible (30 %)", "Deductible (30%)"),
            self.money(o.deductible)
        )?;
        if let (Some(contribution), Some(cap), Some(capped)) = (o.contribution, o.cap, o.deductible_capped) {
            writeln!(
                out,
                "<dt>{}</dt><dd>{} × {} = {}</dd><dt>{}</dt><dd>{}</dd>",
                self.t("Plafond", "Cap"),
                self.money(contribution),
                self.pct(o.cap_share),
                self.money(cap),
                self.t("Déduction estimée", "Estimated deduction"),
                self.money(capped),
            )?;
        }
        out.push_str("</dl>\n");
        let fund = match o.fund.as_deref() {
            Some("FIPHFP") => self.t(
                "L'acheteur, employeur public, déclare au FIPHFP.",
                "The buyer, a public employer, declares to the FIPHFP.",
            ),
            Some("AGEFIPH") => self.t(
                "L'acheteur, employeur privé, déclare à l'AGEFIPH (par la DSN).",
                "The buyer, a private employer, declares to the AGEFIPH (through the DSN).",
            ),
            _ => self.t(
                "La contribution d'un employeur public va au FIPHFP, celle d'un employeur privé à l'AGEFIPH (déclarée par la DSN).",
                "A public employer's contribution goes to the FIPHFP, a private one's to the AGEFIPH (declared through the DSN).",
            ),
        };
        writeln!(
            out,
            "<p class=\"note\">{} {fund} {}</p>",
            self.t(
                "Depuis 2020, l'acheteur peut déduire de sa contribution OETH 30 % du coût de la main-d'œuvre des achats auprès d'entreprises adaptées, d'ESAT et de travailleurs indépendants handicapés (art. L5212-10-1 du code du travail), dans la limite de 50 % de sa contribution, ou de 75 % si son taux d'emploi direct de travailleurs handicapés atteint 3 %. Part de main-d'œuvre du prix par secteur : paramètre de la configuration.",
                "Since 2020 a buyer may deduct from its OETH contribution 30% of the labour cost of what it buys from sheltered and adapted enterprises and disabled self-employed workers (art. L5212-10-1 of the French labour code), up to 50% of its contribution, or 75% when its direct employment rate of disabled workers reaches 3%. Labour share of the price per sector: a configuration setting.",
            ),
            if o.contribution.is_none() {
                self.t(
                    "La contribution de l'acheteur n'étant pas connue, le plafond n'est pas appliqué.",
                    "The buyer's contribution is not known: the cap is not applied.",
                )
            } else {
                ""
            }
        )?;
        out.push_str("</div>\n");
        Ok(())
    }

    /// Each reserved line with the article that allows the reservation.
    fn reservations(&self, out: &mut String) -> fmt::Result {
        let reserved: Vec<&ProposalLine> = self.p.lines.iter().filter(|l| l.reserved.is_some()).collect();
        if reserved.is_empty() {
            return Ok(());
        }
        writeln!(out, "<h3 class=\"sub-title\">{}</h3>", self.t("Lots réservés", "Reserved lots"))?;
        out.push_str("<ul class=\"small\">\n");
        for line in reserved {
            let Some(r) = line.reserved else { continue };
            let holders: Vec<String> = {
                let mut names: Vec<&str> = line.lots.iter().map(|l| l.supplier_name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                names.into_iter().map(|n| Esc(n).to_string()).collect()
            };
            writeln!(
                out,
                "<li><strong>{}</strong> — {}{}</li>",
                Esc(&line.id),
                Esc(&r.label(self.lang)),
                if holders.is_empty() { String::new() } else { format!(" : {}", holders.join(", ")) },
            )?;
        }
        out.push_str("</ul>\n");
        Ok(())
    }

    fn commitments(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        let c = &p.campaign;
        self.section(out, "commitments", 7, "Engagements des membres", "Members' commitments")?;
        let rounds = match (self.lang, c.rounds) {
            (Lang::Fr, 1) => "1 tour d'offres".to_string(),
            (Lang::Fr, n) => format!("{n} tours d'offres"),
            (Lang::En, 1) => "1 round of offers".to_string(),
            (Lang::En, n) => format!("{n} rounds of offers"),
        };
        let mut intro = match self.lang {
            Lang::Fr => format!(
                "Chaque lot a été confirmé par la structure elle-même. Campagne lancée le {}, {rounds}",
                self.date_time(c.launched_at)
            ),
            Lang::En => format!(
                "Every lot was confirmed by the structure itself. Campaign launched on {}, {rounds}",
                self.date_time(c.launched_at)
            ),
        };
        match (c.ready_at, c.ready_cause) {
            (Some(at), cause) => {
                let why = match cause {
                    Some(ReadyCause::AllAnswered) => {
                        self.t(" : toutes les offres ont reçu une réponse", ": every offer was answered")
                    }
                    Some(ReadyCause::DeadlinePassed) => self.t(
                        " : échéance atteinte, les offres sans réponse ont été retirées",
                        ": deadline reached, unanswered offers were withdrawn",
                    ),
                    Some(ReadyCause::Closed) => self.t(
                        " par le facilitateur, les offres sans réponse ont été retirées",
                        " by the facilitator, unanswered offers were withdrawn",
                    ),
                    None => "",
                };
                let _ = write!(intro, "{} {}{why}.", self.t(", close le", ", closed on"), self.date_time(at));
            }
            (None, _) => {
                let _ = write!(intro, "{}.", self.t(", toujours en cours", ", still running"));
            }
        }
        writeln!(out, "<p class=\"muted small lead-in\">{intro}</p>")?;

        let lots: Vec<&ProposalLot> = p.lots().collect();
        if lots.is_empty() {
            writeln!(
                out,
                "<p class=\"empty\">{}</p>",
                self.t("Aucun engagement pour l'instant.", "No commitment yet.")
            )?;
            out.push_str("</section>\n");
            return Ok(());
        }
        out.push_str("<div class=\"table-wrap\"><table class=\"evidence\">\n<thead><tr>");
        write!(
            out,
            "<th>{}</th><th>{}</th><th>{}</th><th>{}</th>",
            self.t("Structure", "Structure"),
            self.t("Lots confirmés (ligne, offre n°)", "Lots confirmed (line, offer no.)"),
            self.t("Confirmé le", "Confirmed"),
            self.t("Confirmé par", "Confirmed by"),
        )?;
        out.push_str("</tr></thead>\n<tbody>\n");
        // One row per member: its lots, when and by whom they were confirmed. Each lot's own time stamp and
        // answer are in the JSON, the OCDS package and the spreadsheet.
        for m in &p.members {
            let own: Vec<&ProposalLot> = lots.iter().copied().filter(|l| l.supplier == m.siret).collect();
            if own.is_empty() {
                continue;
            }
            let listed: Vec<String> = own
                .iter()
                .map(|l| {
                    let part = if l.commitment.answer == Acceptance::Part {
                        format!(
                            " <span class=\"muted\">({} {} {} {})</span>",
                            self.t("en partie :", "in part:"),
                            self.qty_unit(l.quantity, &l.unit),
                            self.t("sur", "of"),
                            self.qty_unit(l.commitment.offered, &l.unit)
                        )
                    } else {
                        String::new()
                    };
                    format!("<span class=\"nowrap\">{} n°\u{a0}{}</span>{part}", Esc(&l.line), l.offer)
                })
                .collect();
            let first = own.iter().map(|l| l.commitment.confirmed_at).min().unwrap_or(p.generated_at);
            let last = own.iter().map(|l| l.commitment.confirmed_at).max().unwrap_or(first);
            let when = if self.short_date_time(first) == self.short_date_time(last) {
                self.short_date_time(first)
            } else {
                format!("{} – {}", self.short_date_time(first), self.short_date_time(last))
            };
            let mut people: Vec<String> = Vec::new();
            for l in &own {
                let who = match &l.commitment.confirmed_by {
                    Some(name) => format!("{} · {}", Esc(name), Esc(&self.channel(&l.commitment.channel))),
                    None => format!(
                        "{} · {}",
                        self.t("nom inconnu", "name unknown"),
                        Esc(&self.channel(&l.commitment.channel))
                    ),
                };
                if !people.contains(&who) {
                    people.push(who);
                }
            }
            writeln!(
                out,
                "<tr><td><span class=\"member-name\">{}</span></td><td>{}</td><td class=\"nowrap\">{when}</td>\
                 <td>{}</td></tr>",
                Esc(&m.name),
                listed.join(", "),
                people.join("<br>"),
            )?;
        }
        out.push_str("</tbody>\n</table></div>\n");
        writeln!(
            out,
            "<p class=\"note\">{}</p>",
            self.t(
                "Ces confirmations, horodatées, ont été données depuis le compte de messagerie relié à chaque structure par une invitation à usage unique ; elles sont la base de la convention de groupement à signer entre les membres et le mandataire (section 8).",
                "These time-stamped confirmations were given from the chat account linked to each structure by a one-time invitation; they are the basis of the groupement agreement the members and the lead sign (section 8)."
            )
        )?;
        out.push_str("</section>\n");
        Ok(())
    }

    fn footer(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        out.push_str("<footer class=\"doc-foot\">\n<div>");
        match self.lang {
            Lang::Fr => write!(
                out,
                "Document généré par <strong>essaim</strong> le {}. Tous les chiffres peuvent être recalculés à partir \
                 des micro-lots ; la même proposition est disponible en JSON et en OCDS.",
                self.date_time(p.generated_at)
            )?,
            Lang::En => write!(
                out,
                "Generated by <strong>essaim</strong> on {}. Every figure can be recomputed from the micro-lots; the \
                 same proposal is available as JSON and OCDS.",
                self.date_time(p.generated_at)
            )?,
        }
        write!(
            out,
            "</div>\n<div class=\"nowrap\">{} · {} {}</div>\n</footer>\n",
            Esc(&p.tender.reference),
            self.t("format", "format"),
            p.format_version
        )
    }

    /// « Répartition des prestations »: who does what, for how much, which share of the bid — what a
    /// mandataire copies into the buyer's forms (DC1/DC2: each member's part of the services).
    fn repartition(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        self.section(out, "repartition", 4, "Répartition des prestations", "Allocation of the services")?;
        if p.repartition.is_empty() {
            writeln!(out, "<p class=\"empty\">{}</p>", self.t("Aucun lot confirmé.", "No confirmed lot."))?;
            out.push_str("</section>\n");
            return Ok(());
        }
        out.push_str("<div class=\"table-wrap\"><table class=\"repartition\">\n<thead><tr>");
        write!(
            out,
            "<th>{}</th><th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th>",
            self.t("Membre", "Member"),
            self.t("Prestations (ligne : quantité · montant HT)", "Services (line: quantity · amount excl. VAT)"),
            self.t("Montant HT", "Amount excl. VAT"),
            self.t("Part de l'offre*", "Share of the bid*"),
        )?;
        out.push_str("</tr></thead>\n<tbody>\n");
        // One row per member, in the order of the members table, its lines in the order of the tender: the
        // shape of a candidature form's « répartition des prestations ».
        for m in &p.members {
            let rows: Vec<&super::RepartitionRow> = p.repartition.iter().filter(|r| r.siret == m.siret).collect();
            if rows.is_empty() {
                continue;
            }
            let services: Vec<String> = rows
                .iter()
                .map(|r| {
                    let amount = r.amount.map(|a| format!(" · {}", self.money(a))).unwrap_or_default();
                    format!(
                        "<span class=\"nowrap\"><strong>{}</strong> {}{amount}</span>",
                        Esc(&r.line),
                        self.qty_unit(r.quantity, &r.unit)
                    )
                })
                .collect();
            let amount =
                rows.iter().all(|r| r.amount.is_some()).then(|| rows.iter().filter_map(|r| r.amount).sum::<f64>());
            let share: Option<f64> = rows.iter().map(|r| r.share_of_bid).sum();
            writeln!(
                out,
                "<tr><td><span class=\"member-name\">{}</span><span class=\"sub\">SIRET {}</span></td><td>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                Esc(&m.name),
                Esc(&siret_display(&m.siret)),
                services.join(" ; "),
                self.opt_money(amount.map(super::round_money)),
                share.map_or_else(|| "<span class=\"muted\">—</span>".to_owned(), |s| self.pct(s)),
            )?;
        }
        out.push_str("</tbody>\n");
        if let Some(total) = p.totals.amount {
            writeln!(
                out,
                "<tfoot><tr><td colspan=\"2\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></tfoot>",
                self.t("Total HT", "Total excl. VAT"),
                self.money(total),
                if p.totals.share_basis == ShareBasis::Unavailable { "—".to_owned() } else { self.pct(1.0) },
            )?;
        }
        out.push_str("</table></div>\n");
        let basis = match p.totals.share_basis {
            ShareBasis::Amount => self.t("* base : montant HT.", "* basis: amount excluding VAT."),
            ShareBasis::Quantity => self.t("* base : quantité.", "* basis: quantity."),
            ShareBasis::Unavailable => self.t("* parts non calculables.", "* shares cannot be computed."),
        };
        writeln!(out, "<p class=\"note\">{basis}</p>")?;
        out.push_str("</section>\n");
        Ok(())
    }

    /// The mandate and the members' signatures (the groupement agreement the candidature forms ask for).
    fn mandate(&self, out: &mut String) -> fmt::Result {
        let p = self.p;
        let g = &p.groupement;
        self.section(out, "mandate", 8, "Mandat et signatures", "Mandate and signatures")?;
        let lead = p.lead().map(|m| Esc(&m.name).to_string());
        let text = match (self.lang, &lead) {
            (Lang::Fr, Some(lead)) => format!(
                "Les membres ci-dessous se présentent en {} (art. R2142-20 du code de la commande publique) et désignent {lead} comme mandataire : il les représente auprès de l'acheteur et coordonne les prestations{} (art. R2142-24). Chaque membre s'engage sur les lots qu'il a confirmés, aux quantités et prix indiqués, pendant la durée de validité de l'offre ({} jours).",
                self.form(),
                if g.mandataire_solidaire && g.kind == GroupementKind::Conjoint {
                    ", et il est solidaire de chacun des membres pour l'exécution du marché"
                } else {
                    ""
                },
                p.validity_days
            ),
            (Lang::En, Some(lead)) => format!(
                "The members below bid as a {} (art. R2142-20 of the French public procurement code) and name {lead} as their lead (mandataire): it represents them to the buyer and coordinates the services{} (art. R2142-24). Each member commits to the lots it confirmed, at the quantities and prices shown, for the offer's validity ({} days).",
                self.form(),
                if g.mandataire_solidaire && g.kind == GroupementKind::Conjoint {
                    ", and is jointly liable with each member for carrying out the contract"
                } else {
                    ""
                },
                p.validity_days
            ),
            (Lang::Fr, None) => {
                "Le mandataire doit être désigné avant signature (art. R2142-24 du code de la commande publique)."
                    .to_owned()
            }
            (Lang::En, None) => {
                "The lead must be named before signature (art. R2142-24 of the French public procurement code)."
                    .to_owned()
            }
        };
        writeln!(out, "<p class=\"lead-in\">{text}</p>")?;
        out.push_str("<div class=\"signatures\">\n");
        for m in &p.members {
            write!(out, "<div class=\"signature\"><div class=\"member-name\">{}", Esc(&m.name))?;
            if m.lead {
                write!(out, " <span class=\"tag lead\">{}</span>", self.t("Mandataire", "Lead"))?;
            }
            writeln!(
                out,
                "</div><div class=\"sub\">SIRET {} · {}</div>\
                 <div class=\"field\">{}</div><div class=\"field\">{}</div><div class=\"field sign\">{}</div></div>",
                Esc(&siret_display(&m.siret)),
                Esc(m.kind.code()),
                self.t("Nom et qualité du signataire", "Name and capacity of the signatory"),
                self.t("Date", "Date"),
                self.t("Signature", "Signature"),
            )?;
        }
        out.push_str("</div>\n</section>\n");
        Ok(())
    }

    /// The groupement's form in words: conjoint or solidaire, and a conjoint groupement's jointly liable
    /// mandataire (R2142-24).
    fn form(&self) -> String {
        let g = &self.p.groupement;
        let mut form = Esc(g.kind.label(self.lang)).to_string();
        if g.mandataire_solidaire && g.kind == GroupementKind::Conjoint {
            form.push_str(self.t(" avec mandataire solidaire", " with a jointly liable lead"));
        }
        form
    }

    /// A member's address and commune, escaped, when the directory gives them.
    fn place(&self, m: &Member) -> Option<String> {
        match (&m.address, &m.commune) {
            (Some(a), Some(c)) => Some(format!("{}, {}", Esc(a), Esc(c))),
            (Some(a), None) => Some(Esc(a).to_string()),
            (None, Some(c)) => Some(Esc(c).to_string()),
            (None, None) => None,
        }
    }

    // ---- formatting ----

    fn qty(&self, value: f64) -> String {
        format_quantity(value, self.lang)
    }

    /// `1 000 h`, `12,5 kg`, `300 m²` (the unit escaped; a no-break space before it).
    fn qty_unit(&self, value: f64, unit: &str) -> String {
        format!("{}\u{a0}{}", self.qty(value), Esc(&unit_display(unit)))
    }

    /// `12 345,00 €` in French, `€12,345.00` in English.
    fn money(&self, value: f64) -> String {
        let n = format_number(value, 2, self.lang);
        match (self.p.totals.currency, self.lang) {
            (Currency::Eur, Lang::Fr) => format!("{n}\u{a0}€"),
            (Currency::Eur, Lang::En) => match n.strip_prefix('-') {
                Some(abs) => format!("-€{abs}"),
                None => format!("€{n}"),
            },
        }
    }

    fn opt_money(&self, value: Option<f64>) -> String {
        match value {
            Some(v) => self.money(v),
            None => "<span class=\"muted\">—</span>".into(),
        }
    }

    /// A 0–1 share as a percentage: `70 %` in French, `70%` in English; one decimal when not whole.
    fn pct(&self, share: f64) -> String {
        let v = share * 100.0;
        let decimals = if (v - v.round()).abs() < 0.05 { 0 } else { 1 };
        let n = format_number(v, decimals, self.lang);
        match self.lang {
            Lang::Fr => format!("{n}\u{202f}%"),
            Lang::En => format!("{n}%"),
        }
    }

    fn coordinates(&self, point: crate::GeoPoint) -> String {
        let (ns, ew) = match self.lang {
            Lang::Fr => (if point.lat < 0.0 { "S" } else { "N" }, if point.lon < 0.0 { "O" } else { "E" }),
            Lang::En => (if point.lat < 0.0 { "S" } else { "N" }, if point.lon < 0.0 { "W" } else { "E" }),
        };
        format!(
            "<span class=\"nowrap\">{}°\u{a0}{ns},</span> <span class=\"nowrap\">{}°\u{a0}{ew}</span>",
            format_number(point.lat.abs(), 4, self.lang),
            format_number(point.lon.abs(), 4, self.lang)
        )
    }

    fn month(&self, month: u32, short: bool) -> &'static str {
        const FR: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        const FR_SHORT: [&str; 12] =
            ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const EN_SHORT: [&str; 12] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let i = (month.clamp(1, 12) - 1) as usize;
        match (self.lang, short) {
            (Lang::Fr, false) => FR[i],
            (Lang::Fr, true) => FR_SHORT[i],
            (Lang::En, false) => EN[i],
            (Lang::En, true) => EN_SHORT[i],
        }
    }

    /// `1er mars 2027`, `2 décembre 2026`; `1 March 2027`.
    fn date(&self, date: NaiveDate) -> String {
        let day = match (self.lang, date.day()) {
            (Lang::Fr, 1) => "1er".to_string(),
            (_, d) => d.to_string(),
        };
        format!("{day}\u{a0}{}\u{a0}{}", self.month(date.month(), false), date.year())
    }

    /// `2 décembre 2026, 17:20 (heure de Paris)`: in the campaign's time zone.
    fn date_time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.tz);
        format!(
            "{}, {:02}:{:02}\u{a0}({})",
            self.date(local.date_naive()),
            local.hour(),
            local.minute(),
            self.zone_name()
        )
    }

    /// `1 déc. 2026, 11:12` in the campaign's time zone (the page says which once, in the header).
    fn short_date_time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.tz);
        format!(
            "{}\u{a0}{}\u{a0}{}, {:02}:{:02}",
            local.day(),
            self.month(local.month(), true),
            local.year(),
            local.hour(),
            local.minute()
        )
    }

    /// `heure de Paris` for Europe/Paris, else the zone's name.
    fn zone_name(&self) -> String {
        match (self.tz, self.lang) {
            (chrono_tz::Europe::Paris, Lang::Fr) => "heure de Paris".to_owned(),
            (chrono_tz::Europe::Paris, Lang::En) => "Paris time".to_owned(),
            (tz, _) => tz.name().to_owned(),
        }
    }

    /// The deadline in the offset the buyer published it with: `15 décembre 2026, 18:00 (UTC+01:00)`.
    fn deadline(&self, at: &DateTime<FixedOffset>) -> String {
        let seconds = at.offset().fix().local_minus_utc();
        let offset = if seconds == 0 {
            "UTC".to_string()
        } else {
            let sign = if seconds < 0 { '−' } else { '+' };
            let s = seconds.abs();
            format!("UTC{sign}{:02}:{:02}", s / 3600, (s % 3600) / 60)
        };
        let local = at.offset().from_utc_datetime(&at.naive_utc());
        let when = match self.lang {
            Lang::Fr => "à",
            Lang::En => "at",
        };
        format!(
            "{} {when} {:02}:{:02}<span class=\"sub\">{offset}</span>",
            self.date(local.date_naive()),
            local.hour(),
            local.minute()
        )
    }

    /// `du 1er mars au 31 octobre 2027`; `1 March – 31 October 2027`.
    fn window(&self, start: NaiveDate, end: NaiveDate) -> String {
        let short = |d: NaiveDate| match (self.lang, d.day()) {
            (Lang::Fr, 1) => format!("1er\u{a0}{}", self.month(d.month(), false)),
            (_, day) => format!("{day}\u{a0}{}", self.month(d.month(), false)),
        };
        let first = if start.year() == end.year() { short(start) } else { self.date(start) };
        match self.lang {
            Lang::Fr => format!("du {first} au {}", self.date(end)),
            Lang::En => format!("{first} – {}", self.date(end)),
        }
    }

    /// A unit as a word where it has one: `h` → `heures (h)`.
    fn unit_name(&self, unit: &str) -> String {
        if unit.trim().eq_ignore_ascii_case("h") {
            format!("{} (h)", self.t("heures", "hours"))
        } else {
            unit_display(unit)
        }
    }

    fn channel(&self, channel: &str) -> String {
        match channel {
            "telegram" => "Telegram".into(),
            "discord" => "Discord".into(),
            "cli" => self.t("Ligne de commande", "Command line").into(),
            "demo" => self.t("Démonstration", "Demo").into(),
            "scheduler" => self.t("Automatique", "Automatic").into(),
            other => other.into(),
        }
    }
}

/// `123 456 789 00012` (no-break spaces); anything that is not 14 digits as it is.
fn siret_display(siret: &str) -> String {
    if siret.len() == 14 && siret.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}\u{a0}{}\u{a0}{}\u{a0}{}", &siret[0..3], &siret[3..6], &siret[6..9], &siret[9..14])
    } else {
        siret.to_owned()
    }
}

/// `espaces_verts` → `espaces verts`.
fn sector_display(sector: &str) -> String {
    sector.replace('_', " ")
}

/// `m2` → `m²`, `m3` → `m³`; other units as they are.
fn unit_display(unit: &str) -> String {
    match unit {
        "m2" => "m²".into(),
        "m3" => "m³".into(),
        other => other.into(),
    }
}

/// A reason as a sentence: capital first letter.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proposal::GroupementKind;
    use crate::proposal::example::{self, example, inputs};

    fn fr() -> Proposal {
        example(Lang::Fr).expect("the example builds")
    }

    #[test]
    fn escape_drops_bidirectional_controls_from_data() {
        assert_eq!(escape("\u{202e}ENIAL\u{202c} Intérim\u{2066} Passerelle"), "ENIAL Intérim Passerelle");
        assert_eq!(escape("Atelier d'Élise <b>"), "Atelier d&#39;Élise &lt;b&gt;");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(escape("<script>alert(1)</script> & Cie"), "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie");
        assert_eq!(escape(r#"a"b'c"#), "a&quot;b&#39;c");
        assert_eq!(escape("Éloïse — déjà"), "Éloïse — déjà");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn css_strings_cannot_break_out() {
        let s = css_string("T-1\"; } </style><script>");
        assert!(!s[1..s.len() - 1].contains(['"', '<', '>', '}', ';']), "{s}");
        assert!(s.starts_with("\"T-1\\000022 \\00003b  \\00007d  \\00003c \\00002f style"), "{s}");
    }

    #[test]
    fn page_has_every_part() {
        let p = fr();
        let html = render(&p);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(html.contains("Proposition de groupement"));
        assert!(html.contains("Définitive"));
        assert!(html.contains(&escape(&p.tender.title)));
        assert!(html.contains("T-2026-014"));
        assert!(html.contains(&escape(&p.tender.buyer.name)));
        assert!(html.contains("155\u{a0}437\u{a0}395\u{a0}00017"), "buyer SIRET, grouped");
        assert!(html.contains("15\u{a0}décembre\u{a0}2026 à 18:00"), "deadline in the buyer's offset");
        assert!(html.contains("2\u{a0}décembre\u{a0}2026, 18:00\u{a0}(heure de Paris)"), "generated at, in Paris time");
        assert!(!html.contains("UTC<") && !html.contains("(UTC)"), "no date left in UTC");
        assert!(html.contains(&escape(&p.groupement.name)));
        assert!(html.contains("G-LYON"));
        assert!(html.contains(GroupementKind::Conjoint.label(Lang::Fr)));
        assert!(html.contains("Mandataire"));
        for m in &p.members {
            assert!(html.contains(&escape(&m.name)), "member {}", m.name);
            assert!(html.contains(&siret_display(&m.siret)), "SIRET of {}", m.name);
        }
        let lead = p.lead().expect("a lead");
        assert!(
            html.contains(&format!("<tr class=\"is-lead\"><td><span class=\"member-name\">{}", escape(&lead.name)))
        );
        assert!(html.contains("<span class=\"tag family\">travailleurs handicapés</span>"), "the ESAT is marked");
        assert!(html.contains("<span class=\"tag family\">SIAE</span>"), "the EI and the ACI are marked");
        assert!(html.contains("OETH, art. L5212-10-1"), "what the disability tag means to the buyer");
        assert!(!html.contains("n'est pas une SIAE."), "no GEIQ member, no note about GEIQ members");
        for line in &p.lines {
            assert!(html.contains(&format!("id=\"line-{}\"", line.id)), "line {}", line.id);
            if let Some(t) = &line.title {
                assert!(html.contains(&escape(t)), "title {t}");
            }
        }
        assert!(!p.shortfall.is_empty(), "the example has a shortfall");
        for s in &p.shortfall {
            assert!(html.contains(&escape(&sentence(&s.reason))), "reason {}", s.reason);
        }
        for f in &p.impact.explained {
            assert!(html.contains(&format!("data-key=\"{}\"", f.key)));
            assert!(html.contains(&escape(&f.display)), "display {}", f.display);
            assert!(html.contains(&escape(&f.label)), "label {}", f.label);
            assert!(html.contains(&escape(&f.explanation)), "explanation {}", f.explanation);
        }
        for lot in p.lots() {
            assert!(html.contains(&format!("{} n°\u{a0}{}</span>", lot.line, lot.offer)), "offer {}", lot.offer);
            if let Some(name) = &lot.commitment.confirmed_by {
                assert!(html.contains(&escape(name)), "who confirmed offer {}", lot.offer);
            }
        }
        assert!(html.contains("accepté en partie sur") && html.contains("(en partie :"), "the partial acceptance");
        assert!(html.contains("Telegram") && html.contains("Discord"));
        assert!(html.contains("1\u{a0}000\u{a0}h") || html.contains("1\u{202f}000\u{a0}h"), "French thousands");
        assert!(html.contains("\u{a0}€"), "French money");
        assert!(html.contains("HT"));
        assert!(html.contains("essaim") && html.contains("OCDS"));
        // Order of the sections.
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        let order = [
            "class=\"doc-head\"",
            "id=\"groupement\"",
            "id=\"lines\"",
            "id=\"shortfall\"",
            "id=\"repartition\"",
            "id=\"totals\"",
            "id=\"impact\"",
            "id=\"commitments\"",
            "id=\"mandate\"",
            "class=\"doc-foot\"",
        ];
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "sections in order");
    }

    #[test]
    fn french_money_and_dates() {
        let html = render(&fr());
        // L1: 700 h × 27,50 € = 19 250,00 €.
        assert!(html.contains("19\u{202f}250,00\u{a0}€"), "{}", &html[..0]);
        assert!(html.contains("du 1er\u{a0}mars au 31\u{a0}octobre\u{a0}2027"));
        assert!(html.contains("70\u{202f}%"));
    }

    #[test]
    fn english_page_speaks_english() {
        let p = example(Lang::En).expect("the example builds");
        let html = render(&p);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        for label in [
            "Grouped bid",
            "Final",
            "Buyer",
            "Submission deadline",
            "The groupement",
            "Lines and their lots",
            "Allocation of the services",
            "Mandate and signatures",
            "What is not covered",
            "Totals",
            "Social impact",
            "Members' commitments",
            "accepted in part of",
            "Generated by",
            "excl. VAT",
        ] {
            assert!(html.contains(label), "English label {label}");
        }
        for french in ["Proposition", "Acheteur", "Mandataire", "Définitive", "Totaux", "non couvert", "HT<"] {
            assert!(!html.contains(french), "French word {french} in the English page");
        }
        assert!(html.contains("€19,250.00"));
        assert!(
            html.contains("1 March – 31 October 2027".replace(' ', "\u{a0}").replace("\u{a0}–\u{a0}", " – ").as_str())
        );
        assert!(html.contains("70%"));
    }

    #[test]
    fn hostile_names_are_escaped() {
        let mut inputs = inputs().expect("example inputs");
        let hostile = "<script>alert(1)</script> & Cie";
        inputs.suppliers[2].name = hostile.into();
        inputs.suppliers[2].commune = Some("\"><img src=x onerror=alert(2)>".into());
        inputs.tender.title = "Titre <b>gras</b>".into();
        let p = inputs
            .proposal(&inputs.events, true, GroupementKind::Solidaire, example::generated_at(), Lang::Fr)
            .expect("builds");
        let html = render(&p);
        assert!(!html.contains("<script"), "raw script tag");
        assert!(!html.contains("<img"), "raw img tag");
        assert!(!html.contains("<b>"), "raw bold tag");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
        // The shortfall reason names the ESAT too: escaped there as well.
        assert!(p.shortfall.iter().any(|s| s.reason.contains(hostile)));
        assert!(html.contains(GroupementKind::Solidaire.label(Lang::Fr)));
    }

    #[test]
    fn page_is_self_contained_and_deterministic() {
        for lang in [Lang::Fr, Lang::En] {
            let p = example(lang).expect("the example builds");
            let html = render(&p);
            assert!(html.contains("<svg "), "the map is inline");
            // The SVG namespace is a name, not a resource: nothing else may point outside the page.
            let fetchable = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            for needle in ["http://", "https://", "src=", "<link", "<script", "@import", "url(", "href="] {
                assert!(!fetchable.contains(needle), "{needle} in the {lang:?} page");
            }
            assert_eq!(html, render(&p), "same proposal, same bytes");
            assert_eq!(html.matches("<style>").count(), 1);
        }
    }

    #[test]
    fn nothing_uncovered_is_said_plainly() {
        let mut p = fr();
        p.shortfall.clear();
        let html = render(&p);
        assert!(html.contains("Tout est couvert"));
        let mut p = example(Lang::En).expect("the example builds");
        p.shortfall.clear();
        assert!(render(&p).contains("Everything is covered"));
    }

    #[test]
    fn draft_and_missing_values_show_as_such() {
        let mut p = fr();
        p.status = ProposalStatus::Draft;
        p.campaign.open_offers = 2;
        p.totals.share_basis = ShareBasis::Unavailable;
        for m in &mut p.members {
            m.share_of_bid = None;
        }
        p.tender.deadline = None;
        let html = render(&p);
        assert!(html.contains("Provisoire — offres en attente"));
        assert!(html.contains("2 offres attendent encore une réponse"));
        assert!(html.contains("Parts non calculables"));
        assert!(html.contains("<td class=\"num muted\">—</td>"));
        assert!(html.contains("non précisée"));
        let mut p = example(Lang::En).expect("the example builds");
        p.status = ProposalStatus::Draft;
        assert!(render(&p).contains("Draft — offers pending"));
    }

    #[test]
    fn formats() {
        assert_eq!(siret_display("76694666900070"), "766\u{a0}946\u{a0}669\u{a0}00070");
        assert_eq!(siret_display("not-a-siret"), "not-a-siret");
        assert_eq!(sentence("capacité épuisée"), "Capacité épuisée");
        let p = fr();
        let page = Page { p: &p, lang: Lang::Fr, tz: chrono_tz::Europe::Paris };
        assert_eq!(page.money(12345.0), "12\u{202f}345,00\u{a0}€");
        assert_eq!(page.pct(0.425), "42,5\u{202f}%");
        let en = Page { p: &p, lang: Lang::En, tz: chrono_tz::Europe::Paris };
        assert_eq!(en.money(12345.0), "€12,345.00");
        assert_eq!(en.money(-5.0), "-€5.00");
        assert_eq!(en.pct(0.7), "70%");
    }
}
