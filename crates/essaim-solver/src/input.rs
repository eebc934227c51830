//! The allocation input (docs/allocation.md) and its validation into an indexed [`Instance`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use essaim_core::{GeoPoint, ParticipationMode, Reservation, SupplierKind, haversine_km};
use serde::{Deserialize, Serialize};

use crate::SolverError;

/// A position as written in the JSON input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub lat: f64,
    pub lon: f64,
}

/// One tender line to split into micro-lots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub id: String,
    pub sector: String,
    pub quantity: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub site: Site,
    /// Largest share of the line one supplier may take, in (0, 1]; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_share: Option<f64>,
    /// How suppliers may take part: `execution` and/or `mise_a_disposition`; default `["execution"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<Vec<String>>,
    /// `handicap` (L2113-12) or `insertion` (L2113-13): only those kinds may take the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<String>,
    /// Social clause: hours of work by people in insertion the line must carry (soft, penalised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insertion_hours_min: Option<f64>,
    /// Fields a tender file carries; the solver ignores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<serde_json::Value>,
}

/// A supplier able to take micro-lots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierInput {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub location: Site,
    pub max_distance_km: f64,
    #[serde(default)]
    pub min_lot: f64,
    /// Capacity per sector, in the sector's unit.
    pub capacity: BTreeMap<String, f64>,
    /// Share (0–1) of its hours worked by people in insertion; counts toward a line's clause hours.
    /// Absent: the caller's default for the kind (the command line fills it from the configuration), else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insertion_rate: Option<f64>,
    /// Units awarded to it over the last 12 months, any sector (fairness term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_volume: Option<f64>,
}

/// The weights of the objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// α: cost per unit·km.
    pub per_unit_km: f64,
    /// F: fixed cost of one micro-lot (prefers few, sizeable lots).
    pub per_lot: f64,
    /// P: penalty per unit left uncovered.
    pub per_unit_shortfall: f64,
    /// Q: penalty per hour of a line's social clause (`insertion_hours_min`) not reached.
    pub per_clause_hour_shortfall: f64,
    /// φ: cost per unit given to the structure with the largest `recent_volume` (scaled by ρ/ρ_max for the
    /// others), so that work rotates.
    pub per_unit_fairness: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            per_unit_km: 1.0,
            per_lot: 50.0,
            per_unit_shortfall: 10000.0,
            per_clause_hour_shortfall: 1000.0,
            per_unit_fairness: 0.0,
        }
    }
}

/// A lot accepted earlier: it keeps its quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedLot {
    pub line: String,
    pub supplier: String,
    pub quantity: f64,
}

/// A (line, supplier) pair that must not be used (the supplier declined it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludedPair {
    pub line: String,
    pub supplier: String,
}

/// Everything one solver run needs (the JSON of `essaim allocate --input`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    pub lines: Vec<LineInput>,
    pub suppliers: Vec<SupplierInput>,
    #[serde(default)]
    pub weights: Option<Weights>,
    #[serde(default)]
    pub fixed: Vec<FixedLot>,
    #[serde(default)]
    pub excluded: Vec<ExcludedPair>,
}

/// A validated line, referring to sectors by index.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub id: String,
    pub sector: usize,
    pub quantity: f64,
    pub site: GeoPoint,
    pub max_share: f64,
    /// The participation modes the line accepts (never empty).
    pub modes: Vec<ParticipationMode>,
    pub reserved: Option<Reservation>,
    /// h_l: clause hours asked for (0 when the line has no clause).
    pub clause_hours: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Supplier {
    pub id: String,
    pub kind: Option<SupplierKind>,
    pub location: GeoPoint,
    pub max_distance_km: f64,
    pub min_lot: f64,
    /// Capacity by sector index (only sectors some line uses).
    pub capacity: HashMap<usize, f64>,
    /// r_s: share of its hours that count toward a clause.
    pub insertion_rate: f64,
    /// φ·ρ_s/ρ_max: the fairness cost of one unit given to it.
    pub fairness: f64,
}

/// Why a supplier may not take a line whatever its capacity and distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ineligible {
    /// The line is reserved to a family the supplier's kind is not in.
    Reserved,
    /// The supplier works by a participation mode the line does not accept.
    Mode,
}

/// The validated problem: indices instead of ids, fixed lots and exclusions resolved.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub sectors: Vec<String>,
    pub lines: Vec<Line>,
    pub suppliers: Vec<Supplier>,
    pub weights: Weights,
    /// (line, supplier) → accepted quantity.
    pub fixed: BTreeMap<(usize, usize), f64>,
    pub excluded: BTreeSet<(usize, usize)>,
}

