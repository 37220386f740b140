//! How a MoE router spreads tokens over the experts, and what it costs: with expert parallelism the
//! slowest rank (the one whose experts got the most tokens) sets the layer's time, so an uneven router
//! makes every rank wait for it.
//!
//! [`Routing`] is `balanced` (every expert the same share: the cluster model's default, what DeepSeek-V3's
//! auxiliary-loss-free balancing aims for), `zipf:S` (the expert of popularity rank i gets a share
//! proportional to `1 / (i+1)^S`), or a per-expert token histogram from a JSON file. Experts sit on the
//! expert-parallel ranks in contiguous groups of `E / ep` (the usual layout); for `zipf` the popular
//! experts are scattered over the expert indices by a fixed pseudo-random permutation (assumption: a
//! trained router's hot experts are not numbered together), so the figure does not depend on an accident
//! of numbering. [`Routing::rank_load`] is the busiest rank's tokens over the mean.

use std::path::Path;

use crate::files::{MAX_TEXT_FILE, read_text_bounded};
use crate::{Error, Result};

/// How tokens spread over the routed experts.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub enum Routing {
    #[default]
    Balanced,
    /// Shares proportional to `1 / rank^s`, popularity ranks scattered over the experts.
    Zipf { s: f64 },
    /// Tokens per expert, in expert order (from a file).
    Histogram { tokens: Vec<f64>, source: String },
}

impl Routing {
    /// `balanced`, `zipf:S` (0 < S <= 4), or a path to a JSON file holding an array of tokens per expert
    /// (or an object with such an array under `tokens_per_expert`).
    pub fn parse(text: &str) -> Result<Routing> {
        if text == "balanced" {
            return Ok(Routing::Balanced);
        }
        if let Some(s) = text.strip_prefix("zipf:") {
            return match s.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 4.0 => Ok(Routing::Zipf { s }),
                _ => Err(Error::Usage(format!(
                    "--routing {text}: the Zipf exponent must be a number above 0 and at most 4 (zipf:1.0)"
                ))),
            };
        }
        let path = Path::new(text);
        if !crate::files::names_a_file(path) && !text.ends_with(".json") {
            return Err(Error::Usage(format!(
                "--routing {text}: expected balanced, zipf:S or a JSON file of tokens per expert"
            )));
        }
        let body = read_text_bounded(path, "routing histogram", MAX_TEXT_FILE)?;
        let bad = |why: String| Error::Invalid(format!("routing histogram {text}: {why}"));
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let arr = match &v {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(o) => match o.get("tokens_per_expert") {
                Some(serde_json::Value::Array(a)) => a,
                _ => return Err(bad("an object needs a 'tokens_per_expert' array".into())),
            },
            _ => return Err(bad("expected an array of tokens per expert".into())),
        };
        let tokens: Vec<f64> = arr
            .iter()
            .map(|x| x.as_f64().filter(|t| t.is_finite() && *t >= 0.0))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("every entry must be a number of tokens, zero or more".into()))?;
        if tokens.is_empty() || tokens.iter().sum::<f64>() <= 0.0 {
            return Err(bad("the histogram must hold some tokens".into()));
        }
        Ok(Routing::Histogram {
            tokens,
            source: text.to_string(),
        })
    }

    /// The name as given on the command line.
    pub fn name(&self) -> String {
        match self {
            Routing::Balanced => "balanced".into(),
            Routing::Zipf { s } => format!("zipf:{s}"),
            Routing::Histogram { source, .. } => source.clone(),
        }
    }

    /// Each expert's share of the routed assignments (summing to 1), where each token picks `top_k`
    /// distinct experts: no expert can take more than `1 / top_k` of them, so a share above that is capped
    /// and the excess goes to the others in proportion (a histogram is taken as given).
    pub fn shares(&self, experts: usize, top_k: usize) -> Result<Vec<f64>> {
        let raw: Vec<f64> = match self {
            Routing::Balanced => vec![1.0; experts],
            Routing::Zipf { s } => {
                let mut v = vec![0.0; experts];
                for (rank, &e) in scatter(experts).iter().enumerate() {
                    v[e] = 1.0 / ((rank + 1) as f64).powf(*s);
                }
                v
            }
            Routing::Histogram { tokens, source } => {
                if tokens.len() != experts {
                    return Err(Error::Invalid(format!(
                        "routing histogram {source}: {} entries, but the model has {experts} routed experts",
                        tokens.len()
                    )));
                }
                tokens.clone()
            }
        };
        let total: f64 = raw.iter().sum();
        let mut v: Vec<f64> = raw.iter().map(|x| x / total).collect();
        if !matches!(self, Routing::Histogram { .. }) && top_k > 1 && top_k <= experts {
            cap(&mut v, 1.0 / top_k as f64);
        }
        Ok(v)
    }

    /// The busiest of `ep` ranks' tokens over the mean (1 for balanced routing), with `experts` experts
    /// in contiguous groups per rank and `top_k` experts per token.
    pub fn rank_load(&self, experts: usize, top_k: usize, ep: usize) -> Result<f64> {
        if ep <= 1 || experts == 0 || *self == Routing::Balanced {
            return Ok(1.0);
        }
        let shares = self.shares(experts, top_k)?;
        let per = experts.div_ceil(ep);
        let busiest = shares
            .chunks(per)
            .map(|c| c.iter().sum::<f64>())
            .fold(0.0, f64::max);
        Ok((busiest * ep as f64).max(1.0))
    }
}

