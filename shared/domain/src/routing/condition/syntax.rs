//! How conditions are written: reading them from TOML with readable errors (the span of the
//! offending key or value gives `Rules::from_toml` its line and column), writing them back, and
//! their JSON Schema.
//!
//! Hand-written rather than `#[serde(untagged)]`, whose errors ("data did not match any
//! variant") would not say what was expected.

use super::{Attribute, Clause, Condition, CountryCode, LaneTest, NumberRange, OneOf};
use crate::config::Segment;
use crate::event::Channel;
use crate::package::{HumanLane, Motion, Qualification, ReplyClass, RiskFlag, TriggerKind};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

const VALUES: &str = "a value, a list of values or { in = [...] }";

// ---- reading ---------------------------------------------------------------------------------

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = Attribute;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a condition attribute")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Attribute, E> {
                Attribute::from_key(v).ok_or_else(|| {
                    let known: Vec<&str> = Attribute::ALL.iter().map(|a| a.key()).collect();
                    E::custom(format!(
                        "unknown condition attribute `{v}`; use one of {}",
                        known.join(", ")
                    ))
                })
            }
        }
        d.deserialize_str(Key)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ConditionVisitor)
    }
}

struct ConditionVisitor;

impl<'de> Visitor<'de> for ConditionVisitor {
    type Value = Condition;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a condition table such as { motion = \"inbound\", employees = { below = 200 } }",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Condition, A::Error> {
        let mut clauses = Vec::new();
        while let Some(attribute) = map.next_key::<Attribute>()? {
            let clause = match attribute {
                Attribute::All => Clause::All(map.next_value::<ConditionList>()?.0),
                Attribute::Any => Clause::Any(map.next_value::<ConditionList>()?.0),
                Attribute::Not => Clause::Not(Box::new(map.next_value()?)),
                Attribute::Motion => Clause::Motion(map.next_value()?),
                Attribute::Trigger => Clause::Trigger(map.next_value()?),
                Attribute::ReplyClass => Clause::ReplyClass(map.next_value()?),
                Attribute::Qualification => Clause::Qualification(map.next_value()?),
                Attribute::Flags => Clause::Flags(map.next_value()?),
                Attribute::Lane => Clause::Lane(map.next_value()?),
                Attribute::Country => Clause::Country(map.next_value()?),
                Attribute::Territory => Clause::Territory(map.next_value()?),
                Attribute::Segment => Clause::Segment(map.next_value()?),
                Attribute::Employees => Clause::Employees(map.next_value()?),
                Attribute::Seats => Clause::Seats(map.next_value()?),
                Attribute::ProductLine => Clause::ProductLine(map.next_value()?),
                Attribute::Source => Clause::Source(map.next_value()?),
                Attribute::Channel => Clause::Channel(map.next_value()?),
                Attribute::Form => Clause::Form(map.next_value::<FormFields>()?.0),
                Attribute::ExistingCustomer => Clause::ExistingCustomer(map.next_value()?),
                Attribute::StrategicAccount => Clause::StrategicAccount(map.next_value()?),
            };
            clauses.push(clause);
        }
        Ok(Condition { clauses })
    }
}

/// The list of `all` / `any`: at least one condition.
struct ConditionList(Vec<Condition>);

impl<'de> Deserialize<'de> for ConditionList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = Vec<Condition>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of condition tables, such as [{ motion = \"inbound\" }, { flags = \"enterprise\" }]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(c) = seq.next_element::<Condition>()? {
                    out.push(c);
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list of conditions; give at least one condition table",
                    ));
                }
                Ok(out)
            }
        }
        d.deserialize_seq(List).map(ConditionList)
    }
}

impl<'de, T: Deserialize<'de> + PartialEq> Deserialize<'de> for OneOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOfVisitor(PhantomData))
    }
}