impl Instance {
    pub fn distance(&self, line: usize, supplier: usize) -> f64 {
        haversine_km(self.suppliers[supplier].location, self.lines[line].site)
    }

    pub fn capacity(&self, supplier: usize, sector: usize) -> f64 {
        self.suppliers[supplier].capacity.get(&sector).copied().unwrap_or(0.0)
    }

    /// Whether the kind of `supplier` may take `line` (docs/allocation.md: participation mode, then reservation).
    /// A supplier without a kind works by execution and belongs to no family.
    pub fn eligibility(&self, line: usize, supplier: usize) -> Result<(), Ineligible> {
        let (line, kind) = (&self.lines[line], self.suppliers[supplier].kind);
        let mode = kind.map_or(ParticipationMode::Execution, SupplierKind::mode);
        if let Some(reserved) = line.reserved
            && !kind.is_some_and(|k| reserved.admits(k))
        {
            return Err(Ineligible::Reserved);
        }
        if !line.modes.contains(&mode) {
            return Err(Ineligible::Mode);
        }
        Ok(())
    }

    /// Σ r_s·f of the fixed lots of line `l`: the clause hours already secured.
    pub fn fixed_clause_hours(&self, l: usize) -> f64 {
        self.fixed
            .iter()
            .filter(|((fl, _), _)| *fl == l)
            .map(|(&(_, s), &q)| self.suppliers[s].insertion_rate * q)
            .sum()
    }
}

/// Quantities are reported to 1e-6: lots read back from an earlier result may exceed a total by that much.
const QUANTITY_TOLERANCE: f64 = 1e-6;

fn bad(item: impl Into<String>, field: &str, message: impl Into<String>) -> SolverError {
    SolverError::InvalidInput { item: item.into(), field: field.to_owned(), message: message.into() }
}

fn finite_non_negative(item: &str, field: &str, value: f64) -> Result<f64, SolverError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(bad(item, field, format!("{value} must be a finite number ≥ 0")))
    }
}

/// The message of a domain error without its leading `field: `.
fn strip_field(e: &essaim_core::DomainError) -> String {
    let text = e.to_string();
    text.strip_prefix(&format!("{}: ", e.field())).map(str::to_owned).unwrap_or(text)
}

fn point(item: &str, field: &str, site: Site) -> Result<GeoPoint, SolverError> {
    GeoPoint::checked(&format!("{field}.lat"), site.lat, &format!("{field}.lon"), site.lon).map_err(|e| {
        let field = e.field().to_owned();
        bad(item, &field, e.to_string().trim_start_matches(&format!("{field}: ")).to_owned())
    })
}

