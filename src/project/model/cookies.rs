//! `http.cookies` in a profile: off, for the run, or persisted (SPEC §11).

use schemars::JsonSchema;
use serde::Deserialize;

/// `http.cookies`: whether requests keep cookies, and for how long.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cookies {
    #[default]
    Off,
    /// `true`: for the run.
    Run,
    /// `persist`: in the state folder, between runs.
    Persist,
}

impl<'de> Deserialize<'de> for Cookies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Cookies;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or persist")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Cookies, E> {
                Ok(if v { Cookies::Run } else { Cookies::Off })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Cookies, E> {
                match v {
                    "persist" => Ok(Cookies::Persist),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The schema of `http.cookies`: a boolean or `persist`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(super) enum CookiesSchema {
    Enabled(bool),
    Mode(CookiesMode),
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum CookiesMode {
    Persist,
}
