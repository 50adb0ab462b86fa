// oidc-provider 9.13.3 configured for runner's interop tests: authorization code with
// PKCE (S256, required for every client), the device grant (RFC 8628), revocation
// (RFC 7009), introspection (RFC 7662) and rotating refresh tokens whose reuse revokes
// the grant. In memory, on 127.0.0.1 only. Prints the issuer URL alone on stdout's
// first line, then nothing else on stdout.
//
//   OIDC_PORT         port (default 0: a free one)
//   OIDC_ACCESS_TTL   access-token lifetime, seconds (default 60)
//   OIDC_DEBUG=1      log every request's method, path and status on stderr
//   OIDC_KEYS_DIR     the client keys start.sh generated (issue 23: signed assertions)
//   OIDC_TLS_DIR      issue 23: ca.pem, server.pem/.key for an https listener that asks
//                     for client certificates (start.sh makes them with openssl)
//
// Besides the provider's own endpoints (see /.well-known/openid-configuration):
//   GET  /api/me       the protected resource: Bearer access token → {sub, client_id,
//                      scope}, else 401 with WWW-Authenticate: Bearer
//   GET  /api/dpop     issue 23: runner-dpop's DPoP-bound token with a proof of its key
//   GET  /api/mtls     issue 23: runner-mtls's (or runner-mtls-self's) certificate-bound token, over the https
//                      listener with the same client certificate
//   GET  /_mtls        issue 23: {url} of that https listener (OIDC_TLS_DIR set)
//   GET  /_par         issue 23: {issuer, pushed, …} of a second provider whose
//                      metadata requires pushed authorization requests
//   GET  /_stats       counters since start (no auth), for the tests
//   POST /_stats/reset zero them
//   GET  /_spent       authorization codes, PKCE verifiers and device codes already
//                      presented at the token endpoint (spent, so worthless), so tests
//                      can check that runner never printed them
//
// Copied next to its node_modules by start.sh, so `import 'oidc-provider'` resolves
// there; it is never run from the repository folder itself.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const PORT = Number(process.env.OIDC_PORT ?? '0');
const ACCESS_TTL = Number(process.env.OIDC_ACCESS_TTL ?? '60');
const DEBUG = process.env.OIDC_DEBUG === '1';
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  console.error(`OIDC_PORT must be a port number, not ${process.env.OIDC_PORT}`);
  process.exit(2);
}
if (!Number.isInteger(ACCESS_TTL) || ACCESS_TTL < 1) {
  console.error(`OIDC_ACCESS_TTL must be a whole number of seconds >= 1, not ${process.env.OIDC_ACCESS_TTL}`);
  process.exit(2);
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const GRANTS = ['authorization_code', 'refresh_token', DEVICE_GRANT];
// Registered without a port: oidc-provider matches a native client's http loopback
// redirect on any port (RFC 8252 §7.3), so runner may listen wherever it likes.
const REDIRECTS = ['http://127.0.0.1/callback', 'http://localhost/callback'];

const CLIENTS = [
  {
    client_id: 'runner-public',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    redirect_uris: REDIRECTS,
    grant_types: GRANTS,
    response_types: ['code'],
  },
  {
    client_id: 'runner-confidential',
    client_secret: 'confidential-secret-1',
    // A client registered with client_secret_basic is also accepted with the secret in
    // the form body (client_secret_post), and the other way round: oidc-provider treats
    // the two as one family.
    token_endpoint_auth_method: 'client_secret_basic',
    application_type: 'native',
    redirect_uris: REDIRECTS,
    grant_types: GRANTS,
    response_types: ['code'],
  },
];

// ---- issue 23a: signed client assertions, PAR, JWT bearer, token exchange --------
// Keys come from start.sh (OIDC_KEYS_DIR): client-rs256.pem (PKCS#8 RSA) signs the
// private_key_jwt clients' assertions; service-es256.pem (SEC1 P-256) is the service
// account of the JWT bearer grant. Only their public halves are registered here.
const KEYS_DIR = process.env.OIDC_KEYS_DIR;
const publicJwk = (file, kid, alg) => ({
  ...crypto.createPublicKey(fs.readFileSync(`${KEYS_DIR}/${file}`)).export({ format: 'jwk' }),
  kid,
  alg,
  use: 'sig',
});
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
// The JWT bearer grant's service accounts: issuer → public key.
const SERVICE_ISSUER = 'runner-service@interop.example';
const SERVICES = KEYS_DIR
  ? { [SERVICE_ISSUER]: publicJwk('service-es256.pem', 'service-key-1', 'ES256') }
  : {};
// What the token-exchange handler accepts as `audience`.
const EXCHANGE_AUDIENCE = 'interop-api-b';
const CLIENT_SECRET_JWT_SECRET = process.env.OIDC_CSJWT_SECRET ?? 'jwt & <secret> "with" \\ % + / = :, 32 bytes and more';
const SIGNED_CLIENTS = KEYS_DIR ? [
  {
    client_id: 'runner-pkjwt',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [publicJwk('client-rs256.pem', 'client-key-1', 'RS256')] },
    application_type: 'native',
    redirect_uris: REDIRECTS,
    grant_types: GRANTS,
    response_types: ['code'],
  },
  {
    client_id: 'runner-csjwt',
    client_secret: CLIENT_SECRET_JWT_SECRET,
    token_endpoint_auth_method: 'client_secret_jwt',
    application_type: 'native',
    redirect_uris: REDIRECTS,
    grant_types: GRANTS,
    response_types: ['code'],
  },
  {
    // PAR required, and the push authenticated with a private_key_jwt assertion.
    client_id: 'runner-par',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [publicJwk('client-rs256.pem', 'client-key-1', 'RS256')] },
    require_pushed_authorization_requests: true,
    application_type: 'native',
    redirect_uris: REDIRECTS,
    grant_types: GRANTS,
    response_types: ['code'],
  },
  {
    // The JWT bearer grant's client: it names itself; the assertion is the proof.
    client_id: 'runner-service',
    token_endpoint_auth_method: 'none',
    grant_types: [JWT_BEARER],
    response_types: [],
    redirect_uris: [],
  },
  {
    // Token exchange, the client authenticated with a private_key_jwt assertion.
    client_id: 'runner-exchange',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [publicJwk('client-rs256.pem', 'client-key-1', 'RS256')] },
    grant_types: [TOKEN_EXCHANGE],
    response_types: [],
    redirect_uris: [],
  },
] : [];
CLIENTS.push(...SIGNED_CLIENTS);
// ---- end of issue 23a's clients ---------------------------------------------------
// ---- issue 23, DPoP (RFC 9449) ------------------------------------------------------
// `runner-dpop`: a client-credentials client whose access tokens must be DPoP-bound
// (dpop_bound_access_tokens), with the token endpoint's nonce required for it. Its
// resource, GET /api/dpop, checks the proof (signature, typ, htm, htu, iat, ath), that
// the proof's key is the token's (cnf.jkt) and, like a resource server that wants
// nonces, its own nonce (401 use_dpop_nonce with DPoP-Nonce first).
const DPOP_CLIENT = 'runner-dpop';
CLIENTS.push({
  client_id: DPOP_CLIENT,
  client_secret: 'dpop-secret-1',
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  dpop_bound_access_tokens: true,
});
// `runner-dpop-pkjwt`: the same, the client authenticated with a private_key_jwt
// assertion, which oidc-provider takes once (jti): each attempt needs a new one.
const DPOP_PKJWT_CLIENT = 'runner-dpop-pkjwt';
if (KEYS_DIR) {
  CLIENTS.push({
    client_id: DPOP_PKJWT_CLIENT,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [publicJwk('client-rs256.pem', 'client-key-1', 'RS256')] },
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    dpop_bound_access_tokens: true,
  });
}
const RS_DPOP_NONCE = crypto.randomBytes(16).toString('base64url');
// ---- end of issue 23, DPoP ------------------------------------------------------------

