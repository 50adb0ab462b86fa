//! Issue 20, point 2: the canary suite. For every command and output channel, the real
//! binary runs with secrets that hold `& < > " ' \ % + / = :`, a space and non-ASCII,
//! and the test fails on any form of any of them (raw, percent-encoded, base64 of a
//! Basic pair, JSON- and HTML-escaped: see [`forms::forms`]) in what it captured.
//!
//! Channels whose content is response data (the body `exec` prints, `runner token`'s
//! stdout) are not searched, and each such exception says why where it is made. A
//! test sweeps all its channels before failing, so one failure lists every leak.

mod aws;
mod cookies;
mod exec;
mod forms;
mod import;
mod mcp;
mod paging;
mod secret_sources;
mod sender;
mod serve;
mod session;
mod signed;
mod suite;
mod userinfo;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;

use crate::support::{Project, Run, SandboxProc};
pub use forms::{Planted, describe, find_leaks};

/// A bearer token. ASCII only: runner sends an auth header only if it is visible ASCII.
pub const BEARER: &str = "Bt0ken C4naryBearer&<v>\"q'\\%+/=:x";
/// An API key sent in the query (`in: query`).
pub const API_KEY: &str = "Zk9+q/Wx3s=C4naryApiKey&<v>\"q'\\%: é";
/// The value of `X-Tenant`, a header the profile lists in `http.sensitive_headers`.
pub const TENANT: &str = "t3nant C4naryTenant&<v>\"q'\\%+/=: é";
/// Not a multiple of 3 bytes with its colon, so that the base64 of the pair does not
/// hold the base64 of the password alone (one leak, one line).
pub const USER: &str = "alice.b";
/// The Basic-auth password.
pub const PASSWORD: &str = "p&ss<w>\"rd'\\%+/= C4naryBasic: é";
/// The sandbox's client secret (the sandbox checks it; its user password, `demo`, is
/// too short to search for without false alarms).
pub const CLIENT_SECRET: &str = "sandbox-secret";

/// Every planted secret (tokens a server issues are added by [`Sweep`]).
pub fn planted() -> Vec<Planted> {
    vec![
        Planted::new("BEARER", BEARER),
        Planted::new("API_KEY", API_KEY),
        Planted::new("TENANT (sensitive header)", TENANT),
        Planted::new("PASSWORD (basic)", PASSWORD),
        Planted::basic_pair("USER:PASSWORD (basic pair)", USER, PASSWORD),
        Planted::new("CLIENT_SECRET", CLIENT_SECRET),
    ]
}

/// The environment every run gets: the profiles take their secrets from it.
pub const ENV: [(&str, &str); 4] = [
    ("CANARY_BEARER", BEARER),
    ("CANARY_API_KEY", API_KEY),
    ("CANARY_TENANT", TENANT),
    ("CANARY_PASSWORD", PASSWORD),
];

/// One profile per kind of credential, each at the sandbox's root (for its echo):
/// `default` (bearer, and `X-Tenant` in `http.sensitive_headers`), `key` (`api_key`
/// in the query), `basic`, `oauth` (password grant, revocation at logout); and
/// `closed`, `key` against a server that hangs up on every request.
pub const PROFILES: [&str; 4] = ["default", "key", "basic", "oauth"];

pub fn project(sb: &SandboxProc) -> Project {
    let p = Project::new();
    let url = &sb.url;
    let profile = |name: &str, base: &str, auth: &str| {
        p.write(
            &format!("profiles/{name}.yaml"),
            &format!("base_url: {base}\nauth:\n{auth}"),
        );
    };
    profile(
        "default",
        url,
        "  type: bearer\n  token: \"{{ env('CANARY_BEARER') }}\"\nhttp:\n  headers: {X-Tenant: \"{{ env('CANARY_TENANT') }}\"}\n  sensitive_headers: [X-Tenant]\n",
    );
    let key =
        "  type: api_key\n  key: \"{{ env('CANARY_API_KEY') }}\"\n  in: query\n  name: api_key\n";
    profile("key", url, key);
    profile(
        "closed",
        &closing_server(),
        &format!("{key}http:\n  retries: 0\n"),
    );
    profile(
        "basic",
        url,
        &format!(
            "  type: basic\n  username: {USER}\n  password: \"{{{{ env('CANARY_PASSWORD') }}}}\"\n"
        ),
    );
    profile(
        "oauth",
        url,
        &format!(
            "  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  revocation_url: {url}/oauth/v2/revoke\n  client_id: sandbox\n  client_secret: \"{{{{ env('SB_SECRET', '{CLIENT_SECRET}') }}}}\"\n  username: demo\n  password: \"{{{{ env('SB_PASSWORD', 'demo') }}}}\"\n"
        ),
    );
    p.write(
        "requests/echo.yaml",
        "url: /_sandbox/echo\nquery: {page: \"1\"}\n",
    );
    p
}

