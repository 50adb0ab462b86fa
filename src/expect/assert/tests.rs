//! The predicates, compiled and checked.

use super::predicate::SHOWN_CHARS;
use super::*;
use serde_json::json;

fn holds(pred: Value, actual: Value) -> bool {
    check(&compile(&pred).unwrap(), Some(&actual)).is_empty()
}

#[test]
fn predicates_hold_and_fail_as_documented() {
    let cases = [
        (json!(250), json!(250), true),
        (json!(250), json!(250.0), true),
        (json!(250), json!(250.5), false),
        // Ids above 2^53 stay distinct: through f64 they would be equal.
        (
            json!(9007199254740993_u64),
            json!(9007199254740992_u64),
            false,
        ),
        (
            json!(9007199254740993_u64),
            json!(9007199254740993_u64),
            true,
        ),
        (json!(18446744073709551615_u64), json!(-1), false),
        (json!({"equals": {"name": "a"}}), json!({"name": "a"}), true),
        (json!({"equals": {"gt": 1}}), json!({"gt": 1}), true),
        (json!({"not_equals": 3}), json!(4), true),
        (json!({"gte": 1}), json!(1), true),
        (json!({"gt": 1}), json!(1), false),
        (json!({"lt": 10, "gte": 2}), json!(5), true),
        (json!({"lte": 100}), json!("x"), false),
        (
            json!({"gt": "2024-01-01T00:00:00Z"}),
            json!("2024-01-01T01:00:00+00:30"),
            true,
        ),
        (
            json!({"lt": "2024-01-01"}),
            json!("2023-12-31T23:59:59.5Z"),
            true,
        ),
        (json!({"contains": "ump"}), json!("Pump 12"), true),
        (json!({"contains": 2}), json!([1, 2]), true),
        (json!({"contains": "id"}), json!({"id": 1}), true),
        (json!({"not_contains": 3}), json!([1, 2]), true),
        (json!({"starts_with": "Pu"}), json!("Pump"), true),
        (json!({"ends_with": "mp"}), json!("Pump"), true),
        (json!({"ends_with": "x"}), json!(1), false),
        (
            json!({"matches": "^application/json"}),
            json!("application/json; charset=utf-8"),
            true,
        ),
        (json!({"type": "integer"}), json!(3), true),
        (json!({"type": "integer"}), json!(3.5), false),
        (json!({"type": "null"}), json!(null), true),
        (json!({"length": 2}), json!([1, 2]), true),
        (json!({"length": {"lte": 3, "gt": 0}}), json!("abc"), true),
        (
            json!({"length": {"lte": 1}}),
            json!({"a": 1, "b": 2}),
            false,
        ),
        (
            json!({"one_of": ["active", "archived"]}),
            json!("active"),
            true,
        ),
        (
            json!({"each": {"one_of": ["active", "archived"]}}),
            json!(["active", "gone"]),
            false,
        ),
        (json!({"each": {"type": "string"}}), json!(["a", "b"]), true),
        (json!({"each": 1}), json!([1, 1]), true),
        (
            json!({"not": {"equals": 0, "type": "null"}}),
            json!(4),
            true,
        ),
        (
            json!({"not": {"equals": 0, "type": "null"}}),
            json!(0),
            false,
        ),
    ];
    for (pred, actual, want) in cases {
        assert_eq!(
            holds(pred.clone(), actual.clone()),
            want,
            "{pred} on {actual}"
        );
    }
}

#[test]
fn exists_tells_absent_from_null() {
    let yes = compile(&json!({"exists": true})).unwrap();
    let no = compile(&json!({"exists": false})).unwrap();
    assert!(check(&yes, Some(&Value::Null)).is_empty());
    assert_eq!(check(&yes, None).len(), 1);
    assert!(check(&no, None).is_empty());
}

