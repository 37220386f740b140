//! The primitives of every hardware model's data: a number with where it came from ([`Sourced`]), and the
//! static description of a field ([`Field`]: key, unit, accepted values, meaning). Chips, GPUs and clusters
//! share them; this file depends on nothing in the crate so that any model can use it.

/// A number and where it came from (a document, a measurement, a derivation, or "assumption: why").
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sourced {
    pub value: f64,
    pub source: String,
}

impl Sourced {
    pub fn new(value: f64, source: impl Into<String>) -> Self {
        Sourced {
            value,
            source: source.into(),
        }
    }
}

/// What values a field accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole number, at least 1.
    Count,
    /// A real number above zero.
    Positive,
    /// A real number, zero or above.
    NonNegative,
    /// A share: above zero, at most 1.
    Fraction,
}

/// Static description of one field: its key (as in a chip file), unit and meaning.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub key: &'static str,
    pub unit: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}
