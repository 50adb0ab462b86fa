use super::*;
use serde_json::json;
use std::sync::Arc;

fn origin<'a>(source: &'a str) -> Origin<'a> {
    Origin {
        path: Path::new("r.yaml"),
        source,
        line: 1,
        column: 1,
    }
}

fn vars() -> Vars {
    let mut v = Vars::new();
    v.set("n", json!(5));
    v.set("name", json!("Pump"));
    v
}

#[test]
fn plain_names_give_what_minijinja_gives() {
    let r = Renderer::new();
    let mut v = vars();
    v.set("text", json!("a \"quoted\" {{ not a template }}"));
    v.set("big", json!(18446744073709551615u64));
    v.set("neg", json!(-7));
    v.set("pi", json!(3.25));
    v.set("whole", json!(2.0));
    v.set("yes", json!(true));
    v.set("nothing", json!(null));
    v.set("list", json!([1, "two", {"three": 3}]));
    v.set("row", json!({"b": {"c": [1]}, "a": "x", "_id": 4}));
    let o = origin("x");
    let dir = Path::new(".");
    for name in [
        "text", "big", "neg", "pi", "whole", "yes", "nothing", "list", "row", "row.a", "row.b.c",
        "row._id", "n", "name",
    ] {
        assert!(r.plain_lookup(name, &v).is_some(), "{name}");
        // Parentheses make it an expression MiniJinja evaluates.
        let fast = r.render_value(&json!(format!("{{{{ {name} }}}}")), &v, dir, o);
        let slow = r.render_value(&json!(format!("{{{{ ({name}) }}}}")), &v, dir, o);
        assert_eq!(fast.unwrap(), slow.unwrap(), "{name}");
        let fast = r.render_str(&format!("<{{{{{name}}}}}>"), &v, dir, o);
        let slow = r.render_str(&format!("<{{{{({name})}}}}>"), &v, dir, o);
        assert_eq!(fast.unwrap(), slow.unwrap(), "{name} in a string");
    }
    // Missing names, keywords, functions and expressions take MiniJinja's path.
    v.set("env", json!("shadowed?"));
    for expr in [
        "missing", "row.zz", "list.0", "true", "none", "env", "range", "n + 1",
    ] {
        assert!(r.plain_lookup(expr, &v).is_none(), "{expr}");
    }
    let e = r
        .render_value(&json!("{{ missing }}"), &v, dir, o)
        .unwrap_err();
    assert!(
        e.message.contains("undefined variable `missing`"),
        "{}",
        e.message
    );
}

#[test]
fn single_expressions_keep_their_type() {
    let r = Renderer::new();
    let src = "x";
    let out = r
        .render_value(
            &json!({"a": "{{ n }}", "b": "n={{ n }}", "c": "{{ n + 1 }}", "d": ["{{ name }}"]}),
            &vars(),
            Path::new("."),
            origin(src),
        )
        .unwrap();
    assert_eq!(out, json!({"a": 5, "b": "n=5", "c": 6, "d": ["Pump"]}));
}

#[test]
fn undefined_variable_is_named_with_its_line() {
    let r = Renderer::new();
    let src = "method: GET\nurl: /assets/{{ asset_id }}\n";
    let o = Origin {
        path: Path::new("r.yaml"),
        source: src,
        line: 2,
        column: 6,
    };
    let e = r
        .render_str("/assets/{{ asset_id }}", &vars(), Path::new("."), o)
        .unwrap_err();
    assert!(
        e.message.contains("undefined variable `asset_id`"),
        "{}",
        e.message
    );
    assert_eq!(e.place, Place::new("r.yaml", 2, 6));
    let e = r
        .render_value(&json!("{{ missing }}"), &vars(), Path::new("."), o)
        .unwrap_err();
    assert!(e.message.contains("`missing`"), "{}", e.message);
}

#[test]
fn env_function_errors_name_the_variable() {
    let r = Renderer::new();
    let e = r
        .render_str(
            "{{ env('RUNNER_TEST_SURELY_UNSET') }}",
            &vars(),
            Path::new("."),
            origin("x"),
        )
        .unwrap_err();
    assert!(
        e.message.contains("RUNNER_TEST_SURELY_UNSET"),
        "{}",
        e.message
    );
    let ok = r
        .render_str(
            "{{ env('RUNNER_TEST_SURELY_UNSET', 'dflt') }}",
            &vars(),
            Path::new("."),
            origin("x"),
        )
        .unwrap();
    assert_eq!(ok, "dflt");
}

#[test]
fn runaway_loops_run_out_of_fuel() {
    let r = Renderer::new();
    let e = r
        .render_str(
            "{% for i in range(100000000) %}{{ i }}{% endfor %}",
            &vars(),
            Path::new("."),
            origin("x"),
        )
        .unwrap_err();
    assert!(
        e.message.contains("too much work") || e.message.contains("range"),
        "{}",
        e.message
    );
}

#[test]
fn autoescape_is_off() {
    let r = Renderer::new();
    let out = r
        .render_str("a \"{{ name }}\" <b>", &vars(), Path::new("."), origin("x"))
        .unwrap();
    assert_eq!(out, "a \"Pump\" <b>");
}

#[test]
fn syntax_errors_are_found_without_rendering() {
    let r = Renderer::new();
    assert!(r.check_str("{{ a ", origin("x")).is_err());
    assert!(r.check_str("{{ a }}", origin("x")).is_ok());
}

