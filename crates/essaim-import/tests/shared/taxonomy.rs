//! The sector taxonomy of the shipped configuration, for the tests: one reading of `config/default.toml`
//! shared by the unit tests (`#[path]` from `src/lib.rs`) and the integration tests.

use essaim_core::{Sector, SectorInfo, SectorTaxonomy};

/// The taxonomy of the shipped configuration.
pub fn taxonomy() -> SectorTaxonomy {
    #[derive(serde::Deserialize)]
    struct Shipped {
        sectors: Vec<SectorRow>,
    }
    #[derive(serde::Deserialize)]
    struct SectorRow {
        slug: String,
        label_fr: String,
        label_en: String,
        unit: String,
    }
    let shipped: Shipped =
        toml::from_str(include_str!("../../../../config/default.toml")).expect("config/default.toml");
    SectorTaxonomy::new(shipped.sectors.into_iter().map(|s| SectorInfo {
        slug: Sector::parse("slug", &s.slug).expect("a shipped sector"),
        label_fr: s.label_fr,
        label_en: s.label_en,
        unit: s.unit,
    }))
}
