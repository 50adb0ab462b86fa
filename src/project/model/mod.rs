//! The file formats of SPEC §3 and §5 as serde structs. Parse only: no templates,
//! no I/O. Every struct denies unknown keys, and template-bearing values keep the
//! place they came from (`Spanned`) so later errors can point at them.

mod auth_jwt;
mod cookies;
pub mod flow;
pub mod profile;
pub mod request;

pub use serde_saphyr::Spanned;

/// A map that keeps the order the user wrote.
pub type Map<V> = indexmap::IndexMap<String, V>;

/// A number as the user wrote it: any YAML integer or float (quoted or not), whatever
/// its size or sign, so that loading can say which range a setting allows rather than
/// what a machine type holds. Loading checks it against `crate::project::limits`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(pub f64);

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                // Rounds past 2^53, which no range comes near.
                Ok(Number(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            // Text that is no number (and true or false) is NaN, which no range
            // holds: loading then says what the key allows, at the value's place (an
            // error raised here would point at the key).
            fn visit_str<E>(self, v: &str) -> Result<Number, E> {
                Ok(Number(v.trim().parse().unwrap_or(f64::NAN)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Number, E> {
                Ok(Number(f64::NAN))
            }
        }
        d.deserialize_any(Visitor)
    }
}
