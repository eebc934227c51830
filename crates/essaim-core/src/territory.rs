//! Every current French commune (35 014 rows: the communes of the Code officiel géographique, overseas included,
//! and the municipal arrondissements of Paris, Lyon and Marseille) with its département, postal codes and a
//! position, from `config/communes.tsv.gz` (built by `scripts/build-communes.py`, sources and licences in
//! `config/COMMUNES-LICENCE.md`).
//!
//! A directory row is resolved by INSEE code ([`commune`]), or, as real exports carry them, by postal code and
//! commune name ([`resolve`]), or by name within a département ([`find_in_departement`]). Names are compared
//! folded: accents, case, hyphens, apostrophes and spaces do not count, « St »/« Ste » read as « Saint »/« Sainte »,
//! a trailing « CEDEX nn » is dropped and a trailing article « (Le) » moves to the front. Directories outlive
//! mergers: the code or the name of a commune merged since (74011, « Annecy-le-Vieux ») leads to the commune it
//! is part of now (74010 Annecy).
//!
//! Pure: the compressed table is compiled in and decompressed once, on first use (about 25 ms and 10 MB in a
//! release build, see `benches/territory.rs`); a lookup after that takes under a microsecond.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::OnceLock;

use thiserror::Error;

use crate::GeoPoint;

const COMMUNES_TSV_GZ: &[u8] = include_bytes!("../../../config/communes.tsv.gz");

/// Where a commune's position comes from (the last column of the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionSource {
    /// The town hall (DILA, Annuaire de l'administration).
    TownHall,
    /// The centroid of the commune's outline (IGN ADMIN EXPRESS), when the town hall had no usable position.
    Centroid,
    /// A GeoNames populated place (overseas collectivités only).
    GeoNames,
    /// Fallback: the chef-lieu of the commune's département; an importer should warn.
    ChefLieu,
    /// No position at all (Île de Clipperton).
    None,
}

impl PositionSource {
    /// The word used in the table and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TownHall => "mairie",
            Self::Centroid => "centroid",
            Self::GeoNames => "geonames",
            Self::ChefLieu => "chef-lieu",
            Self::None => "",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "mairie" => Self::TownHall,
            "centroid" => Self::Centroid,
            "geonames" => Self::GeoNames,
            "chef-lieu" => Self::ChefLieu,
            "" => Self::None,
            _ => return None,
        })
    }
}

/// A commune (or municipal arrondissement) of the national table.
#[derive(Debug, Clone, PartialEq)]
pub struct Commune {
    /// INSEE code: `69123`, `2A004`, `97411`; `13201` for Marseille's 1st arrondissement.
    pub insee: &'static str,
    /// Official name, with accents and article: « L'Abergement-Clémenciat ».
    pub name: &'static str,
    /// Département code: `35`, `2A`, `974`.
    pub departement: &'static str,
    /// Postal codes serving the commune (La Poste), sorted; empty for a few uninhabited overseas districts.
    pub postal_codes: Vec<&'static str>,
    /// Position; `None` only where no source has one (Île de Clipperton).
    pub position: Option<GeoPoint>,
    /// The position is the département's chef-lieu, not the commune's own: an importer should warn.
    pub position_is_fallback: bool,
    pub position_source: PositionSource,
}

/// Why a commune could not be found. Messages name what was asked, for `file:line: field: message` reports.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TerritoryError {
    #[error("« {0} » is not an INSEE commune code (5 characters: 69123, 2A004, 97411)")]
    InvalidCode(String),
    #[error("unknown commune code « {0} »")]
    UnknownCode(String),
    #[error("« {0} » is not a postal code (5 digits)")]
    InvalidPostalCode(String),
    #[error("no commune is named « {name} » {scope}")]
    UnknownName { name: String, scope: String },
    #[error("« {name} » is ambiguous {scope}: {}", Candidates(candidates))]
    Ambiguous { name: String, scope: String, candidates: Vec<Candidate> },
    #[error(
        "no commune named « {name} » has postal code {postal_code} (that code serves {}){}",
        Names(serves),
        Elsewhere(elsewhere)
    )]
    PostalCodeMismatch { postal_code: String, name: String, serves: Vec<Candidate>, elsewhere: Vec<Candidate> },
}