// ---- issue 23, mutual TLS (RFC 8705) ---------------------------------------------------
// With OIDC_TLS_DIR (start.sh makes it), an https listener on another port asks for
// client certificates (GET /_mtls names it). `runner-mtls` authenticates with its
// certificate (tls_client_auth, subject CN=runner-mtls-client, signed by the authority
// in that folder) and gets certificate-bound tokens (cnf.x5t#S256), which GET /api/mtls
// accepts only over a connection that presents the same certificate.
const TLS_DIR = process.env.OIDC_TLS_DIR;
const MTLS_CLIENT = 'runner-mtls';
CLIENTS.push({
  client_id: MTLS_CLIENT,
  token_endpoint_auth_method: 'tls_client_auth',
  tls_client_auth_subject_dn: 'CN=runner-mtls-client',
  tls_client_certificate_bound_access_tokens: true,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
});
// `runner-mtls-self` authenticates with a self-signed certificate
// (self_signed_tls_client_auth, RFC 8705 §2.2): registered as the x5c of its JWKS.
const SELF_SIGNED_CLIENT = 'runner-mtls-self';
if (TLS_DIR) {
  const self = new crypto.X509Certificate(fs.readFileSync(`${TLS_DIR}/self.pem`));
  CLIENTS.push({
    client_id: SELF_SIGNED_CLIENT,
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    jwks: { keys: [{ ...self.publicKey.export({ format: 'jwk' }), x5c: [self.raw.toString('base64')] }] },
    tls_client_certificate_bound_access_tokens: true,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  });
}
function peerCertificate(ctx) {
  const raw = ctx.socket?.getPeerCertificate?.()?.raw;
  return raw ? new crypto.X509Certificate(raw) : undefined;
}
const MTLS = {
  enabled: true,
  certificateBoundAccessTokens: true,
  tlsClientAuth: true,
  selfSignedTlsClientAuth: true,
  getCertificate: (ctx) => peerCertificate(ctx)?.toString(),
  certificateAuthorized: (ctx) => ctx.socket?.authorized === true,
  certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
    && peerCertificate(ctx)?.subject === expected,
};
async function mtlsResource(ctx) {
  const m = /^Bearer ([^\s]+)$/.exec(ctx.get('authorization'));
  const token = m ? await provider.ClientCredentials.find(m[1]) : undefined;
  if (!token || !token.isValid) return json(ctx, 401, { error: 'invalid_token' });
  const cert = peerCertificate(ctx);
  const x5t = cert && crypto.createHash('sha256').update(cert.raw).digest('base64url');
  if (!token['x5t#S256'] || token['x5t#S256'] !== x5t) {
    return json(ctx, 401, { error: 'invalid_token', error_description: 'not the certificate the token is bound to' });
  }
  return json(ctx, 200, { client_id: token.clientId, 'x5t#S256': x5t });
}
// ---- end of issue 23, mutual TLS ------------------------------------------------------