/// Caps every share at `limit`, handing the excess to the uncapped shares in proportion (water-filling);
/// the total stays 1 as long as `limit * len >= 1`.
fn cap(v: &mut [f64], limit: f64) {
    for _ in 0..v.len() {
        let excess: f64 = v.iter().map(|x| (x - limit).max(0.0)).sum();
        if excess <= 1e-15 {
            return;
        }
        let free: f64 = v.iter().filter(|x| **x < limit).sum();
        if free <= 0.0 {
            return;
        }
        for x in v.iter_mut() {
            *x = if *x >= limit {
                limit
            } else {
                *x * (1.0 + excess / free)
            };
        }
    }
}

/// A fixed permutation of `0..n` (splitmix64-driven Fisher-Yates, seed 0): where the expert of each
/// popularity rank sits.
fn scatter(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut state = 0u64;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_raises_the_busiest_rank_and_balanced_is_even() {
        assert_eq!(Routing::Balanced.rank_load(256, 8, 64).unwrap(), 1.0);
        let z1 = Routing::parse("zipf:0.2")
            .unwrap()
            .rank_load(256, 8, 64)
            .unwrap();
        let z2 = Routing::parse("zipf:0.5")
            .unwrap()
            .rank_load(256, 8, 64)
            .unwrap();
        assert!(z1 > 1.2 && z2 > z1, "{z1} {z2}");
        assert_eq!(
            Routing::parse("zipf:1")
                .unwrap()
                .rank_load(256, 8, 1)
                .unwrap(),
            1.0
        );
        // A token takes an expert once: no expert gets more than 1/k of the assignments.
        let s = Routing::Zipf { s: 2.0 }.shares(256, 8).unwrap();
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(s.iter().all(|&x| x <= 1.0 / 8.0 + 1e-12));
        let mut sorted = scatter(256);
        sorted.sort();
        assert_eq!(sorted, (0..256).collect::<Vec<_>>());
    }

    #[test]
    fn bad_routings_are_clear_errors() {
        for bad in [
            "zipf:0",
            "zipf:-1",
            "zipf:x",
            "uniformish",
            "/nonexistent/h.json",
        ] {
            let e = Routing::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad.trim_start_matches("zipf:")), "{bad}: {e}");
        }
        let h = Routing::Histogram {
            tokens: vec![1.0; 8],
            source: "h.json".into(),
        };
        let e = h.rank_load(256, 8, 8).unwrap_err().to_string();
        assert!(e.contains("8 entries") && e.contains("256"), "{e}");
    }
}
