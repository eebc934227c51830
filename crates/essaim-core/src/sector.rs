use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A business sector of the taxonomy (`nettoyage`, `espaces_verts`…): a lowercase slug.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sector(String);

impl Sector {
    /// A syntactically valid slug (`[a-z0-9_]+`). Whether it is *known* is the taxonomy's business.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let slug = value.trim();
        if slug.is_empty() {
            return Err(DomainError::Empty { field: field.to_owned() });
        }
        if !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(DomainError::invalid(
                field,
                format!("« {slug} » is not a sector slug (lowercase letters, digits and _ only, e.g. espaces_verts)"),
            ));
        }
        Ok(Self(slug.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the taxonomy says about one sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorInfo {
    pub slug: Sector,
    pub label_fr: String,
    pub label_en: String,
    /// Default unit of quantities in this sector (`h` for hours).
    pub unit: String,
}

/// The sectors essaim knows, loaded from configuration (a default one ships in `config/default.toml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SectorTaxonomy {
    sectors: BTreeMap<Sector, SectorInfo>,
}

impl SectorTaxonomy {
    pub fn new(sectors: impl IntoIterator<Item = SectorInfo>) -> Self {
        Self { sectors: sectors.into_iter().map(|info| (info.slug.clone(), info)).collect() }
    }

    /// Resolves a sector name, accepting case and accent-free variants such as `Espaces verts`.
    pub fn resolve(&self, field: &str, value: &str) -> Result<Sector, DomainError> {
        let normalised: String = value
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'à' | 'â' => 'a',
                'ô' => 'o',
                'î' | 'ï' => 'i',
                'û' | 'ù' => 'u',
                'ç' => 'c',
                other => other,
            })
            .collect();
        let sector = Sector::parse(field, &normalised)?;
        if self.sectors.contains_key(&sector) {
            Ok(sector)
        } else {
            Err(DomainError::UnknownSector {
                field: field.to_owned(),
                value: value.trim().to_owned(),
                known: self.known(),
            })
        }
    }

    pub fn get(&self, sector: &Sector) -> Option<&SectorInfo> {
        self.sectors.get(sector)
    }

    pub fn iter(&self) -> impl Iterator<Item = &SectorInfo> {
        self.sectors.values()
    }

    pub fn is_empty(&self) -> bool {
        self.sectors.is_empty()
    }

    fn known(&self) -> String {
        self.sectors.keys().map(Sector::as_str).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taxonomy() -> SectorTaxonomy {
        SectorTaxonomy::new(["nettoyage", "espaces_verts"].map(|s| SectorInfo {
            slug: Sector::parse("slug", s).unwrap(),
            label_fr: s.into(),
            label_en: s.into(),
            unit: "h".into(),
        }))
    }

    #[test]
    fn resolves_human_spellings() {
        let t = taxonomy();
        assert_eq!(t.resolve("sector", "Espaces verts").unwrap().as_str(), "espaces_verts");
        assert_eq!(t.resolve("sector", " NETTOYAGE ").unwrap().as_str(), "nettoyage");
    }

    #[test]
    fn unknown_sector_lists_known_ones() {
        let err = taxonomy().resolve("capacities", "plomberie").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("plomberie") && text.contains("espaces_verts, nettoyage"), "{text}");
        assert_eq!(err.field(), "capacities");
    }
}