impl AllocationInput {
    /// Parses the JSON text of an allocation input; errors give the line and column, and a value of the
    /// wrong type also the field it is in (`lines[0].quantity`), which a line and column alone hide in a
    /// one-line file.
    pub fn from_json(text: &str) -> Result<Self, SolverError> {
        let mut json = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                SolverError::Json(inner.to_string())
            } else {
                SolverError::Json(format!("{path}: {inner}"))
            }
        })
    }

    /// Checks every item and builds the indexed instance. Errors name the item and the field.
    pub(crate) fn validate(&self) -> Result<Instance, SolverError> {
        let weights = self.weights.unwrap_or_default();
        finite_non_negative("weights", "per_unit_km", weights.per_unit_km)?;
        finite_non_negative("weights", "per_lot", weights.per_lot)?;
        finite_non_negative("weights", "per_unit_shortfall", weights.per_unit_shortfall)?;
        finite_non_negative("weights", "per_clause_hour_shortfall", weights.per_clause_hour_shortfall)?;
        finite_non_negative("weights", "per_unit_fairness", weights.per_unit_fairness)?;

        let mut sectors: Vec<String> = Vec::new();
        let mut sector_index: HashMap<String, usize> = HashMap::new();
        let mut line_index: HashMap<&str, usize> = HashMap::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            let item = format!("lines[{i}] (id {:?})", l.id);
            if l.id.trim().is_empty() {
                return Err(bad(format!("lines[{i}]"), "id", "must not be empty"));
            }
            if line_index.insert(l.id.as_str(), i).is_some() {
                return Err(bad(item, "id", format!("duplicate line id {:?}", l.id)));
            }
            if l.sector.trim().is_empty() {
                return Err(bad(item, "sector", "must not be empty"));
            }
            let quantity = finite_non_negative(&item, "quantity", l.quantity)?;
            let site = point(&item, "site", l.site)?;
            let max_share = l.max_share.unwrap_or(1.0);
            if !max_share.is_finite() || max_share <= 0.0 || max_share > 1.0 {
                return Err(bad(item, "max_share", format!("{max_share} must be within (0, 1]")));
            }
            let modes = match &l.participation {
                None => ParticipationMode::default_accepted(),
                Some(list) => {
                    let mut modes = Vec::new();
                    for value in list {
                        let mode = ParticipationMode::parse_field("participation", value)
                            .map_err(|e| bad(&item, "participation", strip_field(&e)))?;
                        if !modes.contains(&mode) {
                            modes.push(mode);
                        }
                    }
                    if modes.is_empty() {
                        return Err(bad(
                            item,
                            "participation",
                            "must list at least one mode (execution, mise_a_disposition)",
                        ));
                    }
                    modes.sort();
                    modes
                }
            };
            let reserved = match l.reserved.as_deref() {
                None => None,
                Some(value) => Some(
                    Reservation::parse_field("reserved", value).map_err(|e| bad(&item, "reserved", strip_field(&e)))?,
                ),
            };
            let clause_hours = match l.insertion_hours_min {
                None => 0.0,
                Some(h) => {
                    let h = finite_non_negative(&item, "insertion_hours_min", h)?;
                    if h > quantity + 1e-9 {
                        return Err(bad(
                            item,
                            "insertion_hours_min",
                            format!("{h} is more than the line's quantity {quantity}"),
                        ));
                    }
                    h
                }
            };
            let next = sectors.len();
            let sector = *sector_index.entry(l.sector.clone()).or_insert_with(|| {
                sectors.push(l.sector.clone());
                next
            });
            lines.push(Line { id: l.id.clone(), sector, quantity, site, max_share, modes, reserved, clause_hours });
        }

        let mut supplier_index: HashMap<&str, usize> = HashMap::new();
        let mut suppliers = Vec::with_capacity(self.suppliers.len());
        for (i, s) in self.suppliers.iter().enumerate() {
            let item = format!("suppliers[{i}] (id {:?})", s.id);
            if s.id.trim().is_empty() {
                return Err(bad(format!("suppliers[{i}]"), "id", "must not be empty"));
            }
            if supplier_index.insert(s.id.as_str(), i).is_some() {
                return Err(bad(item, "id", format!("duplicate supplier id {:?}", s.id)));
            }
            let location = point(&item, "location", s.location)?;
            let max_distance_km = finite_non_negative(&item, "max_distance_km", s.max_distance_km)?;
            let min_lot = finite_non_negative(&item, "min_lot", s.min_lot)?;
            let mut capacity = HashMap::new();
            for (sector, quantity) in &s.capacity {
                let quantity = finite_non_negative(&item, &format!("capacity.{sector}"), *quantity)?;
                if let Some(&k) = sector_index.get(sector) {
                    capacity.insert(k, quantity);
                }
            }
            let kind = match s.kind.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(value) => {
                    Some(SupplierKind::parse_field("kind", value).map_err(|e| bad(&item, "kind", strip_field(&e)))?)
                }
            };
            let insertion_rate = match s.insertion_rate {
                None => 0.0,
                Some(r) if r.is_finite() && (0.0..=1.0).contains(&r) => r,
                Some(r) => return Err(bad(item, "insertion_rate", format!("{r} must be within [0, 1]"))),
            };
            let recent_volume = finite_non_negative(&item, "recent_volume", s.recent_volume.unwrap_or(0.0))?;
            suppliers.push(Supplier {
                id: s.id.clone(),
                kind,
                location,
                max_distance_km,
                min_lot,
                capacity,
                insertion_rate,
                fairness: recent_volume,
            });
        }
        // φ·ρ_s/ρ_max, skipped when nobody was served recently (ρ_max = 0).
        let recent_max = suppliers.iter().map(|s| s.fairness).fold(0.0_f64, f64::max);
        for s in &mut suppliers {
            s.fairness = if recent_max > 0.0 { weights.per_unit_fairness * s.fairness / recent_max } else { 0.0 };
        }

        let find = |item: &str, line: &str, supplier: &str| -> Result<(usize, usize), SolverError> {
            let l = *line_index.get(line).ok_or_else(|| bad(item, "line", format!("unknown line {line:?}")))?;
            let s = *supplier_index
                .get(supplier)
                .ok_or_else(|| bad(item, "supplier", format!("unknown supplier {supplier:?}")))?;
            Ok((l, s))
        };

        let mut excluded = BTreeSet::new();
        for (i, e) in self.excluded.iter().enumerate() {
            let pair = find(&format!("excluded[{i}]"), &e.line, &e.supplier)?;
            excluded.insert(pair);
        }

        let mut fixed = BTreeMap::new();
        let mut fixed_per_line: HashMap<usize, f64> = HashMap::new();
        let mut fixed_per_capacity: HashMap<(usize, usize), f64> = HashMap::new();
        for (i, f) in self.fixed.iter().enumerate() {
            let item = format!("fixed[{i}] (line {:?}, supplier {:?})", f.line, f.supplier);
            let (l, s) = find(&item, &f.line, &f.supplier)?;
            let quantity = finite_non_negative(&item, "quantity", f.quantity)?;
            if quantity <= 0.0 {
                // An accepted lot of nothing is a decline: it belongs in `excluded`.
                return Err(bad(item, "quantity", "must be > 0 (put a declined pair in `excluded` instead)"));
            }
            // A pair both fixed and excluded keeps its lot and gets nothing more (a partial acceptance).
            if fixed.insert((l, s), quantity).is_some() {
                return Err(bad(item, "line", "a fixed lot for this line and supplier is given twice"));
            }
            let sector = lines[l].sector;
            let capacity = suppliers[s].capacity.get(&sector).copied().unwrap_or(0.0);
            if capacity <= 0.0 {
                return Err(bad(
                    item,
                    "supplier",
                    format!(
                        "supplier {:?} has no capacity in sector {:?} of line {:?}",
                        f.supplier, sectors[sector], f.line
                    ),
                ));
            }
            let on_line = fixed_per_line.entry(l).or_default();
            *on_line += quantity;
            if *on_line > lines[l].quantity + QUANTITY_TOLERANCE {
                return Err(bad(
                    item,
                    "quantity",
                    format!(
                        "fixed lots on line {:?} add up to {on_line}, more than its quantity {}",
                        f.line, lines[l].quantity
                    ),
                ));
            }
            let booked = fixed_per_capacity.entry((s, sector)).or_default();
            *booked += quantity;
            if *booked > capacity + QUANTITY_TOLERANCE {
                return Err(bad(
                    item,
                    "quantity",
                    format!(
                        "fixed lots of supplier {:?} in {:?} add up to {booked}, more than its capacity {capacity}",
                        f.supplier, sectors[sector]
                    ),
                ));
            }
        }

        Ok(Instance { sectors, lines, suppliers, weights, fixed, excluded })
    }
}