/// Reads a value, a list of values or `{ in = [...] }` (values are strings or labels).
struct OneOfVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + PartialEq> Visitor<'de> for OneOfVisitor<T> {
    type Value = OneOf<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(VALUES)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let value = T::deserialize(v.into_deserializer())?;
        Ok(OneOf(vec![value]))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Bool(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Float(v), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(v) = seq.next_element::<T>()? {
            values.push(v);
        }
        OneOf::new(values).ok_or_else(|| {
            de::Error::custom("an empty list matches nothing; give at least one value")
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "in" {
                return Err(de::Error::custom(format!(
                    "unknown key `{key}`: expected {VALUES}"
                )));
            }
            values = Some(map.next_value::<Vec<T>>()?);
        }
        values
            .and_then(OneOf::new)
            .ok_or_else(|| de::Error::custom(format!("nothing to match: expected {VALUES}")))
    }
}

impl<'de> Deserialize<'de> for LaneTest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Lane;
        impl<'de> Visitor<'de> for Lane {
            type Value = LaneTest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false, a lane, a list of lanes or { in = [...] }")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LaneTest, E> {
                Ok(LaneTest::Has(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LaneTest, E> {
                OneOfVisitor::<HumanLane>(PhantomData)
                    .visit_str(v)
                    .map(LaneTest::In)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LaneTest, E> {
                Err(E::invalid_type(Unexpected::Signed(v), &self))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LaneTest, A::Error> {
                OneOfVisitor::<HumanLane>(PhantomData)
                    .visit_seq(seq)
                    .map(LaneTest::In)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LaneTest, A::Error> {
                OneOfVisitor::<HumanLane>(PhantomData)
                    .visit_map(map)
                    .map(LaneTest::In)
            }
        }
        d.deserialize_any(Lane)
    }
}

const RANGE: &str = "a range such as { below = 200 } (with at_least, at_most, below or above)";

impl<'de> Deserialize<'de> for NumberRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Range;
        impl<'de> Visitor<'de> for Range {
            type Value = NumberRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(RANGE)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NumberRange, A::Error> {
                let mut r = NumberRange::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "at_least" => &mut r.at_least,
                        "at_most" => &mut r.at_most,
                        "below" => &mut r.below,
                        "above" => &mut r.above,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown bound `{other}`: expected {RANGE}"
                            )))
                        }
                    };
                    *slot = Some(map.next_value::<u32>()?);
                }
                if r == NumberRange::default() {
                    return Err(de::Error::custom(format!("no bound: expected {RANGE}")));
                }
                Ok(r)
            }
        }
        d.deserialize_map(Range)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        CountryCode::parse(&raw).ok_or_else(|| {
            de::Error::custom(format!(
                "country {raw:?} is not an ISO 3166-1 alpha-2 code (two letters, such as \"DE\")"
            ))
        })
    }
}

/// `form = { field = value(s), … }`: at least one field.
struct FormFields(BTreeMap<String, OneOf<String>>);

impl<'de> Deserialize<'de> for FormFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Form;
        impl<'de> Visitor<'de> for Form {
            type Value = BTreeMap<String, OneOf<String>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of form fields and their values, such as { utm_campaign = [\"spring-launch\", \"webinar\"] }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(field) = map.next_key::<String>()? {
                    let values = map.next_value::<OneOf<String>>()?;
                    out.insert(field, values);
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "an empty form table matches every handoff; name at least one field",
                    ));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Form).map(FormFields)
    }
}

