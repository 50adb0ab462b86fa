//! The few HTML pages a person sees: the login form of the authorization endpoint, the
//! device approval form, and the pages that say how it went. Every value is escaped.
//! Scripts and tests find their parts by id: the form `login`, the message `error`
//! and the paragraph `outcome`.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY, X_FRAME_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::accounts::USERNAME;

/// The login form for an authorization request: the request's parameters ride along
/// as hidden fields, since the sandbox keeps no session.
pub(crate) fn authorize_form(
    hidden: &[(&str, &str)],
    client_id: &str,
    scope: Option<&str>,
    error: Option<&str>,
) -> String {
    let mut fields = String::new();
    for (name, value) in hidden {
        fields.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    let scope = scope.map_or(String::new(), |s| {
        format!(" for the scope <code>{}</code>", escape(s))
    });
    let body = format!(
        "<p><strong>{client}</strong> asks to act for you{scope}.</p>\n{error}\
         <form id=\"login\" method=\"post\" action=\"/oauth/v2/auth\">\n{fields}\
         <p>You sign in as <strong>{user}</strong>.</p>\n\
         <p><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" autofocus></label></p>\n\
         <p><button type=\"submit\" name=\"action\" value=\"approve\">Sign in and allow</button>\n\
         <button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></p>\n\
         </form>\n<p class=\"hint\">The sandbox's user is {user}, password {user}.</p>\n",
        client = escape(client_id),
        error = error_paragraph(error),
        user = USERNAME,
    );
    document("Sign in", &body)
}

/// The device approval form (RFC 8628 §3.3), the user code filled in when known.
/// `client` names who asks, when the code is known.
pub(crate) fn device_form(
    user_code: Option<&str>,
    client: Option<&str>,
    error: Option<&str>,
) -> String {
    let asks = client.map_or(String::new(), |c| {
        format!(
            "<p><strong>{}</strong> asks to act for you.</p>\n",
            escape(c)
        )
    });
    let body = format!(
        "{asks}<p>Enter the code your device shows, then sign in to let it act for you.</p>\n{error}\
         <form id=\"login\" method=\"post\" action=\"/oauth/v2/device/verify\">\n\
         <p><label>Code <input name=\"user_code\" value=\"{code}\" autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\"></label></p>\n\
         <p>You sign in as <strong>{user}</strong>.</p>\n\
         <p><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label></p>\n\
         <p><button type=\"submit\" name=\"action\" value=\"approve\">Sign in and allow</button>\n\
         <button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></p>\n\
         </form>\n<p class=\"hint\">The sandbox's user is {user}, password {user}.</p>\n",
        error = error_paragraph(error),
        code = escape(user_code.unwrap_or("")),
        user = USERNAME,
    );
    document("Connect a device", &body)
}

/// A page that only says how it went: `outcome` is a word for scripts
/// (`approved`, `denied`, `refused`), `text` a sentence for people.
pub(crate) fn outcome(title: &str, outcome: &str, text: &str) -> String {
    let body = format!(
        "<p id=\"outcome\" data-outcome=\"{}\">{}</p>\n",
        escape(outcome),
        escape(text)
    );
    document(title, &body)
}

/// A request refused without a redirect: the reason, for the person at the browser.
pub(crate) fn refused(reason: &str) -> String {
    document("Request refused", &error_paragraph(Some(reason)))
}

/// An HTML answer that no cache keeps, no frame shows and no referrer leaks.
pub(crate) fn response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn error_paragraph(error: Option<&str>) -> String {
    error.map_or(String::new(), |e| {
        format!("<p id=\"error\" role=\"alert\">{}</p>\n", escape(e))
    })
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · runner sandbox</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         #error{{color:#b00020}}.hint{{color:#666;font-size:.9em}}</style>\n\
         </head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// Text made safe for HTML content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_gives_meaning_to() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn hidden_fields_and_messages_are_escaped() {
        let page = authorize_form(
            &[("state", "\"><script>x</script>")],
            "<c>",
            Some("a&b"),
            Some("<b>wrong</b>"),
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains(
            "<input type=\"hidden\" name=\"state\" value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">"
        ));
        assert!(page.contains("<strong>&lt;c&gt;</strong>"));
        assert!(page.contains("<code>a&amp;b</code>"));
        assert!(page.contains("<p id=\"error\" role=\"alert\">&lt;b&gt;wrong&lt;/b&gt;</p>"));
        let page = device_form(Some("\"x"), Some("<c>"), None);
        assert!(page.contains("<strong>&lt;c&gt;</strong> asks"));
        assert!(page.contains("value=\"&quot;x\""));
        assert!(!page.contains("id=\"error\""));
    }
}
