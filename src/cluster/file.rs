//! Custom clusters from TOML (`--cluster path.toml`): `name`, optional `summary`, `base = "PRESET"` (then
//! only the fields that differ), `chip` (a chip preset or chip file), and numeric fields as bare numbers
//! (their source is the file) or `{ value = .., source = ".." }`. Errors name the file and the field.

use super::topology::{CLUSTER_FIELDS, ClusterSpec};
use crate::chip::{ChipSpec, Sourced};
use crate::{Error, Result};

impl ClusterSpec {
    /// Parses a cluster from TOML: `name`, optional `summary`, `base` (a preset) and `chip` (a chip preset or
    /// chip file), and numeric fields as numbers or `{ value = .., source = ".." }`. Without `base`, every
    /// numeric field must be given.
    pub fn from_toml(text: &str, origin: &str) -> Result<ClusterSpec> {
        use toml::Value;
        let err = |msg: String| Error::Invalid(format!("cluster file {origin}: {msg}"));
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(format!("not valid TOML: {}", e.message())))?;
        const META: &[&str] = &["name", "summary", "base", "chip"];
        for key in table.keys() {
            if !META.contains(&key.as_str()) && !CLUSTER_FIELDS.iter().any(|f| f.key == key) {
                return Err(err(format!(
                    "unknown field '{key}'; the fields are {} (and {})",
                    CLUSTER_FIELDS
                        .iter()
                        .map(|f| f.key)
                        .collect::<Vec<_>>()
                        .join(", "),
                    META.join(", ")
                )));
            }
        }
        let string = |key: &str| -> Result<Option<String>> {
            match table.get(key) {
                None => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                Some(v) => Err(err(format!(
                    "'{key}' must be a non-empty string, not {}",
                    v.type_str()
                ))),
            }
        };
        let name = string("name")?.ok_or_else(|| err("'name' is missing".into()))?;
        let base = string("base")?;
        let mut c = match &base {
            Some(b) => ClusterSpec::preset(b).map_err(|e| err(e.to_string()))?,
            None => {
                let missing: Vec<&str> = CLUSTER_FIELDS
                    .iter()
                    .map(|f| f.key)
                    .filter(|k| !table.contains_key(*k))
                    .collect();
                if !missing.is_empty() || !table.contains_key("chip") {
                    return Err(err(format!(
                        "missing field(s) {}; give them, or start from a preset with base = \"cloudmatrix384\"",
                        if table.contains_key("chip") {
                            missing.join(", ")
                        } else {
                            format!("chip {}", missing.join(", "))
                        }
                    )));
                }
                super::presets::cloudmatrix384()
            }
        };
        c.name = name;
        c.summary = string("summary")?.unwrap_or_else(|| format!("custom cluster from {origin}"));
        if let Some(chip) = string("chip")? {
            c.chip = ChipSpec::resolve(&chip).map_err(|e| err(e.to_string()))?;
        }
        for f in CLUSTER_FIELDS {
            let Some(v) = table.get(f.key) else { continue };
            let sourced = match v {
                Value::Integer(i) => Sourced::new(*i as f64, format!("cluster file {origin}")),
                Value::Float(x) => Sourced::new(*x, format!("cluster file {origin}")),
                Value::Table(t) => {
                    let value = match t.get("value") {
                        Some(Value::Integer(i)) => *i as f64,
                        Some(Value::Float(x)) => *x,
                        _ => return Err(err(format!("'{}.value' must be a number", f.key))),
                    };
                    let source = match t.get("source") {
                        Some(Value::String(s)) => s.clone(),
                        _ => format!("cluster file {origin}"),
                    };
                    Sourced::new(value, source)
                }
                other => {
                    return Err(err(format!(
                        "'{}' must be a number or {{ value = NUMBER, source = \"...\" }}, not {}",
                        f.key,
                        other.type_str()
                    )));
                }
            };
            if let Some(slot) = c.field_mut(f.key) {
                *slot = sourced;
            }
        }
        c.validate()
            .map_err(|e| err(e.to_string().replacen("cluster ", "", 1)))?;
        Ok(c)
    }
}