impl AllocationInput {
    /// The input for a stored tender and the suppliers that may answer it (identified by SIRET), with
    /// nothing fixed or excluded yet. A supplier without an insertion rate of its own gets the default of
    /// its kind from `default_rates` (the configuration's `[impact.insertion_rate]`).
    pub fn for_tender(
        tender: &essaim_core::Tender,
        suppliers: &[essaim_core::Supplier],
        weights: Weights,
        default_rates: &BTreeMap<SupplierKind, f64>,
    ) -> Self {
        AllocationInput {
            lines: tender
                .lines
                .iter()
                .map(|l| LineInput {
                    id: l.id.clone(),
                    sector: l.sector.to_string(),
                    quantity: l.quantity,
                    unit: Some(l.unit.clone()),
                    site: Site { lat: l.site.lat, lon: l.site.lon },
                    max_share: Some(l.max_share),
                    participation: Some(l.participation.iter().map(|m| m.as_str().to_owned()).collect()),
                    reserved: l.reserved.map(|r| r.as_str().to_owned()),
                    insertion_hours_min: l.insertion_hours_min,
                    ..LineInput::default()
                })
                .collect(),
            suppliers: suppliers
                .iter()
                .map(|s| SupplierInput {
                    id: s.siret.to_string(),
                    name: Some(s.name.clone()),
                    kind: Some(s.kind.to_string()),
                    location: Site { lat: s.location.lat, lon: s.location.lon },
                    max_distance_km: s.max_distance_km,
                    min_lot: s.min_lot,
                    capacity: s.capacities.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                    insertion_rate: s.insertion_rate.or_else(|| default_rates.get(&s.kind).copied()),
                    recent_volume: None,
                })
                .collect(),
            weights: Some(weights),
            fixed: Vec::new(),
            excluded: Vec::new(),
        }
    }

    /// Fills the insertion rate of every supplier that has a kind but no rate with the default of its kind
    /// (what `essaim allocate` does with the configuration).
    pub fn fill_default_rates(&mut self, default_rates: &BTreeMap<SupplierKind, f64>) {
        for s in &mut self.suppliers {
            if s.insertion_rate.is_none()
                && let Some(kind) = s.kind.as_deref().and_then(|k| SupplierKind::parse_field("kind", k).ok())
            {
                s.insertion_rate = default_rates.get(&kind).copied();
            }
        }
    }
}
