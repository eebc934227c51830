//! The bid on a map: one inline `<svg>` element showing where the work is (each line's site), who does
//! it (each member holding a lot, the lead apart) and how much each member does on each site (a segment
//! whose width grows with the pair's lots).
//!
//! Like the page, the drawing is a pure function of the [`Proposal`]: no map tiles, no network, no
//! script, no external font, and the same proposal always gives the same bytes (coordinates with one
//! fixed decimal, everything iterated in the proposal's order). It is drawn for print: dark ink on
//! white, site and member told apart by their shape (square, circle, ringed disc for the lead), text of
//! at least 7 pt when shown at its full width ([`MAX_WIDTH_MM`], the A4 sheet's content width).
//!
//! The projection is equirectangular, centred on the data, with x scaled by the cosine of the points'
//! mean latitude: at the scale of a groupement (a city, a department) it is true to within a few per
//! cent, and the scale bar is exact at the mean latitude. Labels are placed around their marker where
//! they collide with nothing; those that find no room are left out (the legend says how many) and every
//! marker still carries its full name as a `<title>`, which screen readers and hovering show.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

use super::html::Esc;
use super::{Proposal, ProposalLot};
use crate::{EARTH_RADIUS_KM, GeoPoint, Lang, format_number, format_quantity, is_hidden_control};

/// Width of the drawing in SVG user units; the height follows the data.
const WIDTH: f64 = 680.0;
/// The widest the drawing is shown, in mm. The page's sheet is A4 (210 mm) with 15 mm of padding on
/// each side on screen; in print its content is 184 mm wide (13 mm margins): 180 mm fits both.
pub const MAX_WIDTH_MM: f64 = 180.0;
/// Points per user unit at that width (180 mm = 510.2 pt over 680 units).
const PT_PER_UNIT: f64 = MAX_WIDTH_MM / 25.4 * 72.0 / WIDTH;
/// Room around the data inside the map frame, so that markers stay inside.
const PAD: f64 = 14.0;
/// Height of the data area over its width, from the data but within these bounds.
const MIN_ASPECT: f64 = 0.5;
const MAX_ASPECT: f64 = 0.7;
/// The smallest extent shown, when everything is at one point or close to it.
const MIN_SPAN_KM: f64 = 2.0;
/// Font sizes in user units: 11 is 8.3 pt, 12 is 9 pt at the full width (the page's text is 9.2 pt).
const LABEL_SIZE: f64 = 11.0;
const SITE_LABEL_SIZE: f64 = 12.0;
const LEGEND_SIZE: f64 = 11.0;
const _: () = assert!(
    LABEL_SIZE * PT_PER_UNIT >= 7.0 && SITE_LABEL_SIZE * PT_PER_UNIT >= 7.0 && LEGEND_SIZE * PT_PER_UNIT >= 7.0,
    "text of at least 7 pt at the full width"
);
/// Up to this many segments, labels avoid crossing them.
const AVOID_SEGMENTS: usize = 400;
/// Longest member label, in characters (ellipsis included).
const NAME_CHARS: usize = 22;
/// Longest site label (its line ids), in characters before `+n`.
const SITE_CHARS: usize = 18;
/// Stroke width of the thinnest and the thickest lot segment.
const MIN_STROKE: f64 = 1.0;
const MAX_STROKE: f64 = 6.0;
/// Marker sizes: half the site square's side, the member's and the lead's radius.
const SITE_HALF: f64 = 5.0;
const MEMBER_R: f64 = 4.5;
const LEAD_R: f64 = 7.0;

const INK: &str = "#1b2430";
const ACCENT: &str = "#1f4f82";
const MUTED: &str = "#5d6776";
const FRAME: &str = "#c9ced6";
/// The page's font stack (attribute-safe: single quotes).
const FONT: &str = "'Segoe UI', -apple-system, BlinkMacSystemFont, Roboto, 'Helvetica Neue', Arial, \
    'Liberation Sans', 'Noto Sans', system-ui, sans-serif";

/// The bid as one inline SVG element, labelled in `lang`; an empty string when the bid has no lot.
pub fn svg(p: &Proposal, lang: Lang) -> String {
    let Some(layout) = Layout::new(p, lang) else {
        return String::new();
    };
    let mut out = String::with_capacity(4096 + 40 * layout.segments.len() + 200 * layout.markers.len());
    // Writing into a `String` cannot fail.
    let _ = layout.write(&mut out);
    out
}

/// What a lot segment's width measures: the quantity when every lot is in the same unit, else the
/// amount when every lot has one, else the lot's share of its line (hours and kilograms do not add).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Basis {
    Quantity,
    Amount,
    ShareOfLine,
}

impl Basis {
    fn of(lots: &[&ProposalLot]) -> Self {
        let first_unit = lots.first().map(|l| l.unit.as_str());
        if lots.iter().all(|l| Some(l.unit.as_str()) == first_unit) {
            Basis::Quantity
        } else if lots.iter().all(|l| l.amount.is_some()) {
            Basis::Amount
        } else {
            Basis::ShareOfLine
        }
    }

    fn weight(self, lot: &ProposalLot) -> f64 {
        let w = match self {
            Basis::Quantity => lot.quantity,
            Basis::Amount => lot.amount.unwrap_or(0.0),
            Basis::ShareOfLine => lot.share_of_line,
        };
        if w.is_finite() { w.max(0.0) } else { 0.0 }
    }
}

/// A position in user units.
type Point = (f64, f64);

/// Equirectangular: km east and north of the centre, times `scale` user units per km.
#[derive(Debug, Clone, Copy)]
struct Projection {
    lat0: f64,
    lon0: f64,
    /// cos(mean latitude).
    cos: f64,
    /// User units per km.
    scale: f64,
    cx: f64,
    cy: f64,
}

/// km per degree of a great circle.
const KM_PER_DEGREE: f64 = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

impl Projection {
    fn km(&self, p: GeoPoint) -> (f64, f64) {
        ((p.lon - self.lon0) * KM_PER_DEGREE * self.cos, (p.lat - self.lat0) * KM_PER_DEGREE)
    }

    fn project(&self, p: GeoPoint) -> Point {
        let (x, y) = self.km(p);
        (self.cx + x * self.scale, self.cy - y * self.scale)
    }

