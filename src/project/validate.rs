//! Checks shared by profiles and request files: numbers against their ranges, and
//! header names and values that can go on the wire.

use std::time::Duration;

use super::SourceFile;
use super::limits::{self, Range};
use crate::error::InputError;
use crate::http::header;
use crate::project::model::profile::{AuthConfig, HttpConfig};
use crate::project::model::request::RequestFile;
use crate::project::model::{Number, Spanned};

/// A profile's `auth:` numbers, checked against their ranges (`None`: not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthNumbers {
    pub redirect_port: Option<u16>,
    pub login_timeout: Option<Duration>,
}

impl AuthNumbers {
    pub(super) fn check(
        a: &AuthConfig,
        src: &SourceFile,
        problems: &mut Vec<InputError>,
    ) -> AuthNumbers {
        AuthNumbers {
            redirect_port: number(
                src,
                "auth.redirect_port",
                &a.redirect_port,
                Range::count_as,
                &limits::PORT,
                problems,
            ),
            login_timeout: number(
                src,
                "auth.login_timeout",
                &a.login_timeout,
                Range::duration,
                &limits::LOGIN_TIMEOUT_SECS,
                problems,
            ),
        }
    }
}

/// A profile's `http:` numbers, checked against their ranges (`None`: not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpNumbers {
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub max_body: Option<u64>,
    pub max_redirects: Option<u32>,
}

impl HttpNumbers {
    pub(super) fn check(
        h: &HttpConfig,
        src: &SourceFile,
        problems: &mut Vec<InputError>,
    ) -> HttpNumbers {
        HttpNumbers {
            timeout: number(
                src,
                "http.timeout",
                &h.timeout,
                Range::duration,
                &limits::TIMEOUT_SECS,
                problems,
            ),
            retries: number(
                src,
                "http.retries",
                &h.retries,
                Range::count_as,
                &limits::RETRIES,
                problems,
            ),
            max_body: number(
                src,
                "http.max_body",
                &h.max_body,
                Range::count,
                &limits::MAX_BODY,
                problems,
            ),
            max_redirects: number(
                src,
                "http.max_redirects",
                &h.max_redirects,
                Range::count_as,
                &limits::MAX_REDIRECTS,
                problems,
            ),
        }
    }
}

/// A request file's numbers, checked against their ranges (`None`: not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestNumbers {
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub max_pages: Option<u32>,
}

impl RequestNumbers {
    pub(super) fn check(
        f: &RequestFile,
        src: &SourceFile,
        problems: &mut Vec<InputError>,
    ) -> RequestNumbers {
        RequestNumbers {
            timeout: number(
                src,
                "timeout",
                &f.timeout,
                Range::duration,
                &limits::TIMEOUT_SECS,
                problems,
            ),
            retries: number(
                src,
                "retries",
                &f.retries,
                Range::count_as,
                &limits::RETRIES,
                problems,
            ),
            max_pages: f.paginate.as_ref().and_then(|pg| {
                number(
                    src,
                    "paginate.max_pages",
                    &pg.value.max_pages,
                    Range::count_as,
                    &limits::MAX_PAGES,
                    problems,
                )
            }),
        }
    }
}

/// `n` converted by `convert` (which checks its range), or a problem at its place
/// saying what `key` allows.
pub(super) fn number<T>(
    src: &SourceFile,
    key: &str,
    n: &Option<Spanned<Number>>,
    convert: impl Fn(&Range, f64) -> Result<T, String>,
    range: &Range,
    problems: &mut Vec<InputError>,
) -> Option<T> {
    let n = n.as_ref()?;
    match convert(range, n.value.0) {
        Ok(v) => Some(v),
        Err(why) => {
            problems.push(InputError::at(src.place(n), format!("{key} {why}")));
            None
        }
    }
}

/// A problem for each header whose name is not a token, or whose value has no
/// template and holds a control character (templated values are checked once
/// rendered).
pub(super) fn header_problems<'a>(
    src: &SourceFile,
    headers: impl IntoIterator<Item = (&'a String, &'a Spanned<String>)>,
    problems: &mut Vec<InputError>,
) {
    for (name, value) in headers {
        let problem = if crate::project::template::has_markup(&value.value) {
            header::name_problem(name)
        } else {
            header::problem(name, &value.value)
        };
        if let Some(p) = problem {
            problems.push(InputError::at(src.place(value), p));
        }
    }
}
