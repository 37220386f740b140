//! Human-readable output: aligned text tables with units, byte and time formatting, and the exact
//! comparison of a GPU result with its CPU twin (bit-identical or not, how many elements differ, by how much).

use crate::Tensor;
use serde_json::{Value, json};

/// A text table: a header row and rows of cells, columns padded to their widest cell. Columns whose
/// header is in `right` are right-aligned (numbers).
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    /// `columns`: (header, right-aligned).
    pub fn new(columns: &[(&str, bool)]) -> Self {
        Table {
            header: columns.iter().map(|(h, _)| h.to_string()).collect(),
            rows: Vec::new(),
            right: columns.iter().map(|(_, r)| *r).collect(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines, two spaces between columns, trailing spaces trimmed.
    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate().take(n) {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i].saturating_sub(c.chars().count());
                if self.right[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

pub use crate::units::fmt_bytes;

/// Time (given in ns) with a unit that keeps a few significant digits.
pub fn fmt_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} us", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.3} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

/// Milliseconds with three significant decimals for small values.
pub fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// GFLOP/s with a sensible number of decimals.
pub fn fmt_gflops(g: f64) -> String {
    if g < 1.0 {
        format!("{g:.4}")
    } else if g < 100.0 {
        format!("{g:.2}")
    } else {
        format!("{g:.0}")
    }
}

/// How a GPU result compares with its CPU twin.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub bit_exact: bool,
    pub elements: usize,
    /// Elements whose bits differ (a shape or dtype mismatch counts every element).
    pub differing: usize,
    /// The largest |gpu - cpu| over elements that differ and are both finite.
    pub max_abs_diff: f64,
}

impl Comparison {
    pub fn of(gpu: &Tensor, cpu: &Tensor) -> Self {
        let elements = cpu.numel();
        if gpu.shape() != cpu.shape() || gpu.dtype() != cpu.dtype() {
            return Comparison {
                bit_exact: false,
                elements,
                differing: elements,
                max_abs_diff: f64::NAN,
            };
        }
        let (gb, cb) = (gpu.bits(), cpu.bits());
        let (gv, cv) = (gpu.to_f32_vec(), cpu.to_f32_vec());
        let mut differing = 0;
        let mut max_abs_diff = 0f64;
        for i in 0..gb.len() {
            if gb[i] != cb[i] {
                differing += 1;
                let d = (gv[i] as f64 - cv[i] as f64).abs();
                if d.is_finite() {
                    max_abs_diff = max_abs_diff.max(d);
                }
            }
        }
        Comparison {
            bit_exact: differing == 0,
            elements,
            differing,
            max_abs_diff,
        }
    }

    /// The keys this comparison adds to a JSON report.
    pub fn json_fields(&self, obj: &mut serde_json::Map<String, Value>) {
        obj.insert("bit_exact".into(), json!(self.bit_exact));
        if !self.bit_exact {
            obj.insert("differing_elements".into(), json!(self.differing));
            obj.insert(
                "max_abs_diff".into(),
                if self.max_abs_diff.is_finite() {
                    json!(self.max_abs_diff)
                } else {
                    Value::Null
                },
            );
        }
    }

    /// One line for the table output.
    pub fn human_line(&self) -> String {
        if self.bit_exact {
            format!(
                "GPU and CPU results are bit-identical ({} elements).",
                self.elements
            )
        } else {
            format!(
                "GPU and CPU results DIFFER: {} of {} elements, max |gpu - cpu| = {:e}.",
                self.differing, self.elements, self.max_abs_diff
            )
        }
    }

    /// Why a mismatch fails the run (exit code 1).
    pub fn failure(&self) -> Option<String> {
        (!self.bit_exact).then(|| {
            format!(
                "the GPU result is not bit-identical to the CPU twin ({} of {} elements differ); \
                 the numerics contract promises equal bits, so this is a bug: please report it with \
                 the output of `davinci info`",
                self.differing, self.elements
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_formatted_with_units() {
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(128 << 20), "128 MiB");
        assert_eq!(fmt_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&[("name", false), ("ms", true)]);
        t.row(vec!["gpu".into(), "1.5".into()]);
        t.row(vec!["cpu".into(), "12.25".into()]);
        assert_eq!(t.render(), "name     ms\ngpu     1.5\ncpu   12.25\n");
    }

    #[test]
    fn comparison_counts_differences() {
        let a = Tensor::from_f32([2], vec![1.0, 2.0]).unwrap();
        let b = Tensor::from_f32([2], vec![1.0, 2.5]).unwrap();
        let same = Comparison::of(&a, &a);
        assert!(same.bit_exact && same.failure().is_none());
        let diff = Comparison::of(&a, &b);
        assert_eq!((diff.bit_exact, diff.differing), (false, 1));
        assert_eq!(diff.max_abs_diff, 0.5);
        assert!(diff.failure().is_some());
    }
}
