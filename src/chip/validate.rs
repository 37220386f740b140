//! The checks a chip spec passes before the timing model uses it: every field against its kind (a whole
//! count, a positive rate), the cross-field rules, and bounds far beyond any real part that turn a typo
//! or an absurd file into a clear error naming the field.

use super::{ChipSpec, FIELDS, Kind};
use crate::{Error, Result};

impl ChipSpec {
    /// Checks every field against its kind and the cross-field rules; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: String| {
            Err(Error::Invalid(format!(
                "chip '{}': {key} = {}: {why}",
                self.name,
                self.field(key).map_or(f64::NAN, |s| s.value)
            )))
        };
        for f in FIELDS {
            let v = self.field(f.key).map_or(f64::NAN, |s| s.value);
            if !v.is_finite() {
                return bad(f.key, "must be a finite number".into());
            }
            match f.kind {
                Kind::Count if v < 1.0 || v.fract() != 0.0 => {
                    return bad(f.key, "must be a whole number, at least 1".into());
                }
                Kind::Count if v > 1e6 => {
                    return bad(f.key, "is implausibly large (over a million)".into());
                }
                Kind::Positive if v <= 0.0 => return bad(f.key, "must be above zero".into()),
                Kind::NonNegative if v < 0.0 => return bad(f.key, "must not be negative".into()),
                Kind::Fraction if v <= 0.0 || v > 1.0 => {
                    return bad(f.key, "must be a share above 0 and at most 1".into());
                }
                _ => {}
            }
            if let Some(why) = implausible(f.key, v) {
                return bad(f.key, why);
            }
        }
        if self.dies.value > 16.0 {
            return bad(
                "dies",
                "the model handles at most 16 dies per package".into(),
            );
        }
        if self.clock_mhz.value < 10.0 {
            return bad(
                "clock_mhz",
                "is below 10 MHz; the clock is given in MHz (1850 for 1.85 GHz)".into(),
            );
        }
        if self.clock_mhz.value > 100_000.0 {
            return bad(
                "clock_mhz",
                "is above 100 GHz; give the clock in MHz".into(),
            );
        }
        // One 16x16 bf16 fractal per operand, double-buffered, is the least a Cube can work with.
        for key in ["l0a_kib", "l0b_kib", "l0c_kib", "ub_kib"] {
            if self.field(key).is_some_and(|s| s.value < 1.0) {
                return bad(
                    key,
                    "cannot hold two 16x16 fractals; at least 1 KiB is needed".into(),
                );
            }
        }
        if self.l1_kib.value < self.l0a_kib.value.max(self.l0b_kib.value) {
            return bad(
                "l1_kib",
                format!(
                    "is smaller than L0A/L0B ({} / {} KiB), which L1 feeds",
                    self.l0a_kib.value, self.l0b_kib.value
                ),
            );
        }
        if self.dies.value > 1.0 && self.die_link_gb_per_s.value <= 0.0 {
            return bad(
                "die_link_gb_per_s",
                format!("must be above zero for a chip of {} dies", self.dies.value),
            );
        }
        Ok(())
    }
}

/// Why a value is far outside anything a real chip or system has, judged by its unit (the key's suffix),
/// or `None`. Assumption: the bounds are several orders of magnitude beyond every part in the reference
/// (a 910C moves 1.6 TB/s per die, an NVLink switch 1.8 TB/s per GPU); they exist to turn a typo or an
/// absurd file into a clear error instead of a figure of 1e300 microseconds. Shared by chip and cluster
/// files.
pub(crate) fn implausible(key: &str, v: f64) -> Option<String> {
    let (lo, hi, unit) = if key.ends_with("_gb_per_s") {
        (1e-3, 1e7, "GB/s")
    } else if key.ends_with("_bytes_per_cycle") {
        (1e-2, 1e7, "B/cycle")
    } else if key.ends_with("_us") {
        (0.0, 1e6, "us")
    } else if key.ends_with("_per_cycle") {
        (0.0, 1e8, "per cycle")
    } else if key.ends_with("_w") || key.ends_with("_kw") {
        (0.0, 1e7, "of power")
    } else {
        (0.0, 1e12, "")
    };
    // Zero is handled by each field's kind (a die link of 0 GB/s means "no link" on a one-die chip).
    if v != 0.0 && v < lo {
        return Some(format!(
            "is implausibly small (below {lo} {unit}); check the unit"
        ));
    }
    if v > hi {
        return Some(format!(
            "is implausibly large (above {hi:e} {unit}); check the unit"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let mut chip = ChipSpec::default_chip();
        chip.clock_mhz.value = 1.85;
        let e = chip.validate().unwrap_err().to_string();
        assert!(e.contains("clock_mhz") && e.contains("MHz"), "{e}");
        let mut chip = ChipSpec::default_chip();
        chip.cube_cores_per_die.value = 2.5;
        let e = chip.validate().unwrap_err().to_string();
        assert!(
            e.contains("cube_cores_per_die") && e.contains("whole"),
            "{e}"
        );
        let mut chip = ChipSpec::default_chip();
        chip.die_link_gb_per_s.value = 0.0;
        let e = chip.validate().unwrap_err().to_string();
        assert!(e.contains("die_link_gb_per_s"), "{e}");
    }
}
