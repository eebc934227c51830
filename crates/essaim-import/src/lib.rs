//! Reading the directory of inclusive structures (CSV) and tenders (JSON) into domain values, reporting every
//! problem as `file:line: field: what is wrong` so that the person who wrote the file can fix it.
//!
//! The one reader of both formats (docs/formats.md): `essaim import`, the demo and the API's `POST /tenders`
//! all go through it. The exports networks already have (Le Marché de l'inclusion, data·inclusion, FINESS) are
//! read by their own modules into an [`ImportReport`] (docs/import.md).
//!
//! What this crate must not do: I/O. Bytes or text come in, domain values or located errors go out; reading
//! files and talking to the store is the caller's.

mod data_inclusion;
mod directory;
mod finess;
pub mod lambert;
mod mapping;
mod marche;
pub mod sample;
mod tender;

use essaim_core::DomainError;

pub use data_inclusion::read_data_inclusion;
pub use directory::{DirectoryFile, RowError, read_directory};
pub use finess::{CATEGORY_ESAT, read_finess};
pub use mapping::{
    DEFAULT_MAX_DISTANCE_KM, ImportReport, ImportedStructure, SHIPPED_SECTOR_LABELS, SectorLabels, map_kind,
};
pub use marche::read_marche;
pub use tender::read_tender;

/// The message of a domain error without its leading `field: `.
fn strip_field(e: &DomainError) -> String {
    let text = e.to_string();
    text.strip_prefix(&format!("{}: ", e.field())).map(str::to_owned).unwrap_or(text)
}

#[cfg(test)]
#[path = "../tests/shared/taxonomy.rs"]
mod testing;
