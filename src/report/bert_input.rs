//! The token syntax of `davinci bert --tokens` and `--mask`: `;` between sequences, `,` between values;
//! shorter sequences are padded with id 0 and mask 0.

use crate::{Error, Result};

/// A batch of token ids and masks, padded to one length.
#[derive(Debug, PartialEq)]
pub struct Batch {
    pub tokens: Vec<Vec<u32>>,
    pub mask: Vec<Vec<u8>>,
}

/// Parses `--tokens` and `--mask`, then pads every sequence to the longest with id 0 and mask 0.
pub fn parse_batch(tokens: &str, mask: Option<&str>) -> Result<Batch> {
    let tokens: Vec<Vec<u32>> = split(tokens, "--tokens")?
        .iter()
        .map(|seq| seq.iter().map(|&(v, _)| v).collect())
        .collect();
    let mut masks: Vec<Vec<u8>> = match mask {
        None => tokens.iter().map(|t| vec![1; t.len()]).collect(),
        Some(text) => {
            let parsed = split(text, "--mask")?;
            if parsed.len() != tokens.len() {
                return Err(Error::Usage(format!(
                    "--mask has {} sequences but --tokens has {}; separate sequences with ';' in both",
                    parsed.len(),
                    tokens.len()
                )));
            }
            let mut out = Vec::with_capacity(parsed.len());
            for (s, (m, t)) in parsed.iter().zip(&tokens).enumerate() {
                if m.len() != t.len() {
                    return Err(Error::Usage(format!(
                        "the mask of sequence {s} has {} entries for {} tokens; give one 0 or 1 per token",
                        m.len(),
                        t.len()
                    )));
                }
                if let Some((_, text)) = m.iter().find(|(v, _)| *v > 1) {
                    return Err(Error::Usage(format!(
                        "--mask: '{text}' in sequence {s} is not 0 or 1"
                    )));
                }
                out.push(m.iter().map(|&(v, _)| v as u8).collect());
            }
            out
        }
    };
    let seq = tokens.iter().map(Vec::len).max().unwrap_or(0);
    let mut tokens = tokens;
    for (t, m) in tokens.iter_mut().zip(&mut masks) {
        t.resize(seq, 0);
        m.resize(seq, 0);
    }
    Ok(Batch {
        tokens,
        mask: masks,
    })
}

/// `a,b,c;d,e` as sequences of (value, text); empty sequences and non-numbers are usage errors.
fn split<'a>(text: &'a str, flag: &str) -> Result<Vec<Vec<(u32, &'a str)>>> {
    let text = text.trim().trim_end_matches(';');
    let mut out = Vec::new();
    for (s, seq) in text.split(';').enumerate() {
        if seq.trim().is_empty() {
            return Err(Error::Usage(format!(
                "{flag}: sequence {s} is empty; give comma-separated numbers, with ';' between sequences, \
                 e.g. \"101,2023,102;101,7592,102\""
            )));
        }
        let mut values = Vec::new();
        for item in seq.split(',') {
            let item = item.trim();
            let v = item.parse::<u32>().map_err(|_| {
                Error::Usage(format!(
                    "{flag}: '{item}' in sequence {s} is not a whole number from 0 to {}; give \
                     comma-separated numbers, with ';' between sequences",
                    u32::MAX
                ))
            })?;
            values.push((v, item));
        }
        out.push(values);
    }
    Ok(out)
}