/// A commune named in an error: enough to choose between several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub insee: &'static str,
    pub name: &'static str,
    pub departement: &'static str,
}

impl From<&Commune> for Candidate {
    fn from(c: &Commune) -> Self {
        Self { insee: c.insee, name: c.name, departement: c.departement }
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.insee, self.name, self.departement)
    }
}

/// At most this many candidates are written out in a message (« Sainte-Colombe » names 12 communes).
const LISTED: usize = 8;

struct Candidates<'a>(&'a [Candidate]);

impl fmt::Display for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; give the postal code or the INSEE code", Names(self.0))
    }
}

struct Names<'a>(&'a [Candidate]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no commune: unknown or CEDEX code");
        }
        for (i, c) in self.0.iter().take(LISTED).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        if self.0.len() > LISTED {
            write!(f, " and {} more", self.0.len() - LISTED)?;
        }
        Ok(())
    }
}

struct Elsewhere<'a>(&'a [Candidate]);

impl fmt::Display for Elsewhere<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str("; that name is ")?;
        Names(self.0).fmt(f)
    }
}

struct Table {
    /// Sorted by INSEE code (the table's order), searched by bisection.
    communes: Vec<Commune>,
    by_postal_code: HashMap<&'static str, Vec<u32>>,
    /// (folded name, commune), sorted: the communes of a name are a run of it, nationally (a département's are
    /// filtered from them). A sorted vector rather than a map of vectors: half the memory.
    by_name: Vec<(Box<str>, u32)>,
    /// The same for the names of former communes, now communes déléguées or associées (« Annecy-le-Vieux »).
    by_former_name: Vec<(Box<str>, u32)>,
    /// (former INSEE code, commune), sorted: codes of communes merged since (74011 → 74010 Annecy).
    by_former_code: Vec<(&'static str, u32)>,
}

impl Table {
    fn get(&self, insee: &str) -> Option<&Commune> {
        self.communes.binary_search_by(|c| c.insee.cmp(insee)).ok().map(|i| &self.communes[i])
    }

