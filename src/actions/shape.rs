//! Which parameters a kind takes, and which of them it requires, read from its parameter type
//! through serde itself: the catalog never lists them by hand.
//!
//! Two small deserializers drive the type's own `Deserialize`: the first only records the
//! field names serde asks for (`deserialize_struct`'s `fields`, renames applied); the second
//! offers every field but one, each with a made-up value of whatever type the field asks for.
//! serde then answers `missing field` exactly for the fields that have neither `Option` nor
//! `#[serde(default)]`: the same rule that applies when a step runs.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// The parameters of one kind, in the order its type declares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub required: Vec<&'static str>,
    pub optional: Vec<&'static str>,
}

/// Why a parameter type's shape cannot be read (a type this module does not understand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

/// The shape of `T`, a struct of named fields.
pub fn of<T: DeserializeOwned>() -> Result<Shape, ShapeError> {
    let mut fields = None;
    let _ = T::deserialize(FieldNames(&mut fields));
    let fields = fields.ok_or_else(|| ShapeError("not a struct of named fields".to_owned()))?;
    let mut shape = Shape {
        required: Vec::new(),
        optional: Vec::new(),
    };
    for field in fields {
        let others: Vec<&'static str> = fields.iter().copied().filter(|f| f != field).collect();
        match T::deserialize(Anything::Struct(&others)) {
            Ok(_) => shape.optional.push(field),
            Err(ShapeError(message)) if message == format!("missing field `{field}`") => {
                shape.required.push(field);
            }
            Err(ShapeError(message)) => {
                return Err(ShapeError(format!(
                    "field `{field}`: cannot tell whether it is required: {message}"
                )));
            }
        }
    }
    Ok(shape)
}

/// Records the field names of the struct serde asks for, and stops.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ShapeError> {
        Err(ShapeError("not a struct".to_owned()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ShapeError> {
        *self.0 = Some(fields);
        Err(ShapeError("fields recorded".to_owned()))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Integer requests answered with 1, which every integer type reads.
macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            visitor.visit_u64(1)
        }
    )*};
}

/// A made-up value of whatever type is asked for; a struct gets exactly the given fields.
#[derive(Clone, Copy)]
enum Anything<'a> {
    Value,
    Struct(&'a [&'static str]),
}

impl<'de> de::Deserializer<'de> for Anything<'_> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_str("")
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_bool(false)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_i64(1)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_u64(1)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_f64(1.0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_f64(1.0)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_char('a')
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_none()
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_newtype_struct(Anything::Value)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_seq(Items(0))
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_seq(Items(len))
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_map(Fields(&[]))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        match self {
            Anything::Struct(given) => visitor.visit_map(Fields(given)),
            Anything::Value => visitor.visit_map(Fields(fields)),
        }
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        let first = variants
            .first()
            .ok_or_else(|| ShapeError("an enum without variants".to_owned()))?;
        visitor.visit_enum(Variant(first))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_seq(Items(len))
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i128 deserialize_u8
        deserialize_u16 deserialize_u32 deserialize_u128
    }

    serde::forward_to_deserialize_any! {
        str string bytes byte_buf unit_struct identifier ignored_any
    }
}

/// A sequence of `.0` made-up items.
struct Items(usize);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        if self.0 == 0 {
            return Ok(None);
        }
        self.0 -= 1;
        seed.deserialize(Anything::Value).map(Some)
    }
}

/// A map of the given keys, each with a made-up value.
struct Fields<'a>(&'a [&'static str]);

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        let Some((first, rest)) = self.0.split_first() else {
            return Ok(None);
        };
        self.0 = rest;
        seed.deserialize((*first).into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ShapeError> {
        seed.deserialize(Anything::Value)
    }
}

/// The first variant of an enum, with made-up contents.
struct Variant(&'static str);

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = ShapeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), ShapeError> {
        let name: de::value::StrDeserializer<'_, ShapeError> = self.0.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant {
    type Error = ShapeError;

    fn unit_variant(self) -> Result<(), ShapeError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ShapeError> {
        seed.deserialize(Anything::Value)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_seq(Items(len))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_map(Fields(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        name: String,
        port: u16,
        #[serde(default)]
        insecure: bool,
        note: Option<String>,
        items: Vec<Item>,
        #[serde(rename = "secret-ref")]
        secret: Item,
        #[serde(default = "default_count")]
        count: u32,
        /// A key that must be there, whose value may be null.
        #[serde(deserialize_with = "nullable")]
        gateway: Option<String>,
    }

    fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        <Option<String> as serde::Deserialize>::deserialize(d)
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        key: String,
        size: Option<u64>,
    }

    fn default_count() -> u32 {
        3
    }

    #[test]
    fn required_and_optional_follow_serde() {
        let shape = of::<Example>().expect("shape");
        assert_eq!(
            shape.required,
            ["name", "port", "items", "secret-ref", "gateway"]
        );
        assert_eq!(shape.optional, ["insecure", "note", "count"]);
    }

    #[test]
    fn a_type_without_named_fields_is_refused() {
        assert!(of::<String>().is_err());
    }
}