// What happened since start, for the tests (like the sandbox's /_sandbox/stats).
function freshStats() {
  return {
    token_requests: { authorization_code: 0, refresh_token: 0, [DEVICE_GRANT]: 0 },
    // issue 23: tokens issued (200) per client, for the clients tests run side by side.
    issued_per_client: {},
    token_errors: {},
    // oidc-provider's own reason behind an error (its error_detail, which the client
    // never sees: the response says only "grant request is invalid").
    token_error_details: {},
    refresh_reuse: 0,
    grants_revoked: 0,
    revocations: 0,
    introspections: 0,
    device_authorizations: 0,
    // issue 23a: pushed authorization requests answered 201, and the exchanges done.
    pushed_authorizations: 0,
    exchanges: [],
    client_assertions: {},
    api_requests: {},
    // The same token counters per account (the sub the browser signed in as), so tests
    // running side by side each read their own.
    accounts: {},
  };
}
let stats = freshStats();
const spent = { codes: [], code_verifiers: [], device_codes: [], assertions: [] };
const bump = (obj, key) => { obj[key] = (obj[key] ?? 0) + 1; };

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'interop-rs256', use: 'sig', alg: 'RS256' };
}

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const ISSUER = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(ISSUER, {
  clients: CLIENTS,
  jwks: { keys: [signingKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Any sub is an account (devInteractions accepts any login).
  async findAccount(_ctx, sub) {
    return { accountId: sub, async claims() { return { sub }; } };
  },
  pkce: { required: () => true },
  // issue 23, mutual TLS: the certificate methods besides the default ones.
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt',
    'private_key_jwt', 'none', 'tls_client_auth', 'self_signed_tls_client_auth'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    mTLS: MTLS, // issue 23, mutual TLS
    // issue 23, DPoP: client credentials for runner-dpop, nonces required for it only.
    clientCredentials: { enabled: true },
    dPoP: {
      enabled: true,
      nonceSecret: crypto.randomBytes(32),
      requireNonce: (ctx) => [DPOP_CLIENT, DPOP_PKJWT_CLIENT].includes(ctx.oidc?.client?.clientId),
    },
  },
  // By default a refresh token comes only with the offline_access scope, which the
  // authorization endpoint drops unless prompt=consent is sent too, and tokens without
  // offline_access die with the browser session. runner should not need either to be
  // tested, so: always a refresh token for clients allowed the grant, never bound to
  // the session.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  async expiresWithSession() {
    return false;
  },
  // Every refresh returns a new refresh token; a spent one presented again makes
  // oidc-provider revoke the whole grant (every token issued under it).
  rotateRefreshToken: true,
  ttl: {
    AccessToken: ACCESS_TTL,
    AuthorizationCode: 60,
    DeviceCode: 600,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
});

// ---- issue 23a: the JWT bearer (RFC 7523 §2.1) and token exchange (RFC 8693) grants -
// Each verifies what it is given for real (signature, issuer, audience, expiry, jti
// replay; a live access token of this server) and issues an opaque access token under
// a new grant, which /api/me, introspection and revocation treat like any other.
const seenJti = new Set();
async function issueAccessToken(ctx, accountId, scope, gty) {
  const { client } = ctx.oidc;
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  if (scope) grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId, client, grantId, gty, scope: scope || undefined });
  const value = await at.save();
  ctx.oidc.entity('AccessToken', at);
  return { access_token: value, token_type: 'Bearer', expires_in: at.expiration, scope: scope || undefined };
}
const invalidGrant = (ctx, description) => {
  ctx.status = 400;
  ctx.body = { error: 'invalid_grant', error_description: description };
  stats.token_error_details[description] = (stats.token_error_details[description] ?? 0) + 1;
};
provider.registerGrantType(JWT_BEARER, async (ctx) => {
  const { assertion, scope: scopeParam } = ctx.oidc.params;
  let verified;
  try {
    const { iss } = jose.decodeJwt(assertion);
    const jwk = SERVICES[iss];
    if (!jwk) return invalidGrant(ctx, 'unknown assertion issuer');
    const key = await jose.importJWK(jwk, jwk.alg);
    verified = await jose.jwtVerify(assertion, key, {
      issuer: iss,
      audience: [`${ISSUER}/token`, ISSUER],
      algorithms: [jwk.alg],
      requiredClaims: ['exp', 'iat', 'jti'],
      maxTokenAge: '5 minutes',
    });
    if (verified.protectedHeader.kid !== jwk.kid) return invalidGrant(ctx, 'kid mismatch');
  } catch (e) {
    return invalidGrant(ctx, `assertion rejected: ${e.code ?? e.message}`);
  }
  const { payload } = verified;
  if (seenJti.has(payload.jti)) return invalidGrant(ctx, 'assertion replayed');
  seenJti.add(payload.jti);
  // Google's form puts the scopes in the assertion; RFC 7523's in the request.
  const scope = payload.scope ?? scopeParam ?? '';
  ctx.body = await issueAccessToken(ctx, payload.sub ?? payload.iss, scope, 'jwt-bearer');
}, ['assertion', 'scope']);
provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
  const p = ctx.oidc.params;
  if (p.subject_token_type !== ACCESS_TOKEN_TYPE) return invalidGrant(ctx, 'unsupported subject_token_type');
  if (p.audience !== EXCHANGE_AUDIENCE) return invalidGrant(ctx, 'unknown audience');
  const subject = await provider.AccessToken.find(p.subject_token);
  if (!subject || !subject.isValid) return invalidGrant(ctx, 'subject token invalid or expired');
  stats.exchanges.push({ subject_client: subject.clientId, sub: subject.accountId });
  const body = await issueAccessToken(ctx, subject.accountId, p.scope ?? subject.scope ?? '', 'token-exchange');
  ctx.body = { ...body, issued_token_type: ACCESS_TOKEN_TYPE };
}, ['subject_token', 'subject_token_type', 'audience', 'resource', 'requested_token_type',
  'actor_token', 'actor_token_type', 'scope']);
