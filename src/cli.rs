//! The command line (clap types only: no I/O, no HTTP).

use std::path::PathBuf;
use std::time::Duration;

pub use crate::run::output::OutputMode;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::project::limits::{self, Range};

#[derive(Debug, Parser)]
#[command(
    name = "runner",
    version,
    about = "Run API requests kept as YAML files, with OAuth2 sessions that survive runs",
    long_about = "Run API requests kept as YAML files, with OAuth2 sessions that survive runs.\n\n\
Profiles (profiles/NAME.yaml) say where and as whom; request files say what.\n\
runner logs in with OAuth2, caches and refreshes tokens, renders templates, sends\n\
the request and prints what JSONPath extracts.",
    after_help = "Examples:\n  runner exec requests/get_all_assets.yaml\n  runner exec requests/get_asset.yaml -p NAME --var asset_id=42\n  runner check\n  runner sandbox --port 8080\n\nExit codes: 0 ok, 1 expectation failed, 2 invalid input, 3 authentication, 4 transport."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Profile to use (profiles/NAME.yaml) [env: RUNNER_PROFILE; default: default]
    #[arg(short, long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Project root (the folder holding profiles/)
    #[arg(long, global = true, value_name = "DIR", env = "RUNNER_ROOT")]
    pub root: Option<PathBuf>,
    /// More detail on stderr. -v: each request's method and URL, its status and
    /// time, and the first lines of both bodies. -vv: all headers and whole bodies
    /// (up to 64 KiB), and the token, device, revocation and discovery requests with
    /// their grant and client authentication. Secrets show as ***
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Bytes of a response body shown on stderr when a request fails (0: none)
    #[arg(long, global = true, value_name = "N", default_value_t = crate::run::explain::DEFAULT_BODY_BYTES)]
    pub show_body_bytes: usize,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Trust the certificate authorities in this PEM file (besides the system's)
    #[arg(long, global = true, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Present this PEM client certificate to servers that ask for one (mutual TLS),
    /// instead of the profile's http.client_cert or http.client_pkcs12 (a PKCS#12
    /// file is named in the profile); needs --key
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The PEM private key of --cert
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Colour on stderr
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Send request files (or flows), in order
    #[command(
        after_help = "Examples:\n  runner exec requests/get_all_assets.yaml\n  runner exec requests/create_asset.yaml --var name='Pump 12' --var family_id:=7\n  runner exec requests/get_asset.yaml -o json --var asset_id=42\n  runner exec requests/create_asset.yaml --data data/assets.csv --failed failed.csv\n  runner exec requests/paged/stripe_style.yaml -o jsonl\n\nOn a failure, stderr shows the status line and the start of the body\n(--show-body-bytes N; 0 hides it). -v and -vv show more of every exchange.\n\nPaging, by `paginate` in the file (`runner schema request` has every key):\n  next_url: $.next_page                     a link in the body\n  total_pages: $.total_pages                numbered pages, fetched concurrently\n  link_header: next                         the Link header (GitHub, GitLab)\n  cursor: $.response_metadata.next_cursor, param: cursor          (Slack)\n  cursor: $.data[-1:].id, param: starting_after, has_more: $.has_more   (Stripe)\n  offset_param: offset, limit_param: limit, limit: 100            until a short page\n  cursor: $.data.X.pageInfo.endCursor, has_more: …hasNextPage, variable: after   (GraphQL)\nwith items: JSONPATH and max_pages: N; -o jsonl streams items as pages arrive.\n\nBodies: form_style and query_style: brackets (a[b]=1&a[c][0]=x) | repeat (k=a&k=b) |\njson; body: {graphql: {query: TEXT | file: FILE, variables: {...}, operation_name: NAME}}\nis a POST of JSON, and a 200 with `errors` fails unless expect.jsonpath names $.errors."
    )]
    Exec(ExecArgs),
    /// Run request and flow files as tests (default: tests/api/); a summary
    #[command(
        after_help = "Examples:\n  runner test                         # every file under tests/api/\n  runner test tests/api/assets --jobs 8 --bail\n  runner test --shard 2/4 --report junit:junit.xml   # the 2nd of 4 CI jobs\n\nExit 0 when every file passed, 1 when one failed, 2 for invalid input."
    )]
    Test(TestArgs),
    /// Log in with the profile's grant and cache the tokens
    #[command(
        after_help = "Examples:\n  runner login                        # profiles/default.yaml: the sandbox's password grant\n  runner login -p NAME                # profiles/NAME.yaml's grant: a password prompt, a\n                                      # browser (authorization code + PKCE), or a code to\n                                      # enter on another device (device grant)\n  runner login -p NAME --no-browser   # over SSH: paste the address the browser ends on\n  runner login -p sandbox_service     # a service account: the JWT bearer grant, no browser\n\nSigned client assertions: auth.client_auth: private_key_jwt (auth.private_key, a PEM\nkey; auth.key_id) or client_secret_jwt; see profiles/sandbox_signed.yaml. Other grants:\noauth2_jwt_bearer (issuer + private_key, or key_file: a Google service-account key)\nand oauth2_token_exchange (subject_profile: NAME, or subject_token). auth.par: true\npushes the authorization request first (RFC 9126).\n\nThe browser is $RUNNER_BROWSER (a command; the URL is its last argument), else\n$BROWSER, else the platform's opener. The URL is always printed on stderr."
    )]
    Login(LoginArgs),
    /// Revoke (RFC 7009, where the server offers it) and forget a profile's tokens
    #[command(
        after_help = "Examples:\n  runner logout -p NAME               # revokes the refresh and access tokens, then forgets them\n  runner logout -p NAME --local       # only forgets them\n\nExit 3 when revocation failed (the tokens are forgotten all the same)."
    )]
    Logout(LogoutArgs),
    /// Print a valid access token (refreshing it if needed), for other tools
    #[command(
        after_help = "Example:\n  curl -H \"Authorization: Bearer $(runner token -p NAME)\" https://api.example.com/assets"
    )]
    Token,
    /// List profiles, their auth type, the state of their tokens and where they are kept
    #[command(
        after_help = "Example:\n  runner profiles\n  default  oauth2_password            sandbox (tokens in memory only)\n  NAME     oauth2_password            access token valid until 2026-11-27T20:51:13Z; refresh token obtained at ...; kept in ~/.local/state/runner/tokens/HOST-....json; needs NAME_CLIENT_SECRET to log in\n\nWhere: a file (auth.token_store: file, the default) or the OS keyring (token_store: keyring).\n`needs NAME to log in`: an env('NAME') of auth.client_secret or auth.password that is not set; a valid cached session runs without it, a login or a refresh stops at it."
    )]
    Profiles,
    /// Validate profiles and request files without sending anything
    #[command(
        after_help = "Examples:\n  runner check                 # every profile and every file under requests/\n  runner check requests/get_all_assets.yaml\n\nA profile's secret('NAME') must be configured in the user configuration ($RUNNER_CONFIG, else ~/.config/runner/config.yaml: secrets: {NAME: {command: [pass, show, NAME]}}); check names those that are not, and runs no command."
    )]
    Check(CheckArgs),
    /// Write request files and profiles from an OpenAPI document, a curl command or a
    /// Postman collection
    #[command(subcommand)]
    Import(ImportCommand),
    /// Create a project: a sandbox profile, a real-API template, requests, a test
    #[command(
        after_help = "Examples:\n  runner init my_api\n  cd my_api && runner exec requests/list_assets.yaml   # against the built-in sandbox\n\nWrites profiles/default.yaml (the sandbox), profiles/api.yaml (a real API: each grant\nas a commented block), requests/, tests/api/, schemas/, schema/ (for editors) and a\n.gitignore. Refuses (exit 2) when any of these files exists, unless --force."
    )]
    Init(InitArgs),
    /// Print the JSON Schema of a file kind, for editors
    #[command(
        after_help = "Example:\n  runner schema request > schema/request.json\n\nIn a YAML file, this first line makes editors use it:\n  # yaml-language-server: $schema=../schema/request.json"
    )]
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  runner completions bash > ~/.local/share/bash-completion/completions/runner\n  runner completions zsh > \"${fpath[1]}/_runner\"\n  runner completions fish > ~/.config/fish/completions/runner.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Forward local requests to the profile's API with its credentials, for tools
    /// that cannot do OAuth2
    #[command(
        after_help = "Examples:\n  runner serve -p NAME         # the URL on stdout, the access key on stderr\n  curl -H \"X-Runner-Key: $KEY\" http://127.0.0.1:PORT/assets\n  runner serve -p NAME --unix /run/user/$UID/runner.sock --no-key\n  curl --unix-socket /run/user/$UID/runner.sock http://localhost/assets\n\nThe path and query are appended to the profile's base_url. Client credentials\n(Authorization, cookies) are dropped; only the profile's origins are reachable."
    )]
    Serve(ServeArgs),
    /// Serve request files as tools for AI agents: the Model Context Protocol over
    /// stdio, with the profile's session kept out of their reach
    #[command(
        after_help = "Examples:\n  runner mcp                          # every GET/HEAD file under requests/, profile `default`\n  runner mcp -p NAME requests/assets  # the files under requests/assets/\n  runner mcp --allow-writes           # POST, PUT, PATCH and DELETE files too\n  runner mcp --call-timeout 20        # a call that takes longer is an error\n\nAn MCP client starts it; in its configuration:\n  {\"mcpServers\": {\"runner\": {\"command\": \"runner\", \"args\": [\"mcp\", \"-p\", \"NAME\"], \"cwd\": \"/path/to/project\"}}}\n\nA tool per request or flow file: its name from the path (assets/get_asset.yaml is\nassets_get_asset), its arguments the file's template variables the profile (or, in a\nflow, an earlier step) does not set. A flow writes if any of its requests does. A file with `mcp: {expose: false}` is never a tool; `mcp: {expose: true}` is one\neven if it writes. Arguments are values, never templates. stdout is the MCP channel;\nthe list of tools (and of files left out, and why) goes to stderr at start. A session\nthat needs a login says so: run `runner login -p NAME` first."
    )]
    Mcp(McpArgs),
    /// Serve the built-in Ermeo-compatible sandbox API on 127.0.0.1
    #[command(
        after_help = "Examples:\n  runner sandbox --port 0          # prints the URL, e.g. http://127.0.0.1:41234\n  runner sandbox --auto-approve    # no login form: codes at once, device codes at their first poll\n\nClients sandbox / sandbox-secret and sandbox-public (no secret; authorization code\nwith PKCE and device grant), user demo / demo. Metadata at\n/.well-known/oauth-authorization-server."
    )]
    Sandbox(SandboxArgs),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Request or flow files
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A string variable: KEY=VALUE; a typed one: KEY:=JSON
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// A YAML or JSON file of variables
    #[arg(long = "vars", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
    /// What to print on stdout
    #[arg(short, long, value_enum, default_value_t = OutputMode::Body)]
    pub output: OutputMode,
    /// Print the status line and headers before the body
    #[arg(short, long)]
    pub include: bool,
    /// Seconds per request (overrides profile and request; at most 86400)
    #[arg(long, value_name = "SECONDS", value_parser = timeout)]
    pub timeout: Option<Duration>,
    /// Retries for connection errors, 429, 502, 503, 504 (0 to 100)
    #[arg(long, value_name = "N", value_parser = retries)]
    pub retries: Option<u32>,
    /// Run once per row of a CSV (header row), JSON-lines or JSON-array file
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Requests in flight at once (bulk rows, numbered pages; 1 to 1024)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = concurrency)]
    pub concurrency: u16,
    /// With --data: write the rows that failed, and after a signal those never run,
    /// here, in the input's format: `--data FILE` then finishes the job exactly
    #[arg(long, value_name = "FILE", requires = "data")]
    pub failed: Option<PathBuf>,
    /// With --data: skip the rows that this earlier output (JSON lines) says
    /// succeeded, to continue a run that was killed
    #[arg(long, value_name = "OUT.jsonl", requires = "data")]
    pub resume: Option<PathBuf>,
    /// Print the rendered request (method, URL, headers, body); send nothing. An unset
    /// env('NAME') shows as <unset: NAME>, with a warning
    #[arg(long, conflicts_with = "curl")]
    pub dry_run: bool,
    /// Print a curl command that sends the same request; send nothing (an unset
    /// env('NAME') shows as <unset: NAME>, with a warning)
    #[arg(long)]
    pub curl: bool,
    /// With --dry-run or --curl: show credentials instead of ***
    #[arg(long)]
    pub show_secrets: bool,
    /// Write a report for CI: junit:FILE, json:FILE or html:FILE (repeatable)
    #[arg(long, value_name = "KIND:FILE")]
    pub report: Vec<crate::run::report::ReportSpec>,
    /// With --data: run only the K-th of N contiguous shares of the rows (1-based)
    #[arg(long, value_name = "K/N", requires = "data")]
    pub shard: Option<crate::run::shard::Shard>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Request and flow files, or folders of them (default: tests/api/)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Files run at a time (a flow's steps stay in order; 1 to 1024)
    #[arg(long, short = 'j', value_name = "N", default_value_t = 4, value_parser = concurrency)]
    pub jobs: u16,
    /// Stop at the first file that fails; the rest are skipped
    #[arg(long)]
    pub bail: bool,
    /// Run only the K-th of N contiguous shares of the files, sorted by path (1-based)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::run::shard::Shard>,
    /// Write a report for CI: junit:FILE, json:FILE or html:FILE (repeatable)
    #[arg(long, value_name = "KIND:FILE")]
    pub report: Vec<crate::run::report::ReportSpec>,
    /// `KEY=VALUE` (a string) or `KEY:=JSON` (a typed value), for every file
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Request and flow files
    Request,
    /// Profiles
    Profile,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Print the login URL without opening a browser, then read the address the
    /// browser was sent to (or the bare code) from stdin, for SSH sessions
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Only forget the tokens here; do not revoke them at the server
    #[arg(long)]
    pub local: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImportCommand {
    /// A request file per operation and a profile per server, from OpenAPI 3.0 or 3.1
    #[command(
        after_help = "Examples:\n  runner import openapi petstore.yaml --out petstore\n  runner import openapi https://api.example.com/openapi.json --dry-run\n\nWrites requests/<tag>/<operation>.yaml, profiles/<server>.yaml (the first server is\n`default`; auth from securitySchemes, every secret an env() template) and a copy of\nthe document under openapi/. Nothing existing is overwritten without --force.\nSwagger 2.0 is refused (exit 2): convert it to OpenAPI 3 first.\n\nBodies hold the required fields (a placeholder is named in a comment); optional ones\nare commented lines under the body. paginate is written where a list documents a\nLink header, a next_cursor, has_more (Stripe) or a next URL; form_style from the\nform's encoding (deepObject: brackets; exploded lists: repeat)."
    )]
    Openapi(ImportOpenapiArgs),
    /// One request file from a curl command line
    #[command(
        after_help = "Examples:\n  runner import curl -- curl -X POST https://api.example.com/items -H 'Content-Type: application/json' -d '{\"a\":1}'\n  runner import curl --out requests/items.yaml \"curl -u me:pw https://api.example.com/items\"\n\nThe file goes to stdout without --out. Credentials (-u, an Authorization header)\nare never written: a profile's auth with env() templates is printed on stderr.\nFlags that are not understood are listed on stderr."
    )]
    Curl(ImportCurlArgs),
    /// Request files (folders as folders) and a profile from a Postman collection
    #[command(
        after_help = "Example:\n  runner import postman my_api.postman_collection.json --out my_api\n\nv2.0 and v2.1. {{var}} becomes a template variable; collection variables the\nprofile's vars; auth (bearer, basic, apikey, oauth2) the profile's auth with env()\ntemplates. Scripts are never run: each is listed and kept as a comment."
    )]
    Postman(ImportPostmanArgs),
    /// Request files and profiles from JetBrains / VS Code REST Client .http files
    #[command(
        after_help = "Examples:\n  runner import http api.http --out my_api\n  runner import http http-requests/ --dry-run\n\nRequests split by ###, named by # @name or the separator's text; one folder per\nfile under requests/. @var = value and http-client.env.json environments become\nprofile vars (a profile per environment); http-client.private.env.json values become\nenv() templates, never copied. {{$uuid}}, {{$timestamp}}, {{$randomInt}} become\nuuid(), timestamp(), random_int(). `< ./file` bodies are copied next to the request\nfile. Response-handler scripts are never run: each is listed and kept as a comment."
    )]
    Http(ImportFilesArgs),
    /// Request files and a profile per origin from a browser's HAR capture
    #[command(
        after_help = "Example:\n  runner import har app.example.com.har --out app\n\nOne request file per distinct request (method and path; numbers and UUIDs in paths\nbecome variables) with expect.status as recorded, a profile per origin (the busiest\nis `default`). Static assets and tracking hosts are counted and left out. Cookies,\nAuthorization and other credential headers are never written: the profile reads\neach from an env() template."
    )]
    Har(ImportHarArgs),
    /// Request files (folders as folders) and profiles from an Insomnia export
    #[command(
        after_help = "Examples:\n  runner import insomnia Insomnia_export.json --out my_api\n  runner import insomnia my_api.insomnia.yaml --dry-run\n\nv4 JSON exports and v5 YAML exports. Request groups become folders; the base\nenvironment and each sub-environment a profile (a private sub-environment's values,\nand values whose names say secret, become env() templates, never copied); auth\n(bearer, basic, apikey, oauth2 with its grant) the profile's auth with env() templates.\n{{ _.var }} becomes {{ var }}; {% uuid %}, {% now %} and {% timestamp %} become uuid(),\nnow() and timestamp(). Tags with no runner equivalent ({% response %}, {% prompt %}…)\nstay text, with a comment, and are listed. Cookie jars are never copied."
    )]
    Insomnia(ImportInsomniaArgs),
    /// Request files (folders as folders) and profiles from a Bruno collection folder
    #[command(
        after_help = "Examples:\n  runner import bruno my-collection/ --out my_api\n  runner import bruno my-collection/ --dry-run\n\nReads bruno.json and .bru files, or opencollection.yml and .yml files (Bruno's YAML\nformat). Folders stay folders; {{var}} becomes {{ var }}; params:path values go into\nthe URL; assert lines that map (res.status: eq 200, res.body.id: isDefined) become\nexpect; auth:bearer/basic/apikey/oauth2 the profile's auth with env() templates.\nenvironments/*.bru (or *.yml) become profiles: vars:secret names are env() templates,\nnever copied. Scripts and tests are never run: each is listed and kept as a comment."
    )]
    Bruno(ImportBrunoArgs),
}