    #[cfg(test)]
    fn unproject(&self, x: f64, y: f64) -> GeoPoint {
        GeoPoint {
            lat: self.lat0 - (y - self.cy) / self.scale / KM_PER_DEGREE,
            lon: self.lon0 + (x - self.cx) / self.scale / KM_PER_DEGREE / self.cos,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Rect {
    fn around(x: f64, y: f64, r: f64) -> Self {
        Rect { x0: x - r, y0: y - r, x1: x + r, y1: y + r }
    }

    fn grow(self, by: f64) -> Self {
        Rect { x0: self.x0 - by, y0: self.y0 - by, x1: self.x1 + by, y1: self.y1 + by }
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    fn within(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 && self.y0 >= o.y0 && self.x1 <= o.x1 && self.y1 <= o.y1
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// A line's site; `covered` when at least one of its lines has a lot.
    Site {
        covered: bool,
    },
    Member,
    Lead,
}

impl Shape {
    /// Half the marker's size, stroke included.
    fn extent(self) -> f64 {
        match self {
            Shape::Site { .. } => SITE_HALF + 1.0,
            Shape::Member => MEMBER_R + 1.0,
            Shape::Lead => LEAD_R + 1.0,
        }
    }
}

#[derive(Debug, Clone)]
struct Marker {
    /// Where it stands (the tests measure distances with it).
    #[cfg_attr(not(test), allow(dead_code))]
    point: GeoPoint,
    x: f64,
    y: f64,
    shape: Shape,
    /// The full text for `<title>`: line ids and titles, or member names.
    title: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone)]
struct Label {
    text: String,
    x: f64,
    y: f64,
    anchor: Anchor,
    size: f64,
    bold: bool,
    /// Estimated extent of the text, for collisions and bounds.
    rect: Rect,
}

#[derive(Debug, Clone)]
struct Segment {
    from: Point,
    to: Point,
    /// Stroke width, in quarters of a unit (grouped by it).
    quarters: u32,
}

#[derive(Debug, Clone)]
struct ScaleBar {
    km: f64,
    x0: f64,
    x1: f64,
    y: f64,
    label: Label,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Symbol {
    Site,
    EmptySite,
    Member,
    Lead,
    Lot,
    None,
}

impl Symbol {
    fn width(self) -> f64 {
        match self {
            Symbol::Site | Symbol::EmptySite => 2.0 * SITE_HALF,
            Symbol::Member => 2.0 * MEMBER_R,
            Symbol::Lead => 2.0 * LEAD_R,
            Symbol::Lot => 26.0,
            Symbol::None => 0.0,
        }
    }
}

#[derive(Debug, Clone)]
struct LegendItem {
    symbol: Symbol,
    /// Left of the symbol; its vertical middle.
    x: f64,
    mid: f64,
    label: Label,
}

/// Everything drawn, with its place; [`Layout::write`] only formats it.
#[derive(Debug, Clone)]
struct Layout {
    height: f64,
    /// The map's frame (the legend is below it).
    frame: Rect,
    #[cfg_attr(not(test), allow(dead_code))]
    projection: Projection,
    /// Sites first (in line order), then members (in the proposal's order, grouped by point).
    markers: Vec<Marker>,
    sites: usize,
    segments: Vec<Segment>,
    /// Stroke opacity of the segments: lower when there are many, so that crossings stay legible.
    opacity: f64,
    labels: Vec<Label>,
    /// Member and site labels left out for lack of room (the legend says how many).
    #[cfg_attr(not(test), allow(dead_code))]
    omitted: usize,
    #[cfg_attr(not(test), allow(dead_code))]
    omitted_sites: usize,
    scale: ScaleBar,
    legend: Vec<LegendItem>,
    title: String,
}

fn t<'s>(lang: Lang, fr: &'s str, en: &'s str) -> &'s str {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

/// Exact-coordinate key of a point (`-0.0` and `0.0` alike).
fn key(p: GeoPoint) -> (u64, u64) {
    ((p.lat + 0.0).to_bits(), (p.lon + 0.0).to_bits())
}

impl Layout {
    fn new(p: &Proposal, lang: Lang) -> Option<Self> {
        // Members holding a lot, grouped by point, in the proposal's order (the lead first).
        let mut member_of: BTreeMap<&str, usize> = BTreeMap::new();
        let mut member_marks: Vec<(GeoPoint, Vec<String>, bool)> = Vec::new();
        let mut at_point: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        let holding: BTreeSet<&str> = p.lots().map(|l| l.supplier.as_str()).collect();
        for m in &p.members {
            if !holding.contains(m.siret.as_str()) || !valid(m.location) {
                continue;
            }
            let i = *at_point.entry(key(m.location)).or_insert_with(|| {
                member_marks.push((m.location, Vec::new(), false));
                member_marks.len() - 1
            });
            member_marks[i].1.push(m.name.clone());
            member_marks[i].2 |= m.lead;
            member_of.insert(m.siret.as_str(), i);
        }
        // Only lots whose member is known can be drawn.
        let drawable: Vec<&ProposalLot> = p.lots().filter(|l| member_of.contains_key(l.supplier.as_str())).collect();
        if drawable.is_empty() {
            return None;
        }

        // Sites: every line's, grouped by point, in line order.
        let mut site_of: Vec<Option<usize>> = Vec::with_capacity(p.lines.len());
        let mut site_marks: Vec<(GeoPoint, Vec<usize>, bool)> = Vec::new();
        let mut at_point: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        for (li, line) in p.lines.iter().enumerate() {
            if !valid(line.site) {
                site_of.push(None);
                continue;
            }
            let i = *at_point.entry(key(line.site)).or_insert_with(|| {
                site_marks.push((line.site, Vec::new(), false));
                site_marks.len() - 1
            });
            site_marks[i].1.push(li);
            site_marks[i].2 |= line.lots.iter().any(|l| member_of.contains_key(l.supplier.as_str()));
            site_of.push(Some(i));
        }

        // Pairs (member marker, site marker) and their weight.
        let basis = Basis::of(&drawable);
        let mut pairs: BTreeMap<(usize, usize), f64> = BTreeMap::new();
        for (li, line) in p.lines.iter().enumerate() {
            let Some(site) = site_of[li] else { continue };
            for lot in &line.lots {
                if let Some(&m) = member_of.get(lot.supplier.as_str()) {
                    *pairs.entry((m, site)).or_insert(0.0) += basis.weight(lot);
                }
            }
        }
        if pairs.is_empty() {
            return None;
        }
        let max_weight = pairs.values().copied().fold(0.0, f64::max);

        // Projection: centred on the bounding box, x scaled by cos(mean latitude).
        let points: Vec<GeoPoint> = site_marks.iter().map(|s| s.0).chain(member_marks.iter().map(|m| m.0)).collect();
        let (mut lat_min, mut lat_max, mut lon_min, mut lon_max) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
        let mut lat_sum = 0.0;
        for q in &points {
            lat_min = lat_min.min(q.lat);
            lat_max = lat_max.max(q.lat);
            lon_min = lon_min.min(q.lon);
            lon_max = lon_max.max(q.lon);
            lat_sum += q.lat;
        }
        let mean_lat = lat_sum / points.len() as f64;
        // Near the poles the cosine vanishes; keep the x scale finite.
        let cos = mean_lat.to_radians().cos().max(0.01);
        let span_x = (lon_max - lon_min) * KM_PER_DEGREE * cos;
        let span_y = (lat_max - lat_min) * KM_PER_DEGREE;
        let inner_w = WIDTH - 2.0 * PAD;
        let mut scale = inner_w / span_x.max(MIN_SPAN_KM);
        if span_y > 0.0 {
            scale = scale.min(inner_w * MAX_ASPECT / span_y);
        }
        let inner_h = (span_y * scale).clamp(inner_w * MIN_ASPECT, inner_w * MAX_ASPECT);
        let map_h = inner_h + 2.0 * PAD;
        let projection = Projection {
            lat0: (lat_min + lat_max) / 2.0,
            lon0: (lon_min + lon_max) / 2.0,
            cos,
            scale,
            cx: WIDTH / 2.0,
            cy: PAD + inner_h / 2.0,
        };
        let frame = Rect { x0: 0.5, y0: 0.5, x1: WIDTH - 0.5, y1: map_h };

        // Markers.
        let mut markers = Vec::with_capacity(site_marks.len() + member_marks.len());
        for (point, lines, covered) in &site_marks {
            let (x, y) = projection.project(*point);
            let title = lines
                .iter()
                .map(|&li| {
                    let l = &p.lines[li];
                    match &l.title {
                        Some(title) => format!("{} — {}", clean(&l.id, 40), clean(title, 120)),
                        None => clean(&l.id, 40),
                    }
                })
                .collect::<Vec<_>>()
                .join(" · ");
            markers.push(Marker { point: *point, x, y, shape: Shape::Site { covered: *covered }, title });
        }
        let sites = markers.len();
        for (point, names, lead) in &member_marks {
            let (x, y) = projection.project(*point);
            let mut title = names.iter().map(|n| clean(n, 120)).collect::<Vec<_>>().join(" · ");
            if *lead {
                let _ = write!(title, " ({})", t(lang, "mandataire", "lead member"));
            }
            markers.push(Marker { point: *point, x, y, shape: if *lead { Shape::Lead } else { Shape::Member }, title });
        }

        // Segments, one per pair.
        let segments: Vec<Segment> = pairs
            .iter()
            .map(|(&(m, s), &w)| {
                let width =
                    if max_weight > 0.0 { MIN_STROKE + (MAX_STROKE - MIN_STROKE) * w / max_weight } else { MIN_STROKE };
                let member = sites + m;
                Segment {
                    from: (markers[member].x, markers[member].y),
                    to: (markers[s].x, markers[s].y),
                    quarters: (width * 4.0).round() as u32,
                }
            })
            .collect();
        let opacity = (0.95 - 0.15 * (segments.len() as f64).log10()).clamp(0.45, 0.9);

        // Labels: sites first (short and essential), then the lead, then members by weight.
        let obstacles: Vec<Rect> = markers.iter().map(|m| Rect::around(m.x, m.y, m.shape.extent())).collect();
        let bounds = Rect { x0: 2.0, y0: 2.0, x1: WIDTH - 2.0, y1: map_h - 2.0 };
        // On a sparse map labels also avoid crossing segments; on a dense one the segments are a mesh.
        let lines: Vec<(Point, Point)> = if segments.len() <= AVOID_SEGMENTS {
            segments.iter().map(|s| (s.from, s.to)).collect()
        } else {
            Vec::new()
        };
        let mut placer = Placer { bounds, obstacles: &obstacles, segments: &lines, labels: Vec::new() };
        let mut omitted_sites = 0;
        for (i, (_, lines, _)) in site_marks.iter().enumerate() {
            let text = site_label(lines.iter().map(|&li| p.lines[li].id.as_str()));
            let m = &markers[i];
            // A line id matters more than a name: it may stand a little further from its square.
            let r = m.shape.extent() - 1.0;
            if !placer.place(i, m.x, m.y, r, text.clone(), SITE_LABEL_SIZE, true)
                && !placer.place(i, m.x, m.y, r + 8.0, text, SITE_LABEL_SIZE, true)
            {
                omitted_sites += 1;
            }
        }
        let mut weight_of = vec![0.0; member_marks.len()];
        for (&(m, _), &w) in &pairs {
            weight_of[m] += w;
        }
        let mut order: Vec<usize> = (0..member_marks.len()).collect();
        order.sort_by(|&a, &b| {
            member_marks[b].2.cmp(&member_marks[a].2).then(weight_of[b].total_cmp(&weight_of[a])).then(a.cmp(&b))
        });
        let mut omitted = 0;
        for m in order {
            let (_, names, lead) = &member_marks[m];
            let mut text = clean(&names[0], NAME_CHARS);
            if names.len() > 1 {
                let _ = write!(text, " +{}", names.len() - 1);
            }
            let marker = &markers[sites + m];
            if !placer.place(sites + m, marker.x, marker.y, marker.shape.extent() - 1.0, text, LABEL_SIZE, *lead) {
                omitted += 1;
            }
        }
        let labels = placer.labels;

        // Below the map: the scale bar at the right of the first row, the legend flowing to its left.
        let row_h = LEGEND_SIZE * 1.6;
        let first = map_h + 8.0 + LEGEND_SIZE;
        let km = round_length(inner_w / 4.0 / scale);
        let bar = km * scale;
        let bar_text = length_text(km, lang);
        let bar_label = Label::new(bar_text, WIDTH - PAD - bar - 6.0, first, Anchor::End, LEGEND_SIZE, false);
        let scale_bar = ScaleBar { km, x0: WIDTH - PAD - bar, x1: WIDTH - PAD, y: first + 1.0, label: bar_label };

        let mut items: Vec<(Symbol, String)> = Vec::new();
        if markers.iter().any(|m| m.shape == Shape::Site { covered: true }) {
            items.push((Symbol::Site, t(lang, "Site d'exécution (ligne)", "Work site (line)").into()));
        }
        if markers.iter().any(|m| m.shape == Shape::Site { covered: false }) {
            items.push((Symbol::EmptySite, t(lang, "Site sans lot", "Site with no lot").into()));
        }
        if markers.iter().any(|m| m.shape == Shape::Lead) {
            items.push((Symbol::Lead, t(lang, "Mandataire", "Lead member").into()));
        }
        if markers.iter().any(|m| m.shape == Shape::Member) {
            items.push((Symbol::Member, t(lang, "Membre", "Member").into()));
        }
        items.push((Symbol::Lot, lot_legend(&drawable, basis, max_weight, lang)));
        if omitted > 0 {
            let text = match lang {
                Lang::Fr if omitted == 1 => "1 nom non affiché faute de place (voir le tableau des membres)".into(),
                Lang::Fr => format!("{omitted} noms non affichés faute de place (voir le tableau des membres)"),
                Lang::En if omitted == 1 => "1 name not shown for lack of room (see the members table)".into(),
                Lang::En => format!("{omitted} names not shown for lack of room (see the members table)"),
            };
            items.push((Symbol::None, text));
        }
        if omitted_sites > 0 {
            let text = match lang {
                Lang::Fr if omitted_sites == 1 => "1 site non étiqueté faute de place (voir les lignes)".into(),
                Lang::Fr => format!("{omitted_sites} sites non étiquetés faute de place (voir les lignes)"),
                Lang::En if omitted_sites == 1 => "1 site not labelled for lack of room (see the lines)".into(),
                Lang::En => format!("{omitted_sites} sites not labelled for lack of room (see the lines)"),
            };
            items.push((Symbol::None, text));
        }
        let mut legend = Vec::with_capacity(items.len());
        let (mut x, mut y) = (PAD, first);
        let mut right = scale_bar.label.rect.x0 - 16.0;
        for (symbol, text) in items {
            let sw = symbol.width();
            let gap = if sw > 0.0 { 5.0 } else { 0.0 };
            let w = sw + gap + text_width(&text, LEGEND_SIZE, false);
            // To the next row when it does not fit, unless it is alone on a full row.
            if x + w > right && (x > PAD || right < WIDTH - PAD) {
                x = PAD;
                y += row_h;
                right = WIDTH - PAD;
            }
            let label = Label::new(text, x + sw + gap, y, Anchor::Start, LEGEND_SIZE, false);
            legend.push(LegendItem { symbol, x, mid: y - 0.32 * LEGEND_SIZE, label });
            x += w + 16.0;
        }
        let height = (y + 0.5 * LEGEND_SIZE + 4.0).ceil();

        let n_members: usize = member_marks.iter().map(|m| m.1.len()).sum();
        let n_lots = drawable.len();
        let title = match lang {
            Lang::Fr => format!(
                "Carte de la proposition : {} {}, {} {}, {} {}",
                p.lines.len(),
                plural(p.lines.len(), "ligne", "lignes"),
                n_members,
                plural(n_members, "membre", "membres"),
                n_lots,
                plural(n_lots, "lot", "lots")
            ),
            Lang::En => format!(
                "Map of the bid: {} {}, {} {}, {} {}",
                p.lines.len(),
                plural(p.lines.len(), "line", "lines"),
                n_members,
                plural(n_members, "member", "members"),
                n_lots,
                plural(n_lots, "lot", "lots")
            ),
        };

        Some(Layout {
            height,
            frame,
            projection,
            markers,
            sites,
            segments,
            opacity,
            labels,
            omitted,
            omitted_sites,
            scale: scale_bar,
            legend,
            title,
        })
    }

    fn write(&self, out: &mut String) -> fmt::Result {
        let h = self.height;
        write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"essaim-map\" viewBox=\"0 0 {} {}\" width=\"100%\" \
             role=\"img\" font-family=\"{FONT}\" direction=\"ltr\" \
             style=\"display:block;width:100%;max-width:{MAX_WIDTH_MM}mm;height:auto;margin:0 auto;\
             background:#fff;break-inside:avoid;page-break-inside:avoid\">",
            N(WIDTH),
            N(h)
        )?;
        write!(out, "<title>{}</title>", Esc(&self.title))?;
        let f = &self.frame;
        write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"{FRAME}\"/>",
            N(f.x0),
            N(f.y0),
            N(f.x1 - f.x0),
            N(f.y1 - f.y0)
        )?;

        // Lots: thickest first, so that thin ones stay visible on top; one path per width.
        let mut by_width: BTreeMap<u32, String> = BTreeMap::new();
        for s in &self.segments {
            let d = by_width.entry(s.quarters).or_default();
            write!(d, "M{} {}L{} {}", N(s.from.0), N(s.from.1), N(s.to.0), N(s.to.1))?;
        }
        write!(
            out,
            "<g data-layer=\"lots\" fill=\"none\" stroke=\"{ACCENT}\" stroke-opacity=\"{:.2}\" \
             stroke-linecap=\"round\">",
            self.opacity
        )?;
        for (q, d) in by_width.iter().rev() {
            write!(out, "<path stroke-width=\"{}\" d=\"{d}\"/>", Q(*q))?;
        }
        out.push_str("</g>");

        write!(out, "<g data-layer=\"sites\" fill=\"{INK}\" stroke=\"#fff\" stroke-width=\"1.5\">")?;
        for m in &self.markers[..self.sites] {
            let covered = m.shape == Shape::Site { covered: true };
            write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}><title>{}</title></rect>",
                N(m.x - SITE_HALF),
                N(m.y - SITE_HALF),
                N(2.0 * SITE_HALF),
                N(2.0 * SITE_HALF),
                if covered { "" } else { " fill=\"#fff\" stroke=\"#1b2430\" stroke-width=\"2\"" },
                Esc(&m.title)
            )?;
        }
        out.push_str("</g>");

        write!(out, "<g data-layer=\"members\" fill=\"#fff\" stroke=\"{INK}\" stroke-width=\"1.8\">")?;
        for m in &self.markers[self.sites..] {
            if m.shape == Shape::Lead {
                write!(
                    out,
                    "<g><title>{}</title><circle cx=\"{x}\" cy=\"{y}\" r=\"{}\"/>\
                     <circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{INK}\" stroke=\"none\"/></g>",
                    Esc(&m.title),
                    N(LEAD_R),
                    x = N(m.x),
                    y = N(m.y)
                )?;
            } else {
                write!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"><title>{}</title></circle>",
                    N(m.x),
                    N(m.y),
                    N(MEMBER_R),
                    Esc(&m.title)
                )?;
            }
        }
        out.push_str("</g>");

        // A white halo keeps labels legible over segments.
        write!(
            out,
            "<g data-layer=\"labels\" font-size=\"{}\" fill=\"{INK}\" stroke=\"#fff\" stroke-width=\"3\" \
             stroke-linejoin=\"round\" paint-order=\"stroke\">",
            N(LABEL_SIZE)
        )?;
        for l in &self.labels {
            l.write(out, LABEL_SIZE)?;
        }
        out.push_str("</g>");

        write!(out, "<g data-layer=\"legend\" font-size=\"{}\" fill=\"{INK}\">", N(LEGEND_SIZE))?;
        for item in &self.legend {
            let (x, y) = (item.x, item.mid);
            match item.symbol {
                Symbol::Site | Symbol::EmptySite => write!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{s}\" height=\"{s}\"{}/>",
                    N(x),
                    N(y - SITE_HALF),
                    if item.symbol == Symbol::Site {
                        ""
                    } else {
                        " fill=\"#fff\" stroke=\"#1b2430\" stroke-width=\"2\""
                    },
                    s = N(2.0 * SITE_HALF)
                )?,
                Symbol::Member => write!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#fff\" stroke=\"{INK}\" stroke-width=\"1.8\"/>",
                    N(x + MEMBER_R),
                    N(y),
                    N(MEMBER_R)
                )?,
                Symbol::Lead => write!(
                    out,
                    "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{}\" fill=\"#fff\" stroke=\"{INK}\" stroke-width=\"1.8\"/>\
                     <circle cx=\"{cx}\" cy=\"{cy}\" r=\"3\"/>",
                    N(LEAD_R),
                    cx = N(x + LEAD_R),
                    cy = N(y)
                )?,
                // A wedge from the thinnest to the thickest stroke.
                Symbol::Lot => write!(
                    out,
                    "<path d=\"M{} {}L{} {}V{}L{} {}Z\" fill=\"{ACCENT}\"/>",
                    N(x),
                    N(y - MIN_STROKE / 2.0),
                    N(x + 26.0),
                    N(y - MAX_STROKE / 2.0),
                    N(y + MAX_STROKE / 2.0),
                    N(x),
                    N(y + MIN_STROKE / 2.0)
                )?,
                Symbol::None => {}
            }
            if item.symbol == Symbol::None {
                write!(out, "<g fill=\"{MUTED}\">")?;
                item.label.write(out, LEGEND_SIZE)?;
                out.push_str("</g>");
            } else {
                item.label.write(out, LEGEND_SIZE)?;
            }
        }
        out.push_str("</g>");

