//! Test helpers shared by the providers' property tests.

use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON (three levels deep) whose leaves include the strings a parser looks for
/// (`hints`: timestamps, addresses, event names), so edits reach the interesting branches.
pub fn any_json(hints: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop::sample::select(hints).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