#[test]
fn random_int_stays_in_its_range_and_refuses_an_empty_one() {
    let r = Renderer::new();
    let render = |s: &str| r.render_str(s, &vars(), Path::new("."), origin("x"));
    for _ in 0..50 {
        let n: i64 = render("{{ random_int(3, 5) }}").unwrap().parse().unwrap();
        assert!((3..5).contains(&n), "{n}");
    }
    assert_eq!(render("{{ random_int(7, 8) }}").unwrap(), "7");
    let e = render("{{ random_int(5, 5) }}").unwrap_err();
    assert!(
        e.message
            .contains("random_int(5, 5): the range is empty (max must be greater than min)"),
        "{}",
        e.message
    );
}

#[test]
fn unset_env_names_lists_only_unset_variables_without_a_default() {
    let src = "{{ env('RUNNER_TEST_UNSET_A') }}-{{ env(\"RUNNER_TEST_UNSET_B\") }}-{{ env('RUNNER_TEST_UNSET_C', 'd') }}-{{ env('PATH') }}";
    assert_eq!(
        super::unset_env_names(src),
        vec![
            "RUNNER_TEST_UNSET_A".to_string(),
            "RUNNER_TEST_UNSET_B".to_string()
        ]
    );
}

#[test]
fn markup_is_an_opening_brace_followed_by_a_brace_percent_or_hash() {
    for s in [
        "{{ x }}",
        "a {% if y %}",
        "{# note #}",
        "{ {{x}}",
        "}{{",
        "x{{",
    ] {
        assert!(has_markup(s), "{s}");
    }
    for s in ["", "{", "plain", "{ x }", "{\"a\": 1}", "x{", "} {", "é{é"] {
        assert!(!has_markup(s), "{s}");
    }
}

#[test]
fn a_row_lies_over_the_run_variables_as_if_set_one_by_one() {
    let r = Renderer::new();
    let dir = Path::new(".");
    let o = origin("x");
    let mut base = vars();
    base.set("site", json!("north"));
    let mut row = serde_json::Map::new();
    row.insert("name".into(), json!("Valve"));
    row.insert("serial".into(), json!("S-1"));
    let row = Arc::new(row);
    // What a row saw before: the run's variables copied, the row's fields set on top.
    let mut copied = base.clone();
    for (k, v) in row.iter() {
        copied.set(k.clone(), v.clone());
    }
    let mut over = Vars::over(&base, row.clone());
    assert_eq!(over.get("name"), Some(&json!("Valve")));
    assert_eq!(over.get("n"), Some(&json!(5)));
    assert!(over.contains("serial") && !over.contains("missing"));
    // A whole template sees the same variables, in the same order.
    let listing = "{{ n }} {{ name }} {{ site }} {{ serial }}";
    for v in [&copied, &over] {
        assert_eq!(
            r.render_str(listing, v, dir, o).unwrap(),
            "5 Valve north S-1"
        );
        assert_eq!(
            r.render_value(&json!("{{ name ~ '/' ~ serial }}"), v, dir, o)
                .unwrap(),
            json!("Valve/S-1")
        );
    }
    assert_eq!(*over.folded(), *copied.folded());
    assert_eq!(
        over.folded().keys().collect::<Vec<_>>(),
        ["n", "name", "site", "serial"]
    );
    // A change (a flow's extract) folds the row in; the base and the row are untouched.
    over.set("name", json!("Pump 2"));
    over.set("id", json!(7));
    assert_eq!(over.get("name"), Some(&json!("Pump 2")));
    assert_eq!(over.get("serial"), Some(&json!("S-1")));
    assert_eq!(base.get("name"), Some(&json!("Pump")));
    assert!(!base.contains("serial"));
    assert_eq!(row["name"], json!("Valve"));
    copied.set("name", json!("Pump 2"));
    copied.set("id", json!(7));
    assert_eq!(*over.folded(), *copied.folded());
}

#[test]
fn a_json_template_writes_the_text_of_the_tree_render_value_builds() {
    let r = Renderer::new();
    let mut v = vars();
    v.set(
        "row",
        json!({"a": "x \"q\" é", "f": 0.30000000000000004, "l": [1, null]}),
    );
    let dir = Path::new(".");
    let o = origin("x");
    for body in [
        json!({"name": "{{ name }}", "n": "{{ n }}", "status": "active"}),
        json!({"a": "{{ row.a }}", "f": "{{ row.f }}", "l": "{{ row.l }}", "whole": "{{ row }}"}),
        json!({"sum": "{{ n + 1 }}", "text": "n is {{ n }}", "upper": "{{ name | upper }}"}),
        json!([1, 2.5, "x", null, true, {}, [], {"deep": [{"k": "{{ n * 2.5 }}"}]}]),
        json!({"plain": {"nested": ["no markup", "{ not { a template }"]}, "e": ""}),
        json!("{{ name }}"),
        json!(7),
    ] {
        let template = JsonTemplate::compile(&r, &body).expect("literal keys");
        let text = r.render_json_text(&template, &v, dir, o).unwrap();
        let tree = r.render_value(&body, &v, dir, o).unwrap();
        assert_eq!(text, serde_json::to_vec(&tree).unwrap(), "{body}");
    }
    // The same error, from the same place.
    let body = json!({"ok": "{{ n }}", "bad": "{{ missing }}"});
    let template = JsonTemplate::compile(&r, &body).unwrap();
    let text_err = r.render_json_text(&template, &v, dir, o).unwrap_err();
    let tree_err = r.render_value(&body, &v, dir, o).unwrap_err();
    assert_eq!(text_err.message, tree_err.message);
    assert!(
        text_err.message.contains("`missing`"),
        "{}",
        text_err.message
    );
    // A templated key is left to the tree, whose map keeps one of two equal keys.
    assert!(JsonTemplate::compile(&r, &json!({"{{ name }}": 1, "Pump": 2})).is_none());
}