#[derive(Debug, Args)]
pub struct ImportInsomniaArgs {
    /// The export (Insomnia v4 JSON or v5 YAML)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The project folder to write into (default: the current project)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// List what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportBrunoArgs {
    /// The collection's folder (holding bruno.json or opencollection.yml)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The project folder to write into (default: the current project)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// List what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportHarArgs {
    /// The capture (HAR 1.2 JSON, as browsers export it)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The project folder to write into (default: the current project)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// List what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

// Arguments of the importers that read files or folders (a plain comment: a doc
// comment would become the about of `import http` in completions).
#[derive(Debug, Args)]
pub struct ImportFilesArgs {
    /// The files or folders to import
    #[arg(value_name = "PATH", required = true, num_args = 1..)]
    pub paths: Vec<PathBuf>,
    /// The project folder to write into (default: the current project)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// List what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportOpenapiArgs {
    /// The document: a JSON or YAML file, or an http(s) URL
    #[arg(value_name = "SPEC")]
    pub spec: String,
    /// The project folder to write into (default: the current project)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// List what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportCurlArgs {
    /// The request file to write (default: stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite FILE if it exists
    #[arg(long)]
    pub force: bool,
    /// The curl command: its arguments after `--`, or one quoted command line
    #[arg(value_name = "CURL", required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportPostmanArgs {
    /// The collection file (Postman v2.0 or v2.1 JSON)
    #[arg(value_name = "COLLECTION")]
    pub collection: PathBuf,
    /// A Postman environment file whose values become the profile's vars
    #[arg(long, value_name = "FILE")]
    pub environment: Option<PathBuf>,
    /// The project folder to write into (default: the current project)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
    /// List what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to create the project in (default: the current folder)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders (default: every profile and every file under requests/)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1; 0 picks a free one (the URL is printed on stdout)
    #[arg(long, default_value_t = 0, conflicts_with = "unix")]
    pub port: u16,
    /// Listen on this Unix socket (created 0600) instead of a TCP port
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// With --unix: no access key; the socket's permissions are the guard
    #[arg(long)]
    pub no_key: bool,
    /// Connections served at once (1 to 4096); more wait until one closes
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub max_connections: u16,
    /// Append one JSON line per request (method, path, status, ms) to this file
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Request and flow files, or folders of them (default: requests/)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Serve files that write (POST, PUT, PATCH, DELETE…) too, not only GET and HEAD
    #[arg(long)]
    pub allow_writes: bool,
    /// Seconds a tool call may take, token, pages and flow steps included (default 60)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub call_timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1; 0 picks a free one
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Access-token lifetime in seconds (at most a year)
    #[arg(long, default_value_t = 7200, value_name = "SECONDS", value_parser = token_ttl)]
    pub access_ttl: u64,
    /// Refresh-token lifetime in seconds (at most a year)
    #[arg(long, default_value_t = 14 * 24 * 3600, value_name = "SECONDS", value_parser = token_ttl)]
    pub refresh_ttl: u64,
    /// Number of seeded assets (at most 1000000)
    #[arg(long, default_value_t = 250, value_name = "N", value_parser = assets)]
    pub assets: usize,
    /// Added latency per API response, in milliseconds (at most 60000)
    #[arg(long, default_value_t = 0, value_name = "MS", value_parser = latency)]
    pub latency: u64,
    /// Fraction of API requests answered 503 (0 to 1)
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION", value_parser = fail_rate)]
    pub fail_rate: f64,
    /// API requests allowed per second; over it, 429 with Retry-After
    #[arg(long, value_name = "PER_SECOND", value_parser = rate_limit)]
    pub rate_limit: Option<u32>,
    /// Answer the first N API requests with --fail-status, whatever they ask (at most 1000000)
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = fail_first)]
    pub fail_first: u64,
    /// The status of the --fail-first failures (429 comes with Retry-After: 0)
    #[arg(long, default_value_t = 503, value_name = "CODE", value_parser = fail_status)]
    pub fail_status: u16,
    /// Stop the server's clock; POST /_sandbox/clock?advance=SECONDS moves it
    #[arg(long)]
    pub manual_clock: bool,
    /// Serve HTTPS, with a certificate signed by a throwaway authority
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the authority's certificate (PEM) here, for --cacert
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<PathBuf>,
    /// With --tls: require client certificates signed by the authorities in this PEM
    /// file (mutual TLS; clients pass --cert and --key)
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub client_ca: Option<PathBuf>,
    /// DPoP proofs must carry the server's nonce (DPoP-Nonce): clients are told to
    /// retry with it (use_dpop_nonce)
    #[arg(long)]
    pub dpop_nonce: bool,
    /// The token endpoint refuses a request without a DPoP proof (invalid_dpop_proof),
    /// as a server does for a client that must use DPoP
    #[arg(long)]
    pub dpop_required: bool,
    /// Approve every authorization request at once (no login form) and every device
    /// code at its first poll
    #[arg(long)]
    pub auto_approve: bool,
    /// Device-code lifetime in seconds (at most a year)
    #[arg(long, default_value_t = 600, value_name = "SECONDS", value_parser = token_ttl)]
    pub device_ttl: u64,
}

