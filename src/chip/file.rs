//! Custom chips from TOML (`--chip path.toml`). A chip file names the chip and gives its fields, either
//! all of them or, with `base = "PRESET"`, only those that differ from a preset:
//!
//! ```toml
//! name = "910c-fast-link"
//! summary = "910C with the press figure for the die-to-die link"   # optional
//! base = "910c"                                                     # optional
//! die_link_gb_per_s = { value = 400, source = "press" }            # a number with its source
//! launch_overhead_us = 5                                            # or a bare number
//! ```
//!
//! A bare number's source is recorded as the file it came from. The file is parsed into a `toml::Table`
//! and read by hand, so each error names the field: an unknown key, a missing field (all of them are
//! listed), a value of the wrong type, or a nonsensical value (see [`ChipSpec::validate`]).

use std::path::Path;

use toml::Value;

use super::{ChipSpec, FIELDS, Sourced, presets};
use crate::{Error, Result};

/// Keys a chip file may hold besides the numeric fields.
const META_KEYS: &[&str] = &["name", "summary", "base"];

/// Reads and validates a chip file.
pub fn load(path: &Path) -> Result<ChipSpec> {
    let text = crate::files::read_text_bounded(path, "chip file", crate::files::MAX_TEXT_FILE)?;
    ChipSpec::from_toml(&text, &path.display().to_string())
}

impl ChipSpec {
    /// Parses a chip from TOML text; `origin` (a path) names the file in errors and in default sources.
    pub fn from_toml(text: &str, origin: &str) -> Result<ChipSpec> {
        let err = |msg: String| Error::Invalid(format!("chip file {origin}: {msg}"));
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(format!("not valid TOML: {}", e.message())))?;

        let keys: Vec<&str> = FIELDS.iter().map(|f| f.key).collect();
        check_keys(&table, META_KEYS, &keys).map_err(err)?;
        let string = |key: &str| string_field(&table, key).map_err(err);
        let name = string("name")?.ok_or_else(|| err("'name' is missing".into()))?;
        let base = string("base")?;
        let mut chip = match &base {
            Some(b) => presets::by_name(b).ok_or_else(|| {
                err(format!(
                    "base = '{b}' is not a preset; the presets are {}",
                    presets::NAMES.join(", ")
                ))
            })?,
            None => {
                let missing: Vec<&str> = FIELDS
                    .iter()
                    .map(|f| f.key)
                    .filter(|k| !table.contains_key(*k))
                    .collect();
                if !missing.is_empty() {
                    return Err(err(format!(
                        "missing field(s) {}; give them, or start from a preset with base = \"910c\"",
                        missing.join(", ")
                    )));
                }
                // Every field is overwritten below; the preset only supplies the struct.
                presets::ascend_910c()
            }
        };
        chip.name = name;
        chip.summary = string("summary")?.unwrap_or_else(|| match &base {
            Some(b) => format!("custom chip from {origin}, based on {b}"),
            None => format!("custom chip from {origin}"),
        });
        for f in FIELDS {
            let Some(v) = table.get(f.key) else { continue };
            let sourced = read_field(f.key, v, &format!("chip file {origin}")).map_err(err)?;
            if let Some(slot) = chip.field_mut(f.key) {
                *slot = sourced;
            }
        }
        chip.validate()
            .map_err(|e| err(e.to_string().replacen("chip ", "", 1)))?;
        Ok(chip)
    }
}

/// Refuses a key that is neither one of `meta` nor one of `fields`, listing both. Shared with cluster files.
pub(crate) fn check_keys(
    table: &toml::Table,
    meta: &[&str],
    fields: &[&str],
) -> std::result::Result<(), String> {
    match table
        .keys()
        .find(|k| !meta.contains(&k.as_str()) && !fields.contains(&k.as_str()))
    {
        Some(key) => Err(format!(
            "unknown field '{key}'; the fields are {} (and {})",
            fields.join(", "),
            meta.join(", ")
        )),
        None => Ok(()),
    }
}