        let s = &self.scale;
        write!(
            out,
            "<g data-layer=\"scale\" data-km=\"{}\" font-size=\"{}\" fill=\"{INK}\">\
             <path d=\"M{} {}V{}H{}V{}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1.5\"/>",
            s.km,
            N(LEGEND_SIZE),
            N(s.x0),
            N(s.y - 5.0),
            N(s.y),
            N(s.x1),
            N(s.y - 5.0)
        )?;
        s.label.write(out, LEGEND_SIZE)?;
        out.push_str("</g>");
        out.push_str("</svg>");
        Ok(())
    }
}

impl Label {
    fn new(text: String, x: f64, y: f64, anchor: Anchor, size: f64, bold: bool) -> Self {
        let w = text_width(&text, size, bold);
        let x0 = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - w / 2.0,
            Anchor::End => x - w,
        };
        let rect = Rect { x0, y0: y - 0.8 * size, x1: x0 + w, y1: y + 0.22 * size };
        Label { text, x, y, anchor, size, bold, rect }
    }

    /// A `<text>`; the size only when it differs from the group's.
    fn write(&self, out: &mut String, group_size: f64) -> fmt::Result {
        write!(out, "<text x=\"{}\" y=\"{}\"", N(self.x), N(self.y))?;
        match self.anchor {
            Anchor::Start => {}
            Anchor::Middle => out.push_str(" text-anchor=\"middle\""),
            Anchor::End => out.push_str(" text-anchor=\"end\""),
        }
        if self.size != group_size {
            write!(out, " font-size=\"{}\"", N(self.size))?;
        }
        if self.bold {
            out.push_str(" font-weight=\"700\"");
        }
        write!(out, ">{}</text>", Esc(&self.text))
    }
}

