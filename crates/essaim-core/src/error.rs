use thiserror::Error;

/// Why a piece of domain data was refused. Every variant names the field so that callers can say
/// `file:line: field: message`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DomainError {
    #[error("{field}: « {value} » is not a valid SIRET: {reason}")]
    InvalidSiret { field: String, value: String, reason: &'static str },
    #[error("{field}: {value} is out of range ({expected})")]
    InvalidCoordinate { field: String, value: f64, expected: &'static str },
    #[error("{field}: {value} must be a finite number ≥ 0")]
    InvalidQuantity { field: String, value: f64 },
    #[error("{field}: {value} must be within {min}..={max}")]
    OutOfRange { field: String, value: f64, min: f64, max: f64 },
    #[error("{field}: unknown sector « {value} » (known sectors: {known})")]
    UnknownSector { field: String, value: String, known: String },
    #[error(
        "{field}: unknown supplier kind « {value} » (expected one of EI, ETTI, AI, ACI, EITI, GEIQ, ESAT, EA, EATT, TIH)"
    )]
    UnknownKind { field: String, value: String },
    #[error("{field}: must not be empty")]
    Empty { field: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl DomainError {
    /// The field the error is about, for `file:line: field: …` reports.
    pub fn field(&self) -> &str {
        match self {
            Self::InvalidSiret { field, .. }
            | Self::InvalidCoordinate { field, .. }
            | Self::InvalidQuantity { field, .. }
            | Self::OutOfRange { field, .. }
            | Self::UnknownSector { field, .. }
            | Self::UnknownKind { field, .. }
            | Self::Empty { field }
            | Self::Invalid { field, .. } => field,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}