#[test]
fn nested_failures_say_where() {
    let p = compile(&json!({"each": {"one_of": ["active", "archived"]}})).unwrap();
    let m = check(&p, Some(&json!(["active", "gone"]))).remove(0);
    assert_eq!(m.predicate, "each[1].one_of");
    assert_eq!(m.expected, r#"["active","archived"]"#);
    assert_eq!(m.actual, r#""gone""#);
    let p = compile(&json!({"length": {"lte": 1}})).unwrap();
    let m = check(&p, Some(&json!([1, 2, 3]))).remove(0);
    assert_eq!(
        (m.predicate.as_str(), m.actual.as_str()),
        ("length.lte", "3")
    );
}

#[test]
fn every_failure_is_reported() {
    let p = compile(&json!({"gt": 10, "type": "string", "one_of": [1]})).unwrap();
    assert_eq!(check(&p, Some(&json!(5))).len(), 3);
}

#[test]
fn objects_get_a_short_diff_and_long_values_are_cut() {
    let p = compile(&json!({"equals": {"a": 1, "b": {"c": 2}}})).unwrap();
    let m = check(&p, Some(&json!({"a": 1, "b": {"c": 3}, "d": 0}))).remove(0);
    assert_eq!(m.diff.as_deref(), Some(".b.c: 3 ≠ 2; .d not expected"));
    let long = Value::String("x".repeat(500));
    assert!(show(&long).chars().count() <= SHOWN_CHARS + 1);
}

#[test]
fn bad_predicates_are_refused_at_compile_time() {
    let cases = [
        (json!({"gte": 1, "lenght": 3}), "unknown predicate `lenght`"),
        (
            json!({"matches": "(unclosed"}),
            "invalid regular expression",
        ),
        (json!({"type": "text"}), "unknown type `text`"),
        (json!({"exists": "yes"}), "`exists` takes true or false"),
        (json!({"gt": "soon"}), "RFC 3339"),
        (json!({"length": -1}), "`length` takes a whole number"),
        (json!({"one_of": 1}), "`one_of` takes a list"),
    ];
    for (pred, want) in cases {
        let e = compile(&pred).unwrap_err();
        assert!(e.contains(want), "{pred}: {e}");
    }
}

#[test]
fn a_map_is_predicates_and_a_literal_map_is_written_with_equals() {
    for (v, want) in [
        (
            json!({"greater_than": 3}),
            "unknown predicate `greater_than`; did you mean `gt`? (a map to compare with is written `{equals: {…}}`)",
        ),
        (
            json!({"lenght": 3}),
            "unknown predicate `lenght`; did you mean `length`? (a map to compare with is written `{equals: {…}}`)",
        ),
        (
            json!({"each": {"name": "x"}}),
            "unknown predicate `name`; expected one of equals, not_equals, gt, gte, lt, lte, contains, not_contains, starts_with, ends_with, matches, exists, type, length, one_of, each, not (a map to compare with is written `{equals: {…}}`)",
        ),
        (
            json!({}),
            "an empty map asserts nothing; a map to compare with is written `{equals: {}}`",
        ),
    ] {
        assert_eq!(compile(&v).unwrap_err(), want, "{v}");
    }
    let p = compile(&json!({"equals": {"a": 1}})).unwrap();
    assert!(check(&p, Some(&json!({"a": 1}))).is_empty());
    assert_eq!(check(&p, Some(&json!({"a": 2}))).len(), 1);
}

#[test]
fn the_nearest_predicate_is_a_synonym_or_a_small_edit_away() {
    use super::predicate::nearest;
    for (name, want) in [
        ("greater_than", Some("gt")),
        ("Less-Than", Some("lt")),
        ("regex", Some("matches")),
        ("startswith", Some("starts_with")),
        ("one_off", Some("one_of")),
        ("equal", Some("equals")),
        ("exist", Some("exists")),
        ("zzzzzz", None),
        ("name", None),
    ] {
        assert_eq!(nearest(name), want, "{name}");
    }
}