/// `s` percent-encoded for a URL's userinfo: everything but letters, digits and
/// `-._*` as `%XX`, a space as `%20` (a `+` there is a plus).
pub fn userinfo(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A loopback server that reads each request and hangs up without an answer: a
/// transport error after the request (and its query) went out. Its thread is left in
/// `accept` when the test ends.
fn closing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.read(&mut [0; 65536]);
        }
    });
    url
}

/// What a test captured, channel by channel, and the tokens servers issued meanwhile;
/// [`Sweep::finish`] searches every channel for every secret and fails listing each
/// leak.
#[derive(Default)]
pub struct Sweep {
    /// (channel, text, the secrets searched for when not all of them)
    channels: Vec<(String, String, Option<Vec<Planted>>)>,
    /// Channels left out, and why.
    excluded: Vec<String>,
    tokens: BTreeSet<String>,
    /// Secrets of one test, besides [`planted`].
    extra: Vec<Planted>,
}

impl Sweep {
    pub fn new() -> Sweep {
        Sweep::default()
    }

    pub fn plant(&mut self, secret: Planted) {
        self.extra.push(secret);
    }

    /// `runner ARGS` with [`ENV`] and `env`; its stdout and stderr are channels.
    pub fn runner(&mut self, p: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
        let r = self.quiet(p, args, env);
        let name = format!("`runner {}`", args.join(" "));
        self.text(&format!("{name} stdout"), &r.stdout);
        self.text(&format!("{name} stderr"), &r.stderr);
        r
    }

    /// `runner ARGS` whose stdout is data (`why`): only its stderr is a channel.
    pub fn runner_stderr(&mut self, p: &Project, args: &[&str], why: &str) -> Run {
        let r = self.quiet(p, args, &[]);
        let name = format!("`runner {}`", args.join(" "));
        self.text(&format!("{name} stderr"), &r.stderr);
        self.excluded.push(format!("{name} stdout: {why}"));
        r
    }

    /// `runner ARGS`, nothing recorded (its tokens are).
    pub fn quiet(&mut self, p: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
        let all: Vec<(&str, &str)> = ENV.iter().chain(env).copied().collect();
        let r = p.run_env(args, &all);
        self.tokens_of(p);
        r
    }

    pub fn text(&mut self, channel: &str, text: &str) {
        self.channels
            .push((channel.to_string(), text.to_string(), None));
    }

    /// A channel where only `secrets` must not appear (others belong there).
    pub fn text_for(&mut self, channel: &str, text: &str, secrets: &[Planted]) {
        let only = Some(secrets.to_vec());
        self.channels
            .push((channel.to_string(), text.to_string(), only));
    }

    /// A file runner wrote, as a channel; it must exist.
    pub fn file(&mut self, channel: &str, path: &Path) {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{channel}: {} was not written: {e}", path.display()));
        self.text(channel, &text);
    }

    /// Every token the project's cache holds now: none may appear anywhere.
    pub fn tokens_of(&mut self, p: &Project) {
        for f in p.cache_files() {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(f).unwrap())
            else {
                continue;
            };
            for k in ["access_token", "refresh_token"] {
                if let Some(t) = v[k].as_str() {
                    self.tokens.insert(t.to_string());
                }
            }
        }
    }

    /// The planted secrets and every token seen.
    pub fn secrets(&self) -> Vec<Planted> {
        let mut all = planted();
        all.extend(self.extra.iter().cloned());
        for (i, t) in self.tokens.iter().enumerate() {
            all.push(Planted::new(
                &format!("token #{i} (issued by the server)"),
                t,
            ));
        }
        all
    }

    /// Fails, listing every leak in every channel.
    pub fn finish(self) {
        let secrets = self.secrets();
        let mut report = Vec::new();
        let mut leaking = 0;
        for (channel, text, only) in &self.channels {
            let hits = find_leaks(text, only.as_deref().unwrap_or(&secrets));
            if !hits.is_empty() {
                leaking += 1;
                report.push(describe(channel, &hits));
            }
        }
        assert!(
            report.is_empty(),
            "secrets leaked in {leaking} of {} channels:\n{}\n(not searched: {})",
            self.channels.len(),
            report.join("\n"),
            self.excluded.join("; ")
        );
    }
}

/// The suite can fail on real output: what `--show-secrets` prints for the profile's
/// own origin is found, in the form the preview gives it.
#[test]
fn the_suite_finds_the_secrets_show_secrets_prints() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    for profile in ["default", "key", "basic"] {
        let args = [
            "exec",
            "requests/echo.yaml",
            "-p",
            profile,
            "--show-secrets",
        ];
        let r = sweep.quiet(&p, &[&args[..], &["--curl"]].concat(), &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let hits = find_leaks(&r.stdout, &planted());
        assert!(
            !hits.is_empty(),
            "{profile}: nothing found in\n{}",
            r.stdout
        );
        eprintln!(
            "{}",
            describe(&format!("--show-secrets -p {profile}"), &hits)
        );
    }
}
