//! The safetensors header check that every reader runs before it reads or maps a file's data: a regular
//! file (never a FIFO, a device or a directory) whose size is exactly what its header declares, with each
//! tensor's data extent matching its dtype and shape. A truncated, padded or absurd file is refused with
//! the sizes that do not agree, before any allocation of the data's size.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The length of a safetensors file, after checking that it is a regular file (never a FIFO, a device or a
/// directory) whose size is exactly what its header declares. Reads only the header, so a truncated,
/// padded or absurd file is refused before its data is read or mapped. `what` names its role.
pub fn checked_len(path: &Path, what: &'static str) -> Result<u64> {
    let len = crate::files::regular_file_len(path, what)?;
    let declared = declared_len(path, len)?;
    if declared != len {
        return Err(Error::TensorFile {
            path: path.to_path_buf(),
            detail: format!(
                "not a valid safetensors file: it is {len} bytes but its header declares {declared} \
                 (truncated, or with bytes after the last tensor)"
            ),
        });
    }
    Ok(len)
}

/// The size a safetensors file of `len` bytes declares in its header: 8 + header length + the end of the
/// last tensor's data. Reads only the header (at most safetensors' own 100 MB header limit).
fn declared_len(path: &Path, len: u64) -> Result<u64> {
    let bad = |detail: String| Error::TensorFile {
        path: path.to_path_buf(),
        detail,
    };
    let io = |source| Error::Io {
        action: "cannot read tensor file",
        path: path.to_path_buf(),
        source,
    };
    if len < 8 {
        return Err(bad(format!(
            "not a valid safetensors file: {len} bytes, fewer than the 8-byte header length"
        )));
    }
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(io)?;
    let n = u64::from_le_bytes(n);
    const MAX_HEADER: u64 = 100_000_000;
    if n > MAX_HEADER || n > len - 8 {
        return Err(bad(format!(
            "not a valid safetensors file: its header length field says {n} bytes, but the file has {} \
             after it (and a header may have at most {MAX_HEADER})",
            len - 8
        )));
    }
    let mut head = vec![0u8; 8 + n as usize];
    head[..8].copy_from_slice(&n.to_le_bytes());
    f.read_exact(&mut head[8..]).map_err(io)?;
    // The crate's own reader wants the data too; the header alone is JSON whose entries' `data_offsets`
    // give the data's extent. The full check of dtypes, shapes and offsets is the crate's, on open.
    let header: serde_json::Value = serde_json::from_slice(&head[8..]).map_err(|e| {
        bad(format!(
            "not a valid safetensors file: its header is not JSON ({e})"
        ))
    })?;
    let entries = header.as_object().ok_or_else(|| {
        bad("not a valid safetensors file: its header is not a JSON object".into())
    })?;
    let mut end = 0u64;
    for (name, info) in entries.iter().filter(|(k, _)| *k != "__metadata__") {
        let offsets = (
            info["data_offsets"][0].as_u64(),
            info["data_offsets"][1].as_u64(),
        );
        let (Some(start), Some(stop)) = offsets else {
            return Err(bad(format!(
                "not a valid safetensors file: tensor '{name}' has no data_offsets [start, end]"
            )));
        };
        // The crate checks this too, but without naming the tensor or the sizes.
        let dtype = info["dtype"].as_str().unwrap_or("?");
        let shape: Option<Vec<u64>> = info["shape"]
            .as_array()
            .and_then(|d| d.iter().map(serde_json::Value::as_u64).collect());
        let need = shape.as_ref().and_then(|dims| {
            dims.iter()
                .try_fold(dtype_bytes(dtype)?, |acc, &d| acc.checked_mul(d))
        });
        let known = dtype_bytes(dtype).is_some();
        match need {
            Some(need) if start <= stop && stop - start == need => {}
            // A dtype this reader does not size (sub-byte formats) is left to the crate's own check.
            None if !known && start <= stop => {}
            _ => {
                return Err(bad(format!(
                    "not a valid safetensors file: tensor '{name}' is declared {dtype} of shape {} \
                     ({} bytes) but its data_offsets [{start}, {stop}] span {} bytes",
                    info["shape"],
                    need.map_or("an unaddressable number of".to_string(), |n| n.to_string()),
                    stop.saturating_sub(start)
                )));
            }
        }
        end = end.max(stop);
    }
    let end = end.checked_add(8 + n).ok_or_else(|| {
        bad("not a valid safetensors file: its data offsets overflow".to_string())
    })?;
    Ok(end)
}

/// Bytes per element of a safetensors dtype name, or `None` for a name the format does not define.
fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" | "F8_E8M0" => 1,
        "U16" | "I16" | "F16" | "BF16" => 2,
        "U32" | "I32" | "F32" => 4,
        "U64" | "I64" | "F64" => 8,
        _ => return None,
    })
}