/// An optional non-empty string field (`name`, `summary`, `base`, ...).
pub(crate) fn string_field(
    table: &toml::Table,
    key: &str,
) -> std::result::Result<Option<String>, String> {
    match table.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(v) => Err(format!(
            "'{key}' must be a non-empty string, not {}",
            v.type_str()
        )),
    }
}

/// One numeric field: a number (whose source is `default_source`, the file), or
/// `{ value = NUMBER, source = "TEXT" }`. Shared with cluster files.
pub(crate) fn read_field(
    key: &str,
    v: &Value,
    default_source: &str,
) -> std::result::Result<Sourced, String> {
    let number = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    };
    if let Some(x) = number(v) {
        return Ok(Sourced::new(x, default_source));
    }
    let Value::Table(t) = v else {
        return Err(format!(
            "'{key}' must be a number or {{ value = NUMBER, source = \"...\" }}, not {}",
            v.type_str()
        ));
    };
    if let Some(other) = t.keys().find(|k| *k != "value" && *k != "source") {
        return Err(format!(
            "'{key}' has an unknown key '{other}'; only value and source"
        ));
    }
    let value = t
        .get("value")
        .ok_or_else(|| format!("'{key}' is a table without 'value'"))?;
    let value = number(value)
        .ok_or_else(|| format!("'{key}.value' must be a number, not {}", value.type_str()))?;
    let source = match t.get("source") {
        None => default_source.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(format!(
                "'{key}.source' must be a string, not {}",
                v.type_str()
            ));
        }
    };
    Ok(Sourced::new(value, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn based_file_overrides_fields_with_sources() {
        let chip = ChipSpec::from_toml(
            "name = \"x\"\nbase = \"910c\"\ndie_link_gb_per_s = { value = 400, source = \"press\" }\n\
             launch_overhead_us = 5\n",
            "x.toml",
        )
        .unwrap();
        assert_eq!(chip.die_link_gb_per_s, Sourced::new(400.0, "press"));
        assert_eq!(chip.launch_overhead_us.value, 5.0);
        assert_eq!(chip.launch_overhead_us.source, "chip file x.toml");
        assert_eq!(chip.clock_mhz, ChipSpec::default_chip().clock_mhz);
    }

    #[test]
    fn a_full_file_round_trips_a_preset() {
        let p = ChipSpec::preset("910b3").unwrap();
        let mut text = "name = \"910b3\"\n".to_string();
        for f in FIELDS {
            text.push_str(&format!(
                "{} = {:?}\n",
                f.key,
                p.field(f.key).unwrap().value
            ));
        }
        let chip = ChipSpec::from_toml(&text, "b3.toml").unwrap();
        assert_eq!(chip.peak_bf16(), p.peak_bf16());
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("name = \"x\"\nclock_mhz = 1850\n", "missing field(s) dies"),
            ("base = \"910c\"\n", "'name' is missing"),
            ("name = \"x\"\nbase = \"910z\"\n", "not a preset"),
            (
                "name = \"x\"\nbase = \"910c\"\nclok_mhz = 1\n",
                "unknown field 'clok_mhz'",
            ),
            (
                "name = \"x\"\nbase = \"910c\"\nclock_mhz = \"fast\"\n",
                "must be a number",
            ),
            (
                "name = \"x\"\nbase = \"910c\"\nclock_mhz = 1.9\n",
                "clock_mhz = 1.9",
            ),
            ("name = \"x\"\nbase = \"910c\"\ndies = 0\n", "dies = 0"),
            ("name = \"x\"\nbase = \"910c\"\nl1_kib = -5\n", "l1_kib"),
            (
                "name = \"x\"\nbase = \"910c\"\npower_w = { source = \"?\" }\n",
                "without 'value'",
            ),
            ("name = = 1", "not valid TOML"),
        ];
        for (text, want) in cases {
            let e = ChipSpec::from_toml(text, "bad.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.contains("bad.toml"), "{text:?}: {e}");
        }
    }
}
