//! `--dry-run` / `--curl`: what would be sent, sending nothing.

pub mod format;

use crate::cli::ExecArgs;
use crate::env::{Auth, Env};
use crate::error::Error;
use crate::http::RenderedRequest;
use crate::project::template::Vars;
use crate::project::{self, Document, PreparedRequest};
use crate::run::bulk::data::DataSet;
use crate::run::output::{Output, write_or_pipe};
use crate::run::render::{Overrides, render_request};

/// `--dry-run` / `--curl`: render every request (every row with `--data`, every
/// step of a flow that can be rendered before sending) and print it. Sends nothing.
pub(super) async fn preview_all(
    env: &Env,
    args: &ExecArgs,
    data: Option<&DataSet>,
    vars: &Vars,
    overrides: &Overrides,
    out: &mut Output,
) -> Result<u8, Error> {
    let auth = auth_header(env, args.show_secrets);
    let auth_ref = auth.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut row_vars = Vec::new();
    match data {
        Some(d) => {
            for row in &d.rows {
                row_vars.push(Vars::over(vars, row.vars.clone()));
            }
        }
        None => row_vars.push(vars.clone()),
    }
    let mut texts = Vec::new();
    for file in &args.files {
        let doc = project::load_document(file).map_err(Error::from_inputs)?;
        for v in &row_vars {
            let mut v = v.clone();
            let requests: Vec<(&PreparedRequest, bool)> = match &doc {
                Document::Request(req) => vec![(req.as_ref(), false)],
                Document::Flow(..) => {
                    preview_flow(env, &doc, &mut v, overrides, &mut texts, args, auth_ref)?;
                    continue;
                }
            };
            for (req, _) in requests {
                let r = render_request(env, req, &v, overrides)?;
                texts.push(render_preview(env, r, args, auth_ref, req));
            }
        }
    }
    // Without --show-secrets, every registered secret is masked, whatever part of
    // the request holds it (a URL's userinfo, a body).
    let mut text = texts.join("\n");
    if !args.show_secrets {
        text = crate::secret::redact(&text);
    }
    write_or_pipe(out.bytes(text.as_bytes()))?;
    Ok(0)
}

fn render_preview(
    env: &Env,
    r: RenderedRequest,
    args: &ExecArgs,
    auth: Option<(&str, &str)>,
    req: &PreparedRequest,
) -> String {
    let r = &with_query_credential(env, r, req, args.show_secrets);
    let auth = if req.file.auth == crate::project::model::request::RequestAuth::Profile {
        auth
    } else {
        None
    };
    if args.curl {
        let command = format::curl(r, auth, env.client.credentials(), args.show_secrets);
        format::curl_transport(command, env.client.tls(), args.show_secrets)
    } else {
        format::dry_run(r, auth, env.client.credentials(), args.show_secrets)
    }
}

/// A flow's steps, rendered in order with their own vars; a step that needs what an
/// earlier response gives cannot be shown before sending, and ends the preview.
fn preview_flow(
    env: &Env,
    doc: &Document,
    vars: &mut Vars,
    overrides: &Overrides,
    texts: &mut Vec<String>,
    args: &ExecArgs,
    auth: Option<(&str, &str)>,
) -> Result<(), Error> {
    let Document::Flow(flow, src) = doc else {
        return Ok(());
    };
    for (i, step) in flow.steps.iter().enumerate() {
        for (k, v) in &step.value.vars {
            let value = env
                .renderer
                .render_value(&v.value, vars, src.dir(), src.origin(v))?;
            vars.set(k.clone(), value);
        }
        let path = src.dir().join(&step.value.run);
        match project::load_document(&path).map_err(Error::from_inputs)? {
            Document::Request(req) => match render_request(env, &req, vars, overrides) {
                Ok(r) => texts.push(render_preview(env, r, args, auth, &req)),
                Err(e) if i > 0 => {
                    eprintln!(
                        "note: step {} and later need values from earlier responses: {}",
                        i + 1,
                        e.headline()
                    );
                    return Ok(());
                }
                Err(e) => return Err(e),
            },
            Document::Flow(..) => {
                eprintln!("note: step {} is a nested flow; not previewed", i + 1);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// `r` with the profile's api_key in its query, as it would be sent (masked unless
/// `show_secrets`): only for a file that uses the profile's auth, to its origins.
fn with_query_credential(
    env: &Env,
    mut r: RenderedRequest,
    req: &PreparedRequest,
    show_secrets: bool,
) -> RenderedRequest {
    if let Auth::Static {
        in_query: true,
        header,
        value,
    } = &env.auth
        && req.file.auth == crate::project::model::request::RequestAuth::Profile
        && env.client.credentials().trusts(&r.url)
    {
        let unset = crate::secret::placeholders_in(value.expose()).join(" ");
        let shown = match (show_secrets, unset.is_empty()) {
            (true, _) => value.expose(),
            (false, false) => &unset,
            (false, true) => "***",
        };
        r.url.query_pairs_mut().append_pair(header, shown);
    }
    r
}

/// The authentication header a preview shows: the real value only with
/// `--show-secrets`, and for OAuth2 only a token already cached (no login for a
/// preview).
pub(super) fn auth_header(env: &Env, show_secrets: bool) -> Option<(String, String)> {
    match &env.auth {
        Auth::None => None,
        // A key in the query is shown in the URL (`query_credential`), not as a header.
        Auth::Static { in_query: true, .. } => None,
        Auth::Static { header, value, .. } => Some((header.clone(), value.expose().to_string())),
        // The signature covers the time of sending: a preview can only say how.
        Auth::AwsSigv4 { signer, .. } => Some((
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/<date>/{}/{}/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=<computed when sent>",
                signer.access_key_id, signer.region, signer.service
            ),
        )),
        Auth::OAuth { session, header } => {
            let cached = if show_secrets { session.peek() } else { None };
            let value = match cached {
                Some(token) => header.value(&token).expose().to_string(),
                None if show_secrets => format!("{} <token obtained when sent>", header.scheme),
                None => "***".to_string(),
            };
            Some((header.name.clone(), value.trim().to_string()))
        }
    }
}