    /// The communes that `keep` keeps among those whose folded name is `folded`; when none has that name, those
    /// that had it before a merger (a current name wins: « Annecy » is the commune, not its commune déléguée).
    fn named(&self, folded: &str, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let run = |index: &[(Box<str>, u32)]| -> Vec<u32> {
            let start = index.partition_point(|(name, _)| &**name < folded);
            index[start..]
                .iter()
                .take_while(|(name, _)| &**name == folded)
                .map(|&(_, i)| i)
                .filter(|&i| keep(i))
                .collect()
        };
        let current = run(&self.by_name);
        if !current.is_empty() {
            return current;
        }
        let mut former = run(&self.by_former_name);
        former.sort_unstable();
        former.dedup();
        former
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| load(COMMUNES_TSV_GZ))
}

/// Decompresses and indexes the table. The table is ours, built and checked by `scripts/build-communes.py` and
/// by this module's tests, so a malformed row is a build error, not an input error.
fn load(gz: &[u8]) -> Table {
    let mut text = String::with_capacity(gz.len() * 4);
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .expect("config/communes.tsv.gz is gzip'd UTF-8 (scripts/build-communes.py)");
    // Kept for the life of the process (like the table itself): the communes borrow their text from it.
    let text: &'static str = Box::leak(text.into_boxed_str());
    let mut communes = Vec::with_capacity(35_100);
    let mut former = Vec::with_capacity(35_100);
    for (n, line) in text.lines().enumerate().skip(1) {
        let (row, codes, names) =
            parse_row(line).unwrap_or_else(|| panic!("config/communes.tsv.gz:{}: malformed row", n + 1));
        communes.push(row);
        former.push((codes, names));
    }
    assert!(communes.windows(2).all(|w| w[0].insee < w[1].insee), "config/communes.tsv.gz is sorted by INSEE code");
    let mut by_postal_code: HashMap<&'static str, Vec<u32>> = HashMap::with_capacity(6_500);
    let mut by_name = Vec::with_capacity(communes.len());
    let (mut by_former_name, mut by_former_code) = (Vec::with_capacity(2_600), Vec::with_capacity(4_300));
    for (i, (c, (codes, names))) in communes.iter().zip(former).enumerate() {
        let i = i as u32;
        for cp in &c.postal_codes {
            by_postal_code.entry(cp).or_default().push(i);
        }
        by_name.push((fold(c.name).into_boxed_str(), i));
        by_former_code.extend(codes.split_ascii_whitespace().map(|code| (code, i)));
        by_former_name.extend(names.split('|').filter(|n| !n.is_empty()).map(|n| (fold(n).into_boxed_str(), i)));
    }
    by_name.sort_unstable();
    by_former_name.sort_unstable();
    by_former_code.sort_unstable();
    Table { communes, by_postal_code, by_name, by_former_name, by_former_code }
}

/// A row: the commune, its former codes (space-separated) and its former names (`|`-separated).
fn parse_row(line: &'static str) -> Option<(Commune, &'static str, &'static str)> {
    let mut f = line.split('\t');
    let (insee, name, departement, postal, lat, lon, source) =
        (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let (former_codes, former_names) = (f.next()?, f.next()?);
    let position_source = PositionSource::parse(source)?;
    let position = match (lat, lon) {
        ("", "") => None,
        _ => Some(GeoPoint::new(lat.parse().ok()?, lon.parse().ok()?).ok()?),
    };
    if position.is_none() != (position_source == PositionSource::None) || f.next().is_some() {
        return None;
    }
    let commune = Commune {
        insee,
        name,
        departement,
        postal_codes: postal.split_ascii_whitespace().collect(),
        position,
        position_is_fallback: position_source == PositionSource::ChefLieu,
        position_source,
    };
    Some((commune, former_codes, former_names))
}

/// Every commune of the table, sorted by INSEE code.
pub fn communes() -> &'static [Commune] {
    &table().communes
}

/// The commune with this INSEE code (surrounding spaces and a lower-case `2a`/`2b` accepted). The code of a
/// commune merged since (74011, Annecy-le-Vieux) gives the commune it is part of now (74010, Annecy): compare
/// [`Commune::insee`] with the code asked to tell.
pub fn commune(insee: &str) -> Result<&'static Commune, TerritoryError> {
    let code = insee.trim();
    if !crate::is_insee_code(code) {
        return Err(TerritoryError::InvalidCode(code.to_owned()));
    }
    let code = code.to_ascii_uppercase();
    let t = table();
    if let Some(c) = t.get(&code) {
        return Ok(c);
    }
    match t.by_former_code.binary_search_by(|(old, _)| (*old).cmp(code.as_str())) {
        Ok(at) => Ok(&t.communes[t.by_former_code[at].1 as usize]),
        Err(_) => Err(TerritoryError::UnknownCode(code)),
    }
}

/// The communes served by this postal code (empty for an unknown or CEDEX code).
pub fn communes_of_postal_code(postal_code: &str) -> Vec<&'static Commune> {
    let t = table();
    t.by_postal_code
        .get(postal_code.trim())
        .map(|ids| ids.iter().map(|&i| &t.communes[i as usize]).collect())
        .unwrap_or_default()
}