/// Places labels around markers where they overlap no other label or marker and stay in bounds.
struct Placer<'a> {
    bounds: Rect,
    obstacles: &'a [Rect],
    segments: &'a [(Point, Point)],
    labels: Vec<Label>,
}

impl Placer<'_> {
    /// Tries positions around the marker `owner` at (x, y) of half-size `r`: right, left, the four
    /// diagonals, above, below; of those free, the first crossing the fewest segments. False when
    /// none is free.
    #[allow(clippy::too_many_arguments)]
    fn place(&mut self, owner: usize, x: f64, y: f64, r: f64, text: String, size: f64, bold: bool) -> bool {
        let g = 2.5;
        let (asc, desc) = (0.8 * size, 0.22 * size);
        let mid = y + 0.3 * size;
        let candidates = [
            (Anchor::Start, x + r + g, mid),
            (Anchor::End, x - r - g, mid),
            (Anchor::Start, x + r + 1.0, y - r - 1.0 - desc),
            (Anchor::Start, x + r + 1.0, y + r + 1.0 + asc),
            (Anchor::End, x - r - 1.0, y - r - 1.0 - desc),
            (Anchor::End, x - r - 1.0, y + r + 1.0 + asc),
            (Anchor::Middle, x, y - r - g - desc),
            (Anchor::Middle, x, y + r + g + asc),
        ];
        let width = text_width(&text, size, bold);
        let mut best: Option<(usize, Anchor, f64, f64, Rect)> = None;
        for (anchor, lx, ly) in candidates {
            let x0 = match anchor {
                Anchor::Start => lx,
                Anchor::Middle => lx - width / 2.0,
                Anchor::End => lx - width,
            };
            let rect = Rect { x0, y0: ly - asc, x1: x0 + width, y1: ly + desc };
            let padded = rect.grow(1.0);
            if !rect.within(&self.bounds)
                || self.labels.iter().any(|l| l.rect.grow(1.0).overlaps(&padded))
                || self.obstacles.iter().enumerate().any(|(i, o)| i != owner && o.overlaps(&padded))
            {
                continue;
            }
            let crossings = self.segments.iter().filter(|(a, b)| crosses(*a, *b, &padded)).count();
            if best.as_ref().is_none_or(|b| crossings < b.0) {
                best = Some((crossings, anchor, lx, ly, rect));
                if crossings == 0 {
                    break;
                }
            }
        }
        let Some((_, anchor, x, y, rect)) = best else { return false };
        self.labels.push(Label { text, x, y, anchor, size, bold, rect });
        true
    }
}