// ---- end of issue 23a's grants ----------------------------------------------------

provider.on('grant.revoked', () => { stats.grants_revoked += 1; });
function accountStats(ctx) {
  const e = ctx.oidc?.entities ?? {};
  // A request whose token the server cannot find (unknown, revoked) names no account.
  const sub = e.Account?.accountId ?? e.RefreshToken?.accountId ?? e.AuthorizationCode?.accountId
    ?? e.DeviceCode?.accountId ?? e.AccessToken?.accountId;
  if (!sub) return undefined;
  stats.accounts[sub] ??= { token_requests: {}, token_errors: {}, refresh_reuse: 0 };
  return stats.accounts[sub];
}
provider.on('grant.error', (ctx, err) => {
  if (err.error_detail) bump(stats.token_error_details, err.error_detail);
  if (err.error_detail === 'refresh token already used') {
    stats.refresh_reuse += 1;
    const acc = accountStats(ctx);
    if (acc) acc.refresh_reuse += 1;
  }
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

async function protectedResource(ctx) {
  const header = ctx.get('authorization');
  const m = /^Bearer ([^\s]+)$/i.exec(header);
  const token = m ? await provider.AccessToken.find(m[1]) : undefined;
  if (!token || !token.isValid) {
    ctx.set('WWW-Authenticate', m
      ? 'Bearer realm="runner-interop", error="invalid_token", error_description="the access token is invalid or expired"'
      : 'Bearer realm="runner-interop"');
    json(ctx, 401, { error: m ? 'invalid_token' : 'missing_token' });
    return;
  }
  json(ctx, 200, { sub: token.accountId, client_id: token.clientId, scope: token.scope ?? null });
}

// ---- issue 23, DPoP: the resource that checks the binding ----------------------------
async function dpopResource(ctx) {
  const refuse = (error, description) => {
    ctx.set('WWW-Authenticate', `DPoP algs="ES256", error="${error}", error_description="${description}"`);
    ctx.set('DPoP-Nonce', RS_DPOP_NONCE);
    json(ctx, 401, { error, error_description: description });
  };
  const m = /^DPoP ([^\s]+)$/.exec(ctx.get('authorization'));
  if (!m) return refuse('invalid_token', 'a DPoP-bound access token is required');
  const token = await provider.ClientCredentials.find(m[1]) ?? await provider.AccessToken.find(m[1]);
  if (!token || !token.isValid) return refuse('invalid_token', 'the access token is invalid or expired');
  if (!token.jkt) return refuse('invalid_token', 'the access token is not DPoP-bound');
  let header; let claims;
  try {
    const verified = await jose.compactVerify(ctx.get('dpop'), async (h) => {
      header = h;
      return jose.importJWK(h.jwk, h.alg);
    });
    claims = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch (e) {
    return refuse('invalid_dpop_proof', `the proof does not verify (${e.code ?? e.message})`);
  }
  const url = `${ISSUER}${ctx.path}`;
  const ath = crypto.createHash('sha256').update(m[1]).digest('base64url');
  if (header.typ !== 'dpop+jwt') return refuse('invalid_dpop_proof', 'typ');
  if (claims.htm !== ctx.method || claims.htu !== url) return refuse('invalid_dpop_proof', 'htm or htu');
  if (Math.abs(claims.iat - Date.now() / 1000) > 300) return refuse('invalid_dpop_proof', 'iat');
  if (claims.ath !== ath) return refuse('invalid_dpop_proof', 'ath');
  if (await jose.calculateJwkThumbprint(header.jwk) !== token.jkt) {
    return refuse('invalid_dpop_proof', 'the proof key is not the token key');
  }
  if (claims.nonce !== RS_DPOP_NONCE) return refuse('use_dpop_nonce', 'Resource server requires nonce in DPoP proof');
  json(ctx, 200, { client_id: token.clientId, jkt: token.jkt });
}
// ---- end of issue 23, DPoP ------------------------------------------------------------

provider.use(async (ctx, next) => {
  if (DEBUG) {
    const t0 = Date.now();
    try { await next(); } finally {
      console.error(`${ctx.method} ${ctx.path} ${ctx.status} ${Date.now() - t0}ms`);
    }
    return;
  }
  await next();
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/api/me' && ctx.method === 'GET') {
    await protectedResource(ctx);
    bump(stats.api_requests, `${ctx.path} ${ctx.status}`);
    return;
  }
  if (ctx.path === '/api/mtls' && ctx.method === 'GET') {
    await mtlsResource(ctx);
    bump(stats.api_requests, `${ctx.path} ${ctx.status}`);
    return;
  }
  if (ctx.path === '/_mtls' && ctx.method === 'GET') return json(ctx, 200, { url: MTLS_URL });
  if (ctx.path === '/_par' && ctx.method === 'GET') return json(ctx, 200, parStats);
  if (ctx.path === '/api/dpop' && ctx.method === 'GET') {
    await dpopResource(ctx);
    bump(stats.api_requests, `${ctx.path} ${ctx.status}`);
    return;
  }
  if (ctx.path === '/_stats' && ctx.method === 'GET') return json(ctx, 200, stats);
  if (ctx.path === '/_stats/reset' && ctx.method === 'POST') {
    stats = freshStats();
    return json(ctx, 200, stats);
  }
  if (ctx.path === '/_spent' && ctx.method === 'GET') return json(ctx, 200, spent);

  await next();

  if (ctx.method !== 'POST') return;
  const params = ctx.oidc?.params ?? {};
  if (ctx.path === '/token') {
    bump(stats.token_requests, params.grant_type ?? '(none)');
    const acc = accountStats(ctx);
    if (acc) {
      bump(acc.token_requests, params.grant_type ?? '(none)');
      if (ctx.status !== 200) bump(acc.token_errors, ctx.body?.error ?? String(ctx.status));
    }
    if (ctx.status === 200 && ctx.oidc?.client) bump(stats.issued_per_client, ctx.oidc.client.clientId);
    if (params.code) spent.codes.push(params.code);
    if (params.code_verifier) spent.code_verifiers.push(params.code_verifier);
    if (params.assertion) spent.assertions.push(params.assertion);
    if (params.client_assertion) spent.assertions.push(params.client_assertion);
    if (params.device_code && ctx.status === 200) spent.device_codes.push(params.device_code);
    if (ctx.status !== 200) {
      const error = ctx.body?.error ?? String(ctx.status);
      bump(stats.token_errors, error);
    }
  } else if (ctx.path === '/token/revocation') {
    stats.revocations += 1;
  } else if (ctx.path === '/token/introspection') {
    stats.introspections += 1;
  } else if (ctx.path === '/device/auth' && ctx.status === 200) {
    stats.device_authorizations += 1;
  } else if (ctx.path === '/request' && ctx.status === 201) {
    stats.pushed_authorizations += 1;
  }
  // issue 23a: every endpoint a signed client assertion authenticated, by client.
  const body = ctx.oidc?.body ?? {};
  if (body.client_assertion && ctx.oidc?.client && ctx.status < 400) {
    const per = (stats.client_assertions[ctx.oidc.client.clientId] ??= {});
    bump(per, ctx.path);
  }
});

server.on('request', provider.callback());

// ---- issue 23, PAR required by the metadata (RFC 9126 §5) ----------------------------
// A second provider on its own port, whose discovery says
// require_pushed_authorization_requests: true for every client (the `runner-par` client
// above requires it only in its registration, which a client cannot read). One public
// client, runner-public; GET /api/me as on the main issuer. The main issuer's GET /_par
// names it and counts what it saw.
const parStats = { issuer: null, pushed: 0, authorizations_with_request_uri: 0, authorizations_without: 0 };
const parServer = http.createServer();
await new Promise((resolve) => parServer.listen(0, '127.0.0.1', resolve));
parStats.issuer = `http://127.0.0.1:${parServer.address().port}`;
const parProvider = new Provider(parStats.issuer, {
  clients: [{ ...CLIENTS[0], grant_types: ['authorization_code', 'refresh_token'] }],
  jwks: { keys: [signingKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  async findAccount(_ctx, sub) {
    return { accountId: sub, async claims() { return { sub }; } };
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
  },
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  async expiresWithSession() {
    return false;
  },
  rotateRefreshToken: true,
  ttl: { AccessToken: ACCESS_TTL, AuthorizationCode: 60, IdToken: 3600, Interaction: 600,
    RefreshToken: 14 * 24 * 3600, Grant: 14 * 24 * 3600, Session: 14 * 24 * 3600 },
});
parProvider.use(async (ctx, next) => {
  if (ctx.path === '/api/me' && ctx.method === 'GET') {
    const m = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'));
    const token = m ? await parProvider.AccessToken.find(m[1]) : undefined;
    if (!token || !token.isValid) return json(ctx, 401, { error: 'invalid_token' });
    return json(ctx, 200, { sub: token.accountId, client_id: token.clientId, scope: token.scope ?? null });
  }
  if (ctx.path === '/auth' && ctx.method === 'GET') {
    if (ctx.query.request_uri) parStats.authorizations_with_request_uri += 1;
    else parStats.authorizations_without += 1;
  }
  await next();
  if (ctx.path === '/request' && ctx.method === 'POST' && ctx.status === 201) parStats.pushed += 1;
});
parServer.on('request', parProvider.callback());
// ---- end of issue 23, PAR required by the metadata -----------------------------------
// issue 23, mutual TLS: the https listener in front, asking for client certificates.
let MTLS_URL = null;
if (TLS_DIR) {
  const read = (f) => fs.readFileSync(`${TLS_DIR}/${f}`);
  const tlsServer = https.createServer({
    cert: read('server.pem'), key: read('server.key'), ca: read('ca.pem'),
    requestCert: true, rejectUnauthorized: false,
  }, provider.callback());
  await new Promise((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  MTLS_URL = `https://127.0.0.1:${tlsServer.address().port}`;
}
process.stdout.write(`${ISSUER}\n`);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