/// The commune of this postal code with this name, as directory exports carry them (« ST ETIENNE », 42000).
///
/// Postal codes shared by several communes are told apart by the name; a name shared by several communes
/// (Saint-Denis) is told apart by the postal code. A CEDEX code (not a postal code of any commune, 69361) is
/// resolved by the name within the département its first digits designate.
pub fn resolve(postal_code: &str, name: &str) -> Result<&'static Commune, TerritoryError> {
    let cp = postal_code.trim();
    if cp.len() != 5 || !cp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TerritoryError::InvalidPostalCode(cp.to_owned()));
    }
    let t = table();
    let wanted = fold(name);
    let named = || t.named(&wanted, |_| true);
    match t.by_postal_code.get(cp) {
        Some(served) => {
            let mut hits = t.named(&wanted, |i| served.contains(&i));
            if hits.is_empty() {
                // « BORS » for « Bors (Canton de Charente-Sud) »: the postal code tells the two Bors apart.
                hits = served
                    .iter()
                    .copied()
                    .filter(|&i| fold(base_name(t.communes[i as usize].name)) == wanted)
                    .collect();
            }
            match hits.as_slice() {
                [one] => Ok(&t.communes[*one as usize]),
                [] => Err(TerritoryError::PostalCodeMismatch {
                    postal_code: cp.to_owned(),
                    name: name.trim().to_owned(),
                    serves: served.iter().map(|&i| Candidate::from(&t.communes[i as usize])).collect(),
                    elsewhere: named().iter().map(|&i| Candidate::from(&t.communes[i as usize])).collect(),
                }),
                many => Err(TerritoryError::Ambiguous {
                    name: name.trim().to_owned(),
                    scope: format!("in postal code {cp}"),
                    candidates: many.iter().map(|&i| Candidate::from(&t.communes[i as usize])).collect(),
                }),
            }
        }
        None => match departement_of_postal_code(cp) {
            Some(dep) => find_in_departements(&dep[..], name, &format!("in postal code {cp}'s département")),
            None => Err(TerritoryError::PostalCodeMismatch {
                postal_code: cp.to_owned(),
                name: name.trim().to_owned(),
                serves: Vec::new(),
                elsewhere: named().iter().map(|&i| Candidate::from(&t.communes[i as usize])).collect(),
            }),
        },
    }
}

/// The commune of this name in this département (`35`, `2A`, `974`).
pub fn find_in_departement(departement: &str, name: &str) -> Result<&'static Commune, TerritoryError> {
    let dep = departement.trim().to_ascii_uppercase();
    find_in_departements(&[dep.as_str()], name, &format!("in département {dep}"))
}

/// The commune of this name anywhere in France; a name shared by several communes is an error listing them.
pub fn find_by_name(name: &str) -> Result<&'static Commune, TerritoryError> {
    let t = table();
    pick(t, &t.named(&fold(name), |_| true), name, "in France")
}

fn find_in_departements<S: AsRef<str>>(
    deps: &[S],
    name: &str,
    scope: &str,
) -> Result<&'static Commune, TerritoryError> {
    let t = table();
    let hits = t.named(&fold(name), |i| deps.iter().any(|d| d.as_ref() == t.communes[i as usize].departement));
    pick(t, &hits, name, scope)
}

