//! Units for the timing model: small `f64` newtypes so that a byte count cannot be added to a time, and
//! the few meaningful cross-unit operations (bytes / bandwidth = time, FLOPs / rate = time, power x time
//! = energy) are the only ones that compile. Values are plain SI (seconds are kept as nanoseconds, the
//! unit a trace uses); `f64` because a model of rates and shares is fractional throughout.

use std::fmt;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

macro_rules! unit {
    ($(#[$doc:meta])* $name:ident, $suffix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl $name {
            pub const ZERO: $name = $name(0.0);

            /// The larger of two values.
            pub fn max(self, other: $name) -> $name {
                $name(self.0.max(other.0))
            }

            /// The smaller of two values.
            pub fn min(self, other: $name) -> $name {
                $name(self.0.min(other.0))
            }
        }

        impl Add for $name {
            type Output = $name;
            fn add(self, o: $name) -> $name {
                $name(self.0 + o.0)
            }
        }

        impl AddAssign for $name {
            fn add_assign(&mut self, o: $name) {
                self.0 += o.0;
            }
        }

        impl Sub for $name {
            type Output = $name;
            fn sub(self, o: $name) -> $name {
                $name(self.0 - o.0)
            }
        }

        impl Mul<f64> for $name {
            type Output = $name;
            fn mul(self, k: f64) -> $name {
                $name(self.0 * k)
            }
        }

        impl Div<f64> for $name {
            type Output = $name;
            fn div(self, k: f64) -> $name {
                $name(self.0 / k)
            }
        }

        /// The ratio of two values of the same unit (a plain number).
        impl Div for $name {
            type Output = f64;
            fn div(self, o: $name) -> f64 {
                self.0 / o.0
            }
        }

        impl std::iter::Sum for $name {
            fn sum<I: Iterator<Item = $name>>(iter: I) -> $name {
                $name(iter.map(|v| v.0).sum())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.0, $suffix)
            }
        }
    };
}

unit!(
    /// A duration in nanoseconds.
    Nanos,
    "ns"
);
unit!(
    /// A byte count.
    Bytes,
    "B"
);
unit!(
    /// Floating-point operations (a multiply-accumulate counts 2).
    Flops,
    "FLOP"
);
unit!(
    /// Bandwidth in bytes per second.
    BytesPerSec,
    "B/s"
);
unit!(
    /// Compute rate in FLOPs per second.
    FlopsPerSec,
    "FLOP/s"
);
unit!(
    /// A clock frequency in hertz.
    Hertz,
    "Hz"
);
unit!(
    /// Power in watts.
    Watts,
    "W"
);
unit!(
    /// Energy in joules.
    Joules,
    "J"
);

impl Nanos {
    pub fn from_secs(s: f64) -> Nanos {
        Nanos(s * 1e9)
    }

    pub fn secs(self) -> f64 {
        self.0 * 1e-9
    }

    pub fn micros(self) -> f64 {
        self.0 * 1e-3
    }

    pub fn millis(self) -> f64 {
        self.0 * 1e-6
    }
}

impl Hertz {
    /// The time `cycles` clock cycles take.
    pub fn cycles(self, cycles: f64) -> Nanos {
        Nanos(cycles / self.0 * 1e9)
    }
}

/// Bytes over a bandwidth is the time to move them (zero bytes take no time, even at zero bandwidth).
impl Div<BytesPerSec> for Bytes {
    type Output = Nanos;
    fn div(self, bw: BytesPerSec) -> Nanos {
        if self.0 == 0.0 {
            Nanos::ZERO
        } else {
            Nanos(self.0 / bw.0 * 1e9)
        }
    }
}

/// Bytes over a time is the achieved bandwidth.
impl Div<Nanos> for Bytes {
    type Output = BytesPerSec;
    fn div(self, t: Nanos) -> BytesPerSec {
        BytesPerSec(self.0 / t.secs())
    }
}

/// FLOPs over a rate is the time to do them.
impl Div<FlopsPerSec> for Flops {
    type Output = Nanos;
    fn div(self, r: FlopsPerSec) -> Nanos {
        if self.0 == 0.0 {
            Nanos::ZERO
        } else {
            Nanos(self.0 / r.0 * 1e9)
        }
    }
}

/// FLOPs over a time is the achieved rate.
impl Div<Nanos> for Flops {
    type Output = FlopsPerSec;
    fn div(self, t: Nanos) -> FlopsPerSec {
        FlopsPerSec(self.0 / t.secs())
    }
}

/// Power held for a time is energy.
impl Mul<Nanos> for Watts {
    type Output = Joules;
    fn mul(self, t: Nanos) -> Joules {
        Joules(self.0 * t.secs())
    }
}

/// A byte count with a binary unit, e.g. `128 MiB` or `1.5 GiB`; exact below 1 KiB.
pub fn fmt_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_unit_arithmetic() {
        let t = Bytes(3.2e12) / BytesPerSec(3.2e12);
        assert_eq!(t, Nanos(1e9));
        assert_eq!(Flops(2e12) / FlopsPerSec(1e12), Nanos(2e9));
        assert_eq!(Watts(350.0) * Nanos(1e9), Joules(350.0));
        assert_eq!(Hertz(2e9).cycles(4.0), Nanos(2.0));
        assert_eq!(Bytes(0.0) / BytesPerSec(0.0), Nanos::ZERO);
        assert_eq!((Bytes(1e9) / Nanos(1e9)).0, 1e9);
    }
}