/// Whether the segment a–b crosses the rectangle (Liang–Barsky clipping).
fn crosses(a: Point, b: Point, r: &Rect) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a.0 - r.x0), (dx, r.x1 - a.0), (-dy, a.1 - r.y0), (dy, r.y1 - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

/// A site's label: its line ids, as many as fit, then `+n`.
fn site_label<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let ids: Vec<String> = ids.map(|id| clean(id, SITE_CHARS)).collect();
    let mut text = String::new();
    for (i, id) in ids.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        if i > 0 && text.chars().count() + sep.len() + id.chars().count() > SITE_CHARS {
            let _ = write!(text, " +{}", ids.len() - i);
            return text;
        }
        text.push_str(sep);
        text.push_str(id);
    }
    text
}

/// The lot entry of the legend: what the width measures, and the thickest pair's value.
fn lot_legend(lots: &[&ProposalLot], basis: Basis, max: f64, lang: Lang) -> String {
    let value = match basis {
        Basis::Quantity => {
            let unit = lots.first().map(|l| l.unit.as_str()).unwrap_or("");
            let unit = match unit {
                "m2" => "m²".to_owned(),
                "m3" => "m³".to_owned(),
                other => clean(other, 12),
            };
            format!("{}\u{a0}{unit}", format_quantity(max, lang))
        }
        Basis::Amount => format!("{}\u{a0}€ {}", format_number(max, 0, lang), t(lang, "HT", "excl. VAT")),
        Basis::ShareOfLine => match lang {
            Lang::Fr => format!("{}\u{202f}%", format_number(max * 100.0, 0, lang)),
            Lang::En => format!("{}%", format_number(max * 100.0, 0, lang)),
        },
    };
    let measure = match basis {
        Basis::Quantity => t(lang, "la quantité", "quantity"),
        Basis::Amount => t(lang, "le montant", "amount"),
        Basis::ShareOfLine => t(lang, "la part de la ligne", "share of the line"),
    };
    match lang {
        Lang::Fr => format!("Lots : épaisseur selon {measure} (max. {value})"),
        Lang::En => format!("Lots: width by {measure} (max. {value})"),
    }
}

/// The largest of 1, 2, 5 × 10ⁿ km not above `max_km` (from 100 m).
fn round_length(max_km: f64) -> f64 {
    let mut best = 0.1;
    let mut magnitude = 0.1;
    while magnitude <= 1e5 {
        for step in [1.0, 2.0, 5.0] {
            let v = step * magnitude;
            if v <= max_km * (1.0 + 1e-9) {
                best = v;
            }
        }
        magnitude *= 10.0;
    }
    // Keep the decimal value exact (0.1 × 2 is not 0.2 in binary).
    (best * 10.0).round() / 10.0
}

fn length_text(km: f64, lang: Lang) -> String {
    if km < 1.0 {
        format!("{}\u{a0}m", (km * 1000.0).round())
    } else {
        format!("{}\u{a0}km", format_number(km, 0, lang))
    }
}

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

fn valid(p: GeoPoint) -> bool {
    p.lat.is_finite() && p.lon.is_finite() && (-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lon)
}

/// A text from data, made safe to show: controls and bidirectional formatting characters removed (a
/// name must not reorder what is drawn around it), spaces collapsed, at most `max` characters with an
/// ellipsis — cut at a word when one ends late enough, never inside a combining sequence.
fn clean(text: &str, max: usize) -> String {
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            if chars.last().is_some_and(|&l| l != ' ') {
                chars.push(' ');
            }
        } else if !is_hidden_control(c) {
            chars.push(c);
        }
    }
    while chars.last() == Some(&' ') {
        chars.pop();
    }
    if chars.len() <= max {
        return chars.into_iter().collect();
    }
    let mut cut = max.saturating_sub(1);
    // Do not cut a letter from its accents, nor an emoji sequence in two.
    while cut > 0 && (extends(chars[cut]) || chars[cut - 1] == '\u{200d}') {
        cut -= 1;
    }
    if let Some(space) = chars[..cut].iter().rposition(|&c| c == ' ').filter(|&s| s >= max * 2 / 3) {
        cut = space;
    }
    let mut out: String = chars[..cut].iter().collect();
    // Nor end on a dangling "du", "and", comma or dash.
    loop {
        let kept = out.trim_end_matches([' ', ',', ';', ':', '-', '–', '—', '(', '/', '&', '+']).len();
        out.truncate(kept);
        match out.rsplit_once(' ') {
            Some((head, last)) if !head.is_empty() && LINKING_WORDS.contains(&last.to_lowercase().as_str()) => {
                out.truncate(head.len());
            }
            _ => break,
        }
    }
    out.push('…');
    out
}

/// Words a cut name should not end on.
const LINKING_WORDS: &[&str] = &[
    "à", "au", "aux", "d'", "de", "des", "du", "en", "et", "l'", "la", "le", "les", "pour", "sur", "and", "for", "of",
    "the",
];

/// Characters that belong to the one before: combining marks, joiners, variation selectors, skin tones.
fn extends(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{fe20}'..='\u{fe2f}'
            | '\u{200d}'
            | '\u{1f3fb}'..='\u{1f3ff}'
            | '\u{e0100}'..='\u{e01ef}'
    )
}

