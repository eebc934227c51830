use serde::{Deserialize, Serialize};

/// The part of a tender line given to one supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroLot {
    pub line: String,
    pub supplier: String,
    pub quantity: f64,
    pub distance_km: f64,
}

/// What of a line nobody could take, and why, in words a facilitator understands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    pub line: String,
    pub quantity: f64,
    pub reason: String,
}