fn pick(t: &'static Table, hits: &[u32], name: &str, scope: &str) -> Result<&'static Commune, TerritoryError> {
    match hits {
        [one] => Ok(&t.communes[*one as usize]),
        [] => Err(TerritoryError::UnknownName { name: name.trim().to_owned(), scope: scope.to_owned() }),
        many => Err(TerritoryError::Ambiguous {
            name: name.trim().to_owned(),
            scope: scope.to_owned(),
            candidates: many.iter().map(|&i| Candidate::from(&t.communes[i as usize])).collect(),
        }),
    }
}

/// A name without a bracketed qualifier: « Bors » for « Bors (Canton de Charente-Sud) ».
fn base_name(name: &str) -> &str {
    name.split_once(" (").map_or(name, |(base, _)| base)
}

/// The départements a postal code's first digits can designate (Corsica's 20xxx: 2A or 2B; overseas: 3 digits).
fn departement_of_postal_code(cp: &str) -> Option<Vec<&str>> {
    match &cp[..2] {
        "00" => None,
        "20" => Some(vec!["2A", "2B"]),
        "97" | "98" => Some(vec![&cp[..3]]),
        two => Some(vec![two]),
    }
}

/// A name as compared: without accents, case, punctuation or a CEDEX suffix; « st »/« ste » spelt out; a trailing
/// article in brackets (« Abergement-Clémenciat (L') ») in front.
pub fn fold(name: &str) -> String {
    let mut plain = String::with_capacity(name.len());
    for ch in name.chars() {
        match ch {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' | 'À' | 'Â' | 'Ä' | 'Á' | 'Ã' | 'Å' => plain.push('a'),
            'ç' | 'Ç' => plain.push('c'),
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => plain.push('e'),
            'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' | 'Í' | 'Ì' => plain.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' => plain.push('o'),
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => plain.push('u'),
            'ÿ' | 'Ÿ' | 'ý' | 'Ý' => plain.push('y'),
            'ñ' | 'Ñ' => plain.push('n'),
            'œ' | 'Œ' => plain.push_str("oe"),
            'æ' | 'Æ' => plain.push_str("ae"),
            c if c.is_alphanumeric() => plain.extend(c.to_lowercase()),
            '(' => plain.push_str(" ( "),
            ')' => plain.push(' '),
            _ => plain.push(' '),
        }
    }
    let mut words: Vec<&str> = plain.split_whitespace().collect();
    // « LYON CEDEX 03 », « RENNES CEDEX »: what follows CEDEX is a delivery office, not part of the name.
    if let Some(at) = words.iter().position(|w| *w == "cedex") {
        words.truncate(at);
    }
    // « Abergement-Clémenciat (L') », « Rochelle (La) », as some directories sort names; other brackets are part
    // of the name (« Château-Chinon (Ville) » and « Château-Chinon (Campagne) » share a postal code).
    if let Some(at) = words.iter().position(|w| *w == "(") {
        if let [article @ ("l" | "le" | "la" | "les")] = words[at + 1..] {
            words.truncate(at);
            words.insert(0, article);
        } else {
            words.remove(at);
        }
    }
    let mut out = String::with_capacity(plain.len());
    for w in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(match w {
            "st" => "saint",
            "ste" => "sainte",
            "sts" => "saints",
            "stes" => "saintes",
            w => w,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: Result<&'static Commune, TerritoryError>) -> &'static str {
        c.unwrap().insee
    }

    #[test]
    fn the_table_has_every_commune_and_arrondissement() {
        let all = communes();
        assert_eq!(all.len(), 35_014);
        assert!(all.windows(2).all(|w| w[0].insee < w[1].insee), "sorted by INSEE code");
        let arrondissements = all.iter().filter(|c| c.name.ends_with("Arrondissement")).count();
        assert_eq!(arrondissements, 45, "20 in Paris, 9 in Lyon, 16 in Marseille");
        let own = all.iter().filter(|c| c.position.is_some() && !c.position_is_fallback).count();
        assert_eq!(own, 34_971, "the coverage the README reports");
        assert_eq!(all.iter().filter(|c| c.position_is_fallback).count(), 42);
        assert_eq!(all.iter().filter(|c| c.position.is_none()).map(|c| c.insee).collect::<Vec<_>>(), ["98901"]);
    }

    #[test]
    fn by_insee_code_big_cities_their_arrondissements_corsica_and_overseas() {
        let marseille = commune("13055").unwrap();
        assert_eq!((marseille.name, marseille.departement), ("Marseille", "13"));
        assert_eq!(marseille.postal_codes.len(), 16);
        let m1 = commune("13201").unwrap();
        assert_eq!((m1.name, m1.postal_codes.as_slice()), ("Marseille 1er Arrondissement", &["13001"][..]));
        assert_eq!(commune("13216").unwrap().name, "Marseille 16e Arrondissement");
        let rennes = commune("35238").unwrap();
        assert_eq!((rennes.name, rennes.departement), ("Rennes", "35"));
        let p = rennes.position.unwrap();
        assert!((p.lat - 48.11).abs() < 0.05 && (p.lon + 1.68).abs() < 0.05, "{p:?}");
        assert_eq!(commune("69123").unwrap().name, "Lyon");
        assert_eq!(commune(" 69381 ").unwrap().name, "Lyon 1er Arrondissement");
        let ajaccio = commune("2A004").unwrap();
        assert_eq!((ajaccio.name, ajaccio.departement), ("Ajaccio", "2A"));
        assert_eq!(commune("2a004").unwrap().insee, "2A004");
        let p = ajaccio.position.unwrap();
        assert!((p.lat - 41.92).abs() < 0.05 && (p.lon - 8.74).abs() < 0.05, "{p:?}");
        let st_denis = commune("97411").unwrap();
        assert_eq!((st_denis.name, st_denis.departement), ("Saint-Denis", "974"));
        assert!(st_denis.postal_codes.contains(&"97400"));
        let p = st_denis.position.unwrap();
        assert!((p.lat + 20.88).abs() < 0.05 && (p.lon - 55.45).abs() < 0.05, "{p:?}");
        assert!(!st_denis.position_is_fallback);
        assert_eq!(st_denis.position_source, PositionSource::TownHall);
    }

    #[test]
    fn former_communes_lead_to_the_commune_they_merged_into() {
        // Annecy absorbed Annecy-le-Vieux (74011), Cran-Gevrier, Meythet, Pringy and Seynod in 2017.
        assert_eq!(code(commune("74011")), "74010");
        assert_eq!(code(resolve("74940", "ANNECY LE VIEUX")), "74010");
        assert_eq!(code(find_in_departement("74", "Seynod")), "74010");
        // Ajaccio's code before Corsica was split in two départements (1976).
        assert_eq!(code(commune("20004")), "2A004");
        // A current name wins over a former one: Arbignieu is a commune déléguée whose code is its commune's.
        assert_eq!(code(commune("01015")), "01015");
        assert_eq!(commune("01015").unwrap().name, "Arboys en Bugey");
        assert_eq!(code(resolve("01300", "Arbignieu")), "01015");
    }

    #[test]
    fn bad_and_unknown_codes_are_told_apart() {
        assert_eq!(commune("99999"), Err(TerritoryError::UnknownCode("99999".into())));
        assert_eq!(commune("Lyon"), Err(TerritoryError::InvalidCode("Lyon".into())));
        assert_eq!(commune("99999").unwrap_err().to_string(), "unknown commune code « 99999 »");
    }

    #[test]
    fn postal_code_and_name_as_exports_write_them() {
        assert_eq!(code(resolve("42000", "ST ETIENNE")), "42218");
        assert_eq!(code(resolve("42100", "Saint-Étienne")), "42218");
        assert_eq!(code(resolve("35000", "RENNES CEDEX")), "35238");
        assert_eq!(code(resolve("69001", "lyon 1er arrondissement")), "69381");
        assert_eq!(code(resolve("69001", "LYON")), "69123");
        assert_eq!(code(resolve("13001", "Marseille")), "13055");
        assert_eq!(code(resolve("97400", "saint-denis")), "97411");
        assert_eq!(code(resolve("93200", "SAINT DENIS")), "93066");
        // Accents and case: « L'Haÿ-les-Roses », « Œting » and a Sainte.
        assert_eq!(code(resolve("94240", "L HAY LES ROSES")), "94038");
        assert_eq!(code(resolve("57600", "oeting")), "57521");
        assert_eq!(code(resolve("97115", "STE ROSE")), "97129");
        assert_eq!(code(resolve("97439", "Ste-Rose")), "97419");
        // Brackets: a qualifier that tells two communes apart, or dropped when the postal code does.
        assert_eq!(code(resolve("58120", "CHATEAU CHINON (CAMPAGNE)")), "58063");
        assert_eq!(code(resolve("58120", "Château-Chinon (Ville)")), "58062");
        assert_eq!(code(resolve("16360", "BORS")), "16053");
        assert_eq!(code(resolve("01400", "Abergement-Clémenciat (L')")), "01001");
        assert_eq!(code(resolve("84000", "AVIGNON")), "84007");
    }

    #[test]
    fn a_cedex_code_resolves_in_its_departement() {
        // 69361 is a CEDEX code of Lyon: no commune has it as postal code.
        assert!(communes_of_postal_code("69361").is_empty());
        assert_eq!(code(resolve("69361", "LYON CEDEX 07")), "69123");
        assert_eq!(code(resolve("20090", "AJACCIO")), "2A004");
        assert_eq!(code(resolve("20700", "AJACCIO CEDEX 9")), "2A004");
    }

    #[test]
    fn saint_denis_is_ambiguous_without_its_postal_code() {
        let err = find_by_name("saint-denis").unwrap_err();
        let TerritoryError::Ambiguous { candidates, .. } = &err else { panic!("{err:?}") };
        assert_eq!(candidates.iter().map(|c| c.insee).collect::<Vec<_>>(), ["11339", "30247", "93066", "97411"]);
        let message = err.to_string();
        assert!(message.starts_with("« saint-denis » is ambiguous in France: "), "{message}");
        assert!(
            message.contains("93066 Saint-Denis (93)") && message.ends_with("give the postal code or the INSEE code")
        );
        let many = find_by_name("STE COLOMBE").unwrap_err().to_string();
        assert!(many.ends_with(" and 4 more; give the postal code or the INSEE code"), "{many}");
        assert_eq!(code(find_in_departement("974", "Saint Denis")), "97411");
        assert_eq!(code(find_in_departement("2a", "ajaccio")), "2A004");
        assert_eq!(code(find_by_name("Rennes")), "35238");
    }

    #[test]
    fn a_name_that_the_postal_code_does_not_serve_names_both() {
        let err = resolve("35000", "Saint-Étienne").unwrap_err();
        let TerritoryError::PostalCodeMismatch { serves, elsewhere, .. } = &err else { panic!("{err:?}") };
        assert_eq!(serves.iter().map(|c| c.insee).collect::<Vec<_>>(), ["35238"]);
        assert!(elsewhere.iter().any(|c| c.insee == "42218"));
        assert!(
            err.to_string().starts_with(
                "no commune named « Saint-Étienne » has postal code 35000 (that code serves 35238 Rennes (35)); \
                 that name is 42218 Saint-Étienne (42)"
            ),
            "{err}"
        );
        assert_eq!(
            find_in_departement("35", "Lyon").unwrap_err().to_string(),
            "no commune is named « Lyon » in département 35"
        );
        assert_eq!(resolve("3500", "Rennes"), Err(TerritoryError::InvalidPostalCode("3500".into())));
    }

    #[test]
    fn folding_ignores_what_exports_change() {
        assert_eq!(fold("Saint-Étienne"), fold("ST ETIENNE"));
        assert_eq!(fold("Sainte-Foy-lès-Lyon"), fold("STE FOY LES LYON"));
        assert_eq!(fold("L'Île-Saint-Denis"), "l ile saint denis");
        assert_eq!(fold("Rochelle (La)"), "la rochelle");
        assert_eq!(fold("PARIS CEDEX 08"), "paris");
        assert_eq!(fold("  Saint--Denis  "), "saint denis");
        assert_eq!(fold("Œting"), "oeting");
        // A word that only starts like « st » stays as it is.
        assert_eq!(fold("Stains"), "stains");
        assert_eq!(fold("Château-Chinon (Ville)"), "chateau chinon ville");
    }

    #[test]
    fn fallback_positions_are_flagged() {
        let fallbacks: Vec<&Commune> = communes().iter().filter(|c| c.position_is_fallback).collect();
        assert!(fallbacks.iter().all(|c| c.position_source == PositionSource::ChefLieu && c.position.is_some()));
        // Aurseulles (Calvados) has no position of its own in the sources: Caen's.
        let aurseulles = commune("14581").unwrap();
        assert!(aurseulles.position_is_fallback);
        assert_eq!(aurseulles.position, commune("14118").unwrap().position);
    }
}
