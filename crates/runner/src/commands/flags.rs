//! Option tables: one line per `--flag` / `ENV_VAR` pair, from which [`flag_table!`] writes the
//! clap struct and the copy into the `config.toml` section the options fill.

use std::collections::BTreeMap;

use super::CommandError;

/// A set but empty value counts as unset (the chart passes empty variables for unset values).
pub(crate) fn text(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

/// `key:value` entries as a map; `flag` names the option in the error.
pub(crate) fn pairs(
    entries: &[String],
    flag: &str,
) -> Result<BTreeMap<String, String>, CommandError> {
    let mut map = BTreeMap::new();
    for e in entries.iter().filter(|e| !e.is_empty()) {
        let (k, v) = e
            .split_once(':')
            .ok_or_else(|| CommandError::Usage(format!("{flag} {e:?}: expected key:value")))?;
        map.insert(k.to_string(), v.to_string());
    }
    Ok(map)
}

/// How a parsed option (`Raw`) becomes the value of its `config.toml` key: unset and empty
/// values give the key's empty value (as runner 12.8.0, which writes Go zero values).
pub(crate) trait FromFlag<Raw>: Sized {
    /// Converts `raw`; `flag` (`--name`) names the option in errors.
    fn from_flag(raw: &Raw, flag: &str) -> Result<Self, CommandError>;
}

impl FromFlag<Option<String>> for String {
    fn from_flag(raw: &Option<String>, _: &str) -> Result<Self, CommandError> {
        Ok(text(raw).unwrap_or_default())
    }
}

impl FromFlag<Option<String>> for Option<String> {
    fn from_flag(raw: &Option<String>, _: &str) -> Result<Self, CommandError> {
        Ok(text(raw))
    }
}

/// A single value for a key that later runners read as a list (`pull_policy`).
impl FromFlag<Option<String>> for Vec<String> {
    fn from_flag(raw: &Option<String>, _: &str) -> Result<Self, CommandError> {
        Ok(text(raw).into_iter().collect())
    }
}

impl FromFlag<Option<bool>> for bool {
    fn from_flag(raw: &Option<bool>, _: &str) -> Result<Self, CommandError> {
        Ok(raw.unwrap_or(false))
    }
}

impl FromFlag<Option<i64>> for i64 {
    fn from_flag(raw: &Option<i64>, _: &str) -> Result<Self, CommandError> {
        Ok(raw.unwrap_or(0))
    }
}

impl FromFlag<Vec<String>> for Vec<String> {
    fn from_flag(raw: &Vec<String>, _: &str) -> Result<Self, CommandError> {
        Ok(raw.iter().filter(|s| !s.is_empty()).cloned().collect())
    }
}

impl FromFlag<Vec<String>> for BTreeMap<String, String> {
    fn from_flag(raw: &Vec<String>, flag: &str) -> Result<Self, CommandError> {
        pairs(raw, flag)
    }
}

/// Declares a clap [`Args`](clap::Args) struct from a table with one entry per option:
///
/// ```text
/// /// Help text.
/// field: kind("long-flag", "ENV_VAR");
/// ```
///
/// `kind` picks the field type and how the value is read:
/// - `text`: `Option<String>`;
/// - `path`: `Option<PathBuf>`;
/// - `switch`: `Option<bool>`; `--flag` alone means true, `--flag=VALUE` takes any boolish value;
/// - `number`: `Option<i64>`;
/// - `list`: `Vec<String>`, comma-separated (the flag may also repeat).
///
/// Further `#[arg(...)]` attributes of an entry (`short`, `alias`) pass through to clap.
///
/// With `struct Name => Target`, the struct also gets `apply_to(&self, &mut Target)`, which
/// stores each option through [`FromFlag`] into the same-named field of `Target`, or into the
/// field an entry names after `=>` (`field: text(..) => section.key;`).
macro_rules! flag_table {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$doc:meta])* $field:ident: $kind:ident($long:literal, $env:literal); )*
        }
    ) => {
        flag_table!(@fields [$(#[$meta])* $vis struct $name] []
            $( [$kind] [$(#[$doc])* $field $long $env] )*
        );
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident => $target:ty {
            $(
                $(#[$doc:meta])*
                $field:ident: $kind:ident($long:literal, $env:literal) $(=> $($key:ident).+)?;
            )*
        }
    ) => {
        flag_table! {
            $(#[$meta])*
            $vis struct $name {
                $( $(#[$doc])* $field: $kind($long, $env); )*
            }
        }

        impl $name {
            /// Stores every option into its field of `target` (unset and empty values as the
            /// field's empty value).
            pub fn apply_to(
                &self,
                target: &mut $target,
            ) -> Result<(), $crate::commands::CommandError> {
                $( flag_table!(@assign target self $field $long $($($key).+)?); )*
                Ok(())
            }
        }
    };
    (@assign $target:ident $args:ident $field:ident $long:literal) => {
        flag_table!(@assign $target $args $field $long $field)
    };
    (@assign $target:ident $args:ident $field:ident $long:literal $($key:ident).+) => {
        $target.$($key).+ = $crate::commands::flags::FromFlag::from_flag(
            &$args.$field,
            concat!("--", $long),
        )?;
    };
    (@fields [$($head:tt)*] [$($fields:tt)*]) => {
        #[derive(Debug, Clone, Default, clap::Args)]
        $($head)* { $($fields)* }
    };
    // Each kind names the field type and the clap settings beyond `long` and `env`.
    (@fields $head:tt $fields:tt [text] $entry:tt $($rest:tt)*) => {
        flag_table!(@field $head $fields $entry (Option<String>) () $($rest)*);
    };
    (@fields $head:tt $fields:tt [switch] $entry:tt $($rest:tt)*) => {
        flag_table!(@field $head $fields $entry (Option<bool>) (
            num_args = 0..=1,
            require_equals = true,
            default_missing_value = "true",
            value_parser = clap::builder::BoolishValueParser::new(),
        ) $($rest)*);
    };
    (@fields $head:tt $fields:tt [path] $entry:tt $($rest:tt)*) => {
        flag_table!(@field $head $fields $entry (Option<std::path::PathBuf>) () $($rest)*);
    };
    (@fields $head:tt $fields:tt [number] $entry:tt $($rest:tt)*) => {
        flag_table!(@field $head $fields $entry (Option<i64>) () $($rest)*);
    };
    (@fields $head:tt $fields:tt [list] $entry:tt $($rest:tt)*) => {
        flag_table!(@field $head $fields $entry (Vec<String>) (value_delimiter = ',',) $($rest)*);
    };
    (@field $head:tt [$($fields:tt)*]
        [$(#[$doc:meta])* $field:ident $long:literal $env:literal]
        ($($ty:tt)*) ($($setting:tt)*) $($rest:tt)*) => {
        flag_table!(@fields $head [$($fields)*
            $(#[$doc])*
            #[arg(long = $long, env = $env, $($setting)*)]
            pub $field: $($ty)*,
        ] $($rest)*);
    };
}

pub(crate) use flag_table;