// Every number on the command line is checked against its range in `limits`; clap
// names the option in the error (exit 2).

fn whole<T: TryFrom<u64>>(range: &Range, text: &str) -> Result<T, String> {
    range.count_as(range.parse(text)?)
}

fn timeout(text: &str) -> Result<Duration, String> {
    limits::TIMEOUT_SECS.duration(limits::TIMEOUT_SECS.parse(text)?)
}

fn retries(text: &str) -> Result<u32, String> {
    whole(&limits::RETRIES, text)
}

fn concurrency(text: &str) -> Result<u16, String> {
    whole(&limits::CONCURRENCY, text)
}

fn token_ttl(text: &str) -> Result<u64, String> {
    whole(&limits::TOKEN_TTL_SECS, text)
}

fn assets(text: &str) -> Result<usize, String> {
    whole(&limits::ASSETS, text)
}

fn latency(text: &str) -> Result<u64, String> {
    whole(&limits::LATENCY_MS, text)
}

fn fail_rate(text: &str) -> Result<f64, String> {
    limits::FAIL_RATE.parse(text)
}

fn rate_limit(text: &str) -> Result<u32, String> {
    whole(&limits::RATE_LIMIT, text)
}

fn fail_first(text: &str) -> Result<u64, String> {
    whole(&limits::FAIL_FIRST, text)
}

/// `--fail-status`: one of the statuses the sandbox can fail a request with.
fn fail_status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(code @ (429 | 500 | 502 | 503 | 504)) => Ok(code),
        _ => Err("expected one of 429, 500, 502, 503, 504".to_string()),
    }
}
