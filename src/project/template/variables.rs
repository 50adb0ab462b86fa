//! The variables a template reads, for `runner mcp`'s input schemas.

use super::{RESULT_VAR, Renderer, has_markup, is_function, single_expression};

impl Renderer {
    /// The variables `source` reads that the run must set: its undeclared names,
    /// without the functions and globals every template has. Empty when it has no
    /// markup or does not parse (`runner check` reports that).
    pub fn variables(&self, source: &str) -> Vec<String> {
        if !has_markup(source) {
            return Vec::new();
        }
        let wrapped;
        let text = match single_expression(source) {
            Some(expr) => {
                wrapped = format!("{{% set {RESULT_VAR} = ({expr}) %}}");
                wrapped.as_str()
            }
            None => source,
        };
        let Ok(tmpl) = self.env.template_from_str(text) else {
            return Vec::new();
        };
        let mut names: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|n| n != RESULT_VAR && !is_function(n) && !self.globals.contains(n))
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::Renderer;

    #[test]
    fn a_template_reads_its_undeclared_names_not_functions_nor_its_own() {
        let r = Renderer::new();
        let cases: [(&str, &[&str]); 6] = [
            ("/assets", &[]),
            ("/assets/{{ asset_id }}", &["asset_id"]),
            ("{{ status | default('x') }}", &["status"]),
            ("{{ env('HOME') }}-{{ uuid() }}-{{ now() }}", &[]),
            (
                "{% for i in items %}{{ i }}{{ sep }}{% endfor %}",
                &["items", "sep"],
            ),
            ("{{ broken", &[]),
        ];
        for (source, want) in cases {
            assert_eq!(r.variables(source), want, "{source}");
        }
    }
}