/// Advance widths of ASCII 32–126 in Helvetica/Arial (thousandths of an em).
const ADVANCE: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space–/
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0–?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @–O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P–_
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `–o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p–~
];

/// A generous estimate of a text's width in user units: Arial's widths, 12 % more for the wider fonts
/// of the stack (Segoe UI, San Francisco, DejaVu Sans), 8 % more in bold.
fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => f64::from(ADVANCE[c as usize - 32]) / 1000.0,
            '\u{a0}' => 0.278,
            '\u{202f}' => 0.2,
            '…' | '—' => 1.0,
            '–' => 0.556,
            c if extends(c) => 0.0,
            c if c >= '\u{2e80}' => 1.0,
            c if c.is_uppercase() => 0.722,
            _ => 0.6,
        })
        .sum();
    em * size * 1.12 * if bold { 1.08 } else { 1.0 }
}

/// A coordinate with one fixed decimal (`-0.0` as `0.0`).
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Integer formatting: exact, quicker than a float's, and never `-0.0`.
        let tenths = (self.0 * 10.0).round() as i64;
        let sign = if tenths < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{}", tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10)
    }
}

/// A stroke width in quarters, as a decimal.
struct Q(u32);

impl fmt::Display for Q {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", f64::from(self.0) / 4.0)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::haversine_km;
    use crate::proposal::example::example;

    fn ex(lang: Lang) -> Proposal {
        example(lang).expect("the example builds")
    }

    /// Deterministic numbers in 0..1.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The example with `members` members around Lyon (the first leads), `lines` lines at their own sites
    /// and one lot in hours for every pair.
    fn synthetic(members: usize, lines: usize) -> Proposal {
        let mut p = ex(Lang::Fr);
        let member = p.members[0].clone();
        let line = p.lines[0].clone();
        let lot = line.lots[0].clone();
        let kinds = ["Régie de quartier", "Atelier", "ESAT", "Jardins solidaires", "Entreprise d'insertion", "ACI"];
        let places = ["Villeurbanne", "Vénissieux", "Saint-Priest", "Bron", "Oullins", "Caluire-et-Cuire", "Givors"];
        let mut rng = Lcg(7);
        p.members = (0..members)
            .map(|i| {
                let mut m = member.clone();
                m.siret = format!("{:014}", 10_000_000_000_000u64 + i as u64);
                m.name = format!("{} {} {i}", kinds[i % kinds.len()], places[(i * 5) % places.len()]);
                m.lead = i == 0;
                m.location = GeoPoint { lat: 45.55 + 0.45 * rng.next(), lon: 4.55 + 0.65 * rng.next() };
                m
            })
            .collect();
        p.lines = (0..lines)
            .map(|j| {
                let mut l = line.clone();
                l.id = format!("L{}", j + 1);
                l.site = GeoPoint { lat: 45.65 + 0.25 * rng.next(), lon: 4.7 + 0.35 * rng.next() };
                l.lots = (0..members)
                    .map(|i| {
                        let mut lot = lot.clone();
                        lot.supplier = format!("{:014}", 10_000_000_000_000u64 + i as u64);
                        lot.line = l.id.clone();
                        lot.quantity = 1.0 + ((i * 7 + j * 3) % 50) as f64;
                        lot.amount = None;
                        lot
                    })
                    .collect();
                l
            })
            .collect();
        p
    }

    /// The example with every member and every site moved to `at`.
    fn all_at(at: GeoPoint) -> Proposal {
        let mut p = ex(Lang::Fr);
        p.members.iter_mut().for_each(|m| m.location = at);
        p.lines.iter_mut().for_each(|l| l.site = at);
        p
    }

    /// The example spread over France: the members in Lille, Brest, Strasbourg and Marseille.
    fn france() -> Proposal {
        let mut p = ex(Lang::Fr);
        let cities = [(50.6292, 3.0573), (48.3904, -4.4861), (48.5734, 7.7521), (43.2965, 5.3698)];
        for (m, (lat, lon)) in p.members.iter_mut().zip(cities) {
            m.location = GeoPoint { lat, lon };
        }
        p
    }

    fn layout(p: &Proposal, lang: Lang) -> Layout {
        Layout::new(p, lang).expect("a bid with lots has a layout")
    }

    /// Every value of the attribute `name` in `svg`.
    fn attr<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
        let pattern = format!(" {name}=\"");
        svg.match_indices(&pattern)
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                &rest[..rest.find('"').expect("a closed attribute")]
            })
            .collect()
    }

    /// The numbers of an attribute, after the root element's (whose width is `100%`).
    fn numbers(svg: &str, name: &str) -> Vec<f64> {
        let svg = &svg[svg.find('>').expect("a root element")..];
        attr(svg, name).iter().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}=\"{v}\" is a number"))).collect()
    }

    fn view_box(svg: &str) -> (f64, f64) {
        let v: Vec<f64> = attr(svg, "viewBox")[0].split(' ').map(|n| n.parse().expect("number")).collect();
        assert_eq!((v[0], v[1]), (0.0, 0.0));
        (v[2], v[3])
    }

    /// The part of `svg` in the group `data-layer="{layer}"`.
    fn layer<'a>(svg: &'a str, layer: &str) -> &'a str {
        let start = svg.find(&format!("data-layer=\"{layer}\"")).unwrap_or_else(|| panic!("no {layer} layer"));
        let end = svg[start..].find("</g>").expect("the layer ends") + start;
        &svg[start..end]
    }

    /// The lot segments drawn: (width, from, to).
    fn segments(svg: &str) -> Vec<(f64, Point, Point)> {
        let lots = layer(svg, "lots");
        let widths = numbers(lots, "stroke-width");
        let paths = attr(lots, "d");
        assert_eq!(widths.len(), paths.len());
        let mut out = Vec::new();
        for (w, d) in widths.iter().zip(paths) {
            for seg in d.split('M').filter(|s| !s.is_empty()) {
                let (a, b) = seg.split_once('L').expect("M x yL x y");
                let point = |s: &str| {
                    let (x, y) = s.split_once(' ').expect("x y");
                    (x.parse::<f64>().expect("x"), y.parse::<f64>().expect("y"))
                };
                out.push((*w, point(a), point(b)));
            }
        }
        out
    }

    fn close(a: Point, b: Point) -> bool {
        (a.0 - b.0).abs() <= 0.051 && (a.1 - b.1).abs() <= 0.051
    }

    #[test]
    fn one_segment_per_member_and_line_holding_lots() {
        let p = ex(Lang::Fr);
        let svg = svg(&p, Lang::Fr);
        let l = layout(&p, Lang::Fr);
        let mut pairs: Vec<(&str, &str)> = p.lots().map(|l| (l.supplier.as_str(), l.line.as_str())).collect();
        pairs.sort();
        pairs.dedup();
        // 5 lots, of which two of the ACI on L2: 4 pairs.
        assert_eq!(pairs.len(), 4);
        let drawn = segments(&svg);
        assert_eq!(drawn.len(), pairs.len(), "{svg}");
        for (supplier, line) in pairs {
            let m = p.members.iter().find(|m| m.siret == supplier).expect("member");
            let site = p.lines.iter().find(|l| l.id == line).expect("line").site;
            let (from, to) = (l.projection.project(m.location), l.projection.project(site));
            let n = drawn.iter().filter(|(_, a, b)| close(*a, from) && close(*b, to)).count();
            assert_eq!(n, 1, "{supplier} → {line} drawn once");
        }

        let p = synthetic(30, 7);
        let drawn = segments(&svg_of(&p));
        assert_eq!(drawn.len(), 30 * 7);
        let mut ends: Vec<String> = drawn.iter().map(|(_, a, b)| format!("{a:?}{b:?}")).collect();
        ends.sort();
        ends.dedup();
        assert_eq!(ends.len(), 30 * 7, "no pair drawn twice");
    }

    fn svg_of(p: &Proposal) -> String {
        svg(p, Lang::Fr)
    }

    #[test]
    fn a_member_on_two_lines_at_one_site_is_one_segment() {
        // The ESAT holds L2 and L3; L3 moved to L2's site gives one pair of markers.
        let mut p = ex(Lang::Fr);
        p.lines[2].site = p.lines[1].site;
        let drawn = segments(&svg_of(&p));
        assert_eq!(drawn.len(), 3);
        let l = layout(&p, Lang::Fr);
        assert_eq!(l.sites, 2);
        assert!(l.labels.iter().any(|l| l.text == "L2, L3"), "{:?}", l.labels);
    }

    #[test]
    fn thicker_segments_for_larger_lots() {
        let p = synthetic(12, 3);
        let drawn = segments(&svg_of(&p));
        let l = layout(&p, Lang::Fr);
        let mut by_quantity: Vec<(f64, f64)> = Vec::new();
        for line in &p.lines {
            for lot in &line.lots {
                let m = p.members.iter().find(|m| m.siret == lot.supplier).expect("member");
                let (from, to) = (l.projection.project(m.location), l.projection.project(line.site));
                let (w, _, _) = drawn.iter().find(|(_, a, b)| close(*a, from) && close(*b, to)).expect("drawn");
                by_quantity.push((lot.quantity, *w));
            }
        }
        by_quantity.sort_by(|a, b| a.0.total_cmp(&b.0));
        let max = by_quantity.last().expect("lots").0;
        for pair in by_quantity.windows(2) {
            assert!(pair[0].1 <= pair[1].1, "width grows with quantity: {pair:?}");
        }
        for (q, w) in &by_quantity {
            let expected = MIN_STROKE + (MAX_STROKE - MIN_STROKE) * q / max;
            assert!((w - expected).abs() <= 0.125 + 1e-9, "{q} → {w}, not {expected}");
        }
        assert_eq!(by_quantity.last().map(|x| x.1), Some(MAX_STROKE));
        // The example mixes hours and kilograms: widths follow the amounts.
        assert!(svg_of(&ex(Lang::Fr)).contains("épaisseur selon le montant (max. 19\u{202f}250\u{a0}€ HT)"));
    }

    /// Every marker, label and legend entry inside the view box, checked on the layout and on the
    /// numbers written.
    fn assert_inside(p: &Proposal, lang: Lang) -> Layout {
        let svg = svg(p, lang);
        let (w, h) = view_box(&svg);
        let l = layout(p, lang);
        assert_eq!((w, h), (WIDTH, l.height));
        let view = Rect { x0: 0.0, y0: 0.0, x1: w, y1: h };
        for m in &l.markers {
            assert!(Rect::around(m.x, m.y, m.shape.extent()).within(&l.frame), "marker {} outside the map", m.title);
        }
        for label in l.labels.iter().chain(l.legend.iter().map(|i| &i.label)).chain([&l.scale.label]) {
            assert!(label.rect.within(&view), "label {:?} at {:?} outside 0 0 {w} {h}", label.text, label.rect);
        }
        for label in &l.labels {
            assert!(label.rect.within(&l.frame), "map label {:?} outside the frame", label.text);
        }
        for (i, a) in l.labels.iter().enumerate() {
            for b in &l.labels[i + 1..] {
                assert!(!a.rect.overlaps(&b.rect), "{:?} overlaps {:?}", a.text, b.text);
            }
        }
        assert!(l.legend.iter().all(|i| i.label.rect.y1 <= h && i.label.rect.y0 > l.frame.y1), "legend below the map");
        assert!(l.scale.x0 >= 0.0 && l.scale.x1 <= w && l.scale.y <= h);
        for name in ["x", "cx", "width"] {
            assert!(numbers(&svg, name).iter().all(|v| (0.0..=w).contains(v)), "{name} within 0..{w}");
        }
        for name in ["y", "cy", "height"] {
            assert!(numbers(&svg, name).iter().all(|v| (0.0..=h).contains(v)), "{name} within 0..{h}");
        }
        for (_, a, b) in segments(&svg) {
            for (x, y) in [a, b] {
                assert!((0.0..=w).contains(&x) && (0.0..=h).contains(&y), "segment end {x} {y}");
            }
        }
        l
    }

    #[test]
    fn markers_and_labels_stay_inside_the_view_box() {
        let l = assert_inside(&ex(Lang::Fr), Lang::Fr);
        assert_eq!((l.omitted, l.omitted_sites), (0, 0), "the example's labels all fit");
        assert_eq!(l.labels.len(), 2 + 3, "two sites (L1 and L3 share one), three members");
        assert_inside(&ex(Lang::En), Lang::En);
        assert_inside(&france(), Lang::Fr);
        assert_inside(&all_at(GeoPoint { lat: 45.76, lon: 4.85 }), Lang::Fr);
        let l = assert_inside(&synthetic(100, 20), Lang::Fr);
        assert!(l.omitted > 0 && l.labels.len() > 20, "{} labels, {} left out", l.labels.len(), l.omitted);
        let big = svg_of(&synthetic(100, 20));
        assert!(big.contains(&format!("{} noms non affichés faute de place", l.omitted)));
        assert_eq!(l.labels.len() + l.omitted + l.omitted_sites, 100 + 20);
        if l.omitted_sites > 0 {
            assert!(big.contains(&format!("{} site", l.omitted_sites)) && big.contains(" non étiqueté"));
        }
        eprintln!(
            "100 × 20: {} labels shown, {} names and {} sites left out",
            l.labels.len(),
            l.omitted,
            l.omitted_sites
        );
        // North–south and east–west elongated bids keep an aspect within bounds.
        let mut tall = ex(Lang::Fr);
        tall.members[1].location = GeoPoint { lat: 50.63, lon: 4.85 };
        let l = assert_inside(&tall, Lang::Fr);
        assert!(l.frame.y1 - l.frame.y0 <= WIDTH * MAX_ASPECT + 2.0 * PAD + 1.0);
        let mut wide = ex(Lang::Fr);
        wide.members[1].location = GeoPoint { lat: 45.76, lon: -1.0 };
        let l = assert_inside(&wide, Lang::Fr);
        assert!(l.frame.y1 - l.frame.y0 >= (WIDTH - 2.0 * PAD) * MIN_ASPECT + 2.0 * PAD - 1.0);
    }

    /// The scale bar's drawn length, from the SVG: (km written, length in user units).
    fn drawn_scale(svg: &str) -> (f64, f64) {
        let scale = layer(svg, "scale");
        let km: f64 = attr(scale, "data-km")[0].parse().expect("km");
        let d = attr(scale, "d")[0];
        let x0: f64 = d[1..].split(' ').next().expect("x0").parse().expect("x0");
        let x1: f64 = d[d.find('H').expect("H") + 1..].split('V').next().expect("x1").parse().expect("x1");
        (km, x1 - x0)
    }

    #[test]
    fn the_scale_bar_measures_what_haversine_says() {
        for p in [ex(Lang::Fr), synthetic(100, 20), france(), all_at(GeoPoint { lat: 43.3, lon: 5.4 })] {
            let svg = svg_of(&p);
            let l = layout(&p, Lang::Fr);
            let (km, length) = drawn_scale(&svg);
            assert!([1.0, 2.0, 5.0].iter().any(|s| {
                let e = (km / s).log10();
                (e - e.round()).abs() < 1e-9
            }));
            assert!((0.09 * WIDTH..=0.25 * WIDTH).contains(&length), "bar of {length} units");
            // Two points the bar's length apart at the mean latitude, east–west and north–south.
            let pr = l.projection;
            let mean_lat = pr.cos.acos().to_degrees();
            let y = pr.project(GeoPoint { lat: mean_lat, lon: pr.lon0 }).1;
            let east = haversine_km(pr.unproject(pr.cx, y), pr.unproject(pr.cx + length, y));
            let north = haversine_km(pr.unproject(pr.cx, pr.cy), pr.unproject(pr.cx, pr.cy - length));
            for d in [east, north] {
                assert!((d - km).abs() <= 0.01 * km, "bar of {km} km spans {d} km");
            }
            // And from the data alone: two markers as far apart as drawn.
            let (a, b) = (&l.markers[0], l.markers.last().expect("markers"));
            let units = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
            let d = haversine_km(a.point, b.point);
            if d > 0.0 && d < 100.0 {
                let per_km = units / d;
                assert!((length / per_km - km).abs() <= 0.01 * km, "bar {length} vs {per_km} units per km");
            }
            assert!(svg.contains(&length_text(km, Lang::Fr)));
        }
        assert_eq!(length_text(0.5, Lang::Fr), "500\u{a0}m");
        assert_eq!(length_text(1000.0, Lang::Fr), "1\u{202f}000\u{a0}km");
        assert_eq!(round_length(163.0), 100.0);
        assert_eq!(round_length(0.41), 0.2);
        assert_eq!(round_length(0.5), 0.5);
        assert_eq!(round_length(4.9), 2.0);
    }

    #[test]
    fn names_come_out_escaped_and_tamed() {
        let mut p = ex(Lang::Fr);
        p.members[0].name = "<script>alert(\"x\")</script> & 'Co'".into();
        p.members[1].name = "\u{202e}ENIAL\u{202c} Intérim\u{2066} Passerelle\nLyon\u{0}".into();
        p.lines[0].id = "L1\"><b>".into();
        p.lines[0].title = Some("Nettoyage <i>&amp;</i>".into());
        let svg = svg_of(&p);
        assert!(!svg.contains("<script") && !svg.contains("<b>") && !svg.contains("<i>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;"), "{svg}");
        assert!(svg.contains("L1&quot;&gt;&lt;b&gt;"));
        assert!(svg.contains("Nettoyage &lt;i&gt;&amp;amp;&lt;/i&gt;"));
        for c in ['\u{202e}', '\u{202c}', '\u{2066}', '\u{0}', '\n'] {
            assert!(!svg.contains(c), "{c:?} left in");
        }
        assert!(svg.contains(">ENIAL Intérim Passere…</text>"), "{svg}");
        // Between tags, only the escaped forms of the special characters.
        let text: String = svg.split('>').map(|s| s.split('<').next().unwrap_or("")).collect();
        assert!(!text.contains('"') && !text.contains('\''));
    }

    #[test]
    fn long_names_are_cut_with_an_ellipsis() {
        assert_eq!(clean("Propreté Solidaire Lyonnaise", NAME_CHARS), "Propreté Solidaire…");
        assert_eq!(clean("Tremplin Vert ACI", NAME_CHARS), "Tremplin Vert ACI");
        assert_eq!(clean("ESAT Les Ateliers du Rhône", NAME_CHARS), "ESAT Les Ateliers…");
        assert_eq!(clean("Atelier et Chantier d'insertion", NAME_CHARS), "Atelier et Chantier…");
        assert_eq!(clean("  Tremplin \t Vert\r\nACI  ", NAME_CHARS), "Tremplin Vert ACI");
        assert_eq!(clean("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10), "ABCDEFGHI…");
        // e + combining acute stays whole or goes whole.
        let cut = clean("abcdefghie\u{301}xyz", 10);
        assert_eq!(cut, "abcdefghi…");
        assert_eq!(clean("abcdefghe\u{301}xyz", 10), "abcdefgh…");
        assert_eq!(clean("abcdefge\u{301}xyzw", 10), "abcdefge\u{301}…");
        assert!(clean(&"€".repeat(40), 22).chars().count() <= 22);
        assert_eq!(site_label(["L1", "L3"].into_iter()), "L1, L3");
        let many: Vec<String> = (1..=20).map(|i| format!("L{i}")).collect();
        assert_eq!(site_label(many.iter().map(String::as_str)), "L1, L2, L3, L4, L5 +15");
    }

    #[test]
    fn coordinates_have_one_fixed_decimal() {
        let shown: Vec<String> = [0.0, -0.04, 12.0, 12.25, -1.26, 679.96].iter().map(|v| N(*v).to_string()).collect();
        assert_eq!(shown, ["0.0", "0.0", "12.0", "12.3", "-1.3", "680.0"]);
        assert_eq!(Q(6).to_string(), "1.5");
    }

    #[test]
    fn the_same_bid_gives_the_same_bytes() {
        for p in [ex(Lang::Fr), synthetic(40, 9), france()] {
            let a = svg_of(&p);
            assert_eq!(a, svg_of(&p.clone()));
            assert_eq!(a, svg_of(&p));
            assert!(!a.contains("NaN") && !a.contains("inf"));
        }
        let (fr, en) = (svg(&ex(Lang::Fr), Lang::Fr), svg(&ex(Lang::Fr), Lang::En));
        assert_ne!(fr, en);
        assert!(fr.contains("Mandataire") && fr.contains("Site d&#39;exécution (ligne)"));
        assert!(en.contains("Lead member") && en.contains("Work site (line)") && en.contains("Lots: width by amount"));
        assert_eq!(svg(&ex(Lang::Fr), Lang::default()), fr);
    }

    #[test]
    fn a_bid_at_one_point_still_has_an_extent() {
        let p = all_at(GeoPoint { lat: 45.76, lon: 4.85 });
        let svg = svg_of(&p);
        let (w, h) = view_box(&svg);
        assert!(w == WIDTH && h > 200.0, "{w} × {h}");
        let l = layout(&p, Lang::Fr);
        assert!(l.projection.scale.is_finite() && l.projection.scale > 0.0);
        // 2 km across: the bar shows 500 m.
        assert_eq!(drawn_scale(&svg).0, 0.5);
        assert!(svg.contains(">500\u{a0}m</text>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        // Three members at one point: one marker, labelled with the lead and how many more.
        assert_eq!(l.markers.len(), 2);
        assert!(l.labels.iter().any(|l| l.text == "Propreté Solidaire… +2"), "{:?}", l.labels);
    }

    #[test]
    fn a_bid_without_lots_draws_nothing() {
        let mut p = ex(Lang::Fr);
        p.lines.iter_mut().for_each(|l| l.lots.clear());
        assert_eq!(svg_of(&p), "");
        let mut p = ex(Lang::Fr);
        p.lines.clear();
        assert_eq!(svg_of(&p), "");
    }

    #[test]
    fn a_line_without_lots_shows_a_hollow_site() {
        let mut p = ex(Lang::Fr);
        p.lines[2].lots.clear();
        p.lines[2].site = GeoPoint { lat: 45.80, lon: 4.80 };
        let svg = svg_of(&p);
        assert!(svg.contains("Site sans lot"));
        assert_eq!(layer(&svg, "sites").matches("fill=\"#fff\"").count(), 1);
    }

    #[test]
    fn print_legible_sizes_and_no_external_resource() {
        let svg = svg_of(&synthetic(100, 20));
        for size in numbers(&svg, "font-size") {
            assert!(size * PT_PER_UNIT >= 7.0, "font size {size} is {:.2} pt", size * PT_PER_UNIT);
        }
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("http").count(), 1, "only the SVG namespace");
        for forbidden in ["<script", "<image", "<foreignObject", "href", "url(", "@import", "<style"] {
            assert!(!svg.contains(forbidden), "{forbidden}");
        }
        assert!(svg.contains(&format!("max-width:{MAX_WIDTH_MM}mm")));
        // Strokes and text in dark ink or the page's accent, on white.
        for colour in attr(&svg, "stroke").into_iter().chain(attr(&svg, "fill")) {
            assert!([INK, ACCENT, MUTED, FRAME, "#fff", "none"].contains(&colour), "{colour}");
        }
    }

    #[test]
    fn a_large_bid_stays_small() {
        // Its speed is measured by `cargo bench -p essaim-core --bench proposal`, not here.
        let svg = svg_of(&synthetic(100, 20));
        assert_eq!(segments(&svg).len(), 2000);
        assert!(svg.len() < 150_000, "{} bytes", svg.len());
    }
}