// ---- writing ---------------------------------------------------------------------------------

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.clauses.len()))?;
        for clause in &self.clauses {
            let key = clause.attribute().key();
            match clause {
                Clause::All(cs) | Clause::Any(cs) => map.serialize_entry(key, cs)?,
                Clause::Not(c) => map.serialize_entry(key, c.as_ref())?,
                Clause::Motion(v) => map.serialize_entry(key, v)?,
                Clause::Trigger(v) => map.serialize_entry(key, v)?,
                Clause::ReplyClass(v) => map.serialize_entry(key, v)?,
                Clause::Qualification(v) => map.serialize_entry(key, v)?,
                Clause::Flags(v) => map.serialize_entry(key, v)?,
                Clause::Lane(LaneTest::Has(b)) => map.serialize_entry(key, b)?,
                Clause::Lane(LaneTest::In(v)) => map.serialize_entry(key, v)?,
                Clause::Country(v) => map.serialize_entry(key, v)?,
                Clause::Territory(v) => map.serialize_entry(key, v)?,
                Clause::Segment(v) => map.serialize_entry(key, v)?,
                Clause::Employees(r) | Clause::Seats(r) => map.serialize_entry(key, r)?,
                Clause::ProductLine(v) => map.serialize_entry(key, v)?,
                Clause::Source(v) => map.serialize_entry(key, v)?,
                Clause::Channel(v) => map.serialize_entry(key, v)?,
                Clause::Form(fields) => map.serialize_entry(key, fields)?,
                Clause::ExistingCustomer(b) | Clause::StrategicAccount(b) => {
                    map.serialize_entry(key, b)?
                }
            }
        }
        map.end()
    }
}

impl<T: Serialize> Serialize for OneOf<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

impl Serialize for NumberRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bounds: Vec<(&str, u32)> = [
            ("at_least", self.at_least),
            ("at_most", self.at_most),
            ("below", self.below),
            ("above", self.above),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        let mut map = s.serialize_map(Some(bounds.len()))?;
        for (k, v) in bounds {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

// ---- JSON Schema -----------------------------------------------------------------------------

impl<T: JsonSchema> JsonSchema for OneOf<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OneOf_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                item,
                { "type": "array", "items": item, "minItems": 1 },
                {
                    "type": "object",
                    "properties": { "in": { "type": "array", "items": item, "minItems": 1 } },
                    "required": ["in"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for CountryCode {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "CountryCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An ISO 3166-1 alpha-2 country code, any case.",
            "type": "string",
            "pattern": "^[A-Za-z]{2}$"
        })
    }
}

impl JsonSchema for NumberRange {
    fn schema_name() -> Cow<'static, str> {
        "NumberRange".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let bound = json_schema!({ "type": "integer", "format": "uint32", "minimum": 0 });
        json_schema!({
            "description": "A numeric range; every given bound must hold.",
            "type": "object",
            "properties": {
                "at_least": bound, "at_most": bound, "below": bound, "above": bound
            },
            "minProperties": 1,
            "additionalProperties": false
        })
    }
}

impl JsonSchema for Condition {
    fn schema_name() -> Cow<'static, str> {
        "Condition".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let condition = g.subschema_for::<Condition>();
        let list = json_schema!({ "type": "array", "items": condition, "minItems": 1 });
        let lane = g.subschema_for::<OneOf<HumanLane>>();
        json_schema!({
            "description": "A routing condition: every key must hold. An attribute the handoff does not have never satisfies a positive test; `not` of it does.",
            "type": "object",
            "properties": {
                "all": list,
                "any": list,
                "not": condition,
                "motion": g.subschema_for::<OneOf<Motion>>(),
                "trigger": g.subschema_for::<OneOf<TriggerKind>>(),
                "reply_class": g.subschema_for::<OneOf<ReplyClass>>(),
                "qualification": g.subschema_for::<OneOf<Qualification>>(),
                "flags": g.subschema_for::<OneOf<RiskFlag>>(),
                "lane": { "anyOf": [{ "type": "boolean" }, lane] },
                "country": g.subschema_for::<OneOf<CountryCode>>(),
                "territory": g.subschema_for::<OneOf<String>>(),
                "segment": g.subschema_for::<OneOf<Segment>>(),
                "employees": g.subschema_for::<NumberRange>(),
                "seats": g.subschema_for::<NumberRange>(),
                "product_line": g.subschema_for::<OneOf<String>>(),
                "source": g.subschema_for::<OneOf<String>>(),
                "channel": g.subschema_for::<OneOf<Channel>>(),
                "form": {
                    "type": "object",
                    "additionalProperties": g.subschema_for::<OneOf<String>>(),
                    "minProperties": 1
                },
                "existing_customer": { "type": "boolean" },
                "strategic_account": { "type": "boolean" }
            },
            "additionalProperties": false
        })
    }
}
