#!/usr/bin/env node
// Self-check of a running interop server and of browser.mjs, without runner:
//
//   node tests/interop/oidc/smoke.mjs [ISSUER]
//
// ISSUER defaults to RUNNER_OIDC_ISSUER, else the one in $OIDC_HOME/env (start.sh
// writes it). Runs the authorization code grant with PKCE through browser.mjs and a
// throwaway loopback listener, exchanges the code, refreshes (rotation), replays the
// spent refresh token (refused, and the grant is revoked), revokes, introspects, and
// runs the device grant through browser.mjs. Prints "ok"/"FAIL" lines and a closing
// "N passed, N failed"; exits non-zero on any failure. Prints no token or code.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BROWSER = join(HERE, 'browser.mjs');

function serverEnv() {
  const home = process.env.OIDC_HOME || join(process.env.TMPDIR || tmpdir(), 'runner-oidc');
  let env = {};
  try {
    env = Object.fromEntries(readFileSync(join(home, 'env'), 'utf8').split('\n')
      .filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  } catch { /* no env file: argv or the environment must say */ }
  const pick = (k) => process.env[k] || env[k];
  const issuer = process.argv[2] || pick('RUNNER_OIDC_ISSUER');
  if (!issuer) {
    console.error('smoke.mjs: no issuer: pass it, set RUNNER_OIDC_ISSUER, or run start.sh first');
    process.exit(2);
  }
  return {
    issuer: issuer.replace(/\/$/, ''),
    ttl: Number(pick('RUNNER_OIDC_ACCESS_TTL') || '60'),
    secret: pick('RUNNER_OIDC_CONFIDENTIAL_SECRET') || 'confidential-secret-1',
  };
}

const { issuer: ISSUER, ttl: TTL, secret: SECRET } = serverEnv();
const PUBLIC = 'runner-public';
const CONFIDENTIAL = 'runner-confidential';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const WORK = mkdtempSync(join(tmpdir(), 'oidc-smoke-'));

let passed = 0;
let failed = 0;
function check(name, cond, detail) {
  if (cond) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`);
  }
}

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function call(method, path, { form, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (form) {
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
    init.body = new URLSearchParams(form).toString();
  }
  const res = await fetch(path.startsWith('http') ? path : `${ISSUER}${path}`, init);
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body };
}

const token = (form, headers) => call('POST', '/token', { form, headers });
const me = (accessToken) => call('GET', '/api/me', accessToken ? { headers: { authorization: `Bearer ${accessToken}` } } : {});
const introspect = async (t) => (await call('POST', '/token/introspection', {
  form: { token: t }, headers: { authorization: basic(CONFIDENTIAL, SECRET) },
})).body;
const stats = async () => (await call('GET', '/_stats')).body;

/** Runs browser.mjs URL; resolves to {code, stdout, stderr, marker}. */
function browser(url, env = {}) {
  const marker = join(WORK, `marker-${crypto.randomUUID()}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BROWSER, url], {
      env: { ...process.env, BROWSER_MARKER: marker, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => {
      let lines = [];
      try { lines = readFileSync(marker, 'utf8').trim().split('\n'); } catch { /* never started */ }
      resolve({ code, stdout, stderr, marker: lines });
    });
  });
}

/** A one-shot loopback redirect listener, like runner's. */
async function listener() {
  let resolveCallback;
  const callback = new Promise((r) => { resolveCallback = r; });
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Done. You may close this window.</p>');
    resolveCallback(Object.fromEntries(u.searchParams));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    redirectUri: `http://127.0.0.1:${server.address().port}/callback`,
    callback,
    close: () => server.close(),
  };
}

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** The authorization code grant through browser.mjs: {callback, verifier, redirectUri, run}. */
async function authorize(clientId, env = {}) {
  const l = await listener();
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(16).toString('base64url');
  const q = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: l.redirectUri,
    scope: 'openid offline_access',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const run = await browser(`${ISSUER}/auth?${q}`, env);
  const callback = await Promise.race([l.callback, new Promise((r) => { setTimeout(() => r(null), 2000); })]);
  l.close();
  return { callback, verifier, redirectUri: l.redirectUri, run, state };
}

function noSecretIn(run, secrets) {
  const text = `${run.stdout}${run.stderr}${run.marker.join('\n')}`;
  return secrets.filter(Boolean).every((s) => !text.includes(s));
}

async function main() {
  const s0 = await stats();

  // --- discovery ------------------------------------------------------------
  const d = (await call('GET', '/.well-known/openid-configuration')).body;
  check('discovery: issuer, endpoints, S256', d.issuer === ISSUER
    && d.token_endpoint === `${ISSUER}/token`
    && d.revocation_endpoint === `${ISSUER}/token/revocation`
    && d.introspection_endpoint === `${ISSUER}/token/introspection`
    && d.device_authorization_endpoint === `${ISSUER}/device/auth`
    && JSON.stringify(d.code_challenge_methods_supported) === '["S256"]', d);

  // --- PKCE is required -----------------------------------------------------
  const noPkce = await call('GET', `/auth?${new URLSearchParams({
    client_id: CONFIDENTIAL, response_type: 'code', redirect_uri: 'http://127.0.0.1:9/callback', scope: 'openid', state: 'x',
  })}`);
  const loc = new URL(noPkce.headers.get('location') || 'http://x/');
  check('authorize without code_challenge: redirected with invalid_request (even a confidential client)',
    noPkce.status === 303 && loc.searchParams.get('error') === 'invalid_request', [noPkce.status, loc.searchParams.get('error_description')]);
  const badRedirect = await call('GET', `/auth?${new URLSearchParams({
    client_id: PUBLIC, response_type: 'code', redirect_uri: 'http://127.0.0.1:9/other', scope: 'openid', state: 'x', ...(() => { const p = pkce(); return { code_challenge: p.challenge, code_challenge_method: 'S256' }; })(),
  })}`);
  check('authorize with an unregistered redirect path: refused on the server (400), no redirect',
    badRedirect.status === 400 && !badRedirect.headers.get('location'), badRedirect.status);

  // --- authorization code + PKCE, public client -----------------------------
  const a = await authorize(PUBLIC);
  check('browser.mjs completed login and consent, exit 0, silent', a.run.code === 0 && a.run.stdout === '' && a.run.stderr === '', a.run);
  check('browser.mjs steps', JSON.stringify(a.run.marker) === JSON.stringify(['start /auth', 'login', 'consent', 'callback 200']), a.run.marker);
  check('callback on a random loopback port: code, same state, iss', a.callback?.code && a.callback.state === a.state
    && a.callback.iss === ISSUER, a.callback && Object.keys(a.callback));
  const code = a.callback?.code;

  let r = await token({ grant_type: 'authorization_code', code, redirect_uri: a.redirectUri, client_id: PUBLIC, code_verifier: `${a.verifier}x` });
  check('code exchange with a wrong verifier: invalid_grant', r.status === 400 && r.body.error === 'invalid_grant', r.body);
  r = await token({ grant_type: 'authorization_code', code, redirect_uri: a.redirectUri, client_id: PUBLIC, code_verifier: a.verifier });
  const t1 = r.body;
  check('... which did not spend the code: the right verifier then works', r.status === 200, { status: r.status, error: t1.error });
  check('code exchange: access, refresh and id tokens, Bearer, expires_in = TTL', r.status === 200
    && t1.access_token && t1.refresh_token && t1.id_token && t1.token_type === 'Bearer' && t1.expires_in === TTL,
  { status: r.status, keys: Object.keys(t1), expires_in: t1.expires_in, token_type: t1.token_type, error: t1.error });
  // offline_access is dropped by the authorization endpoint without prompt=consent;
  // the refresh token comes anyway (issueRefreshToken in server.mjs).
  check('token response: scope "openid" (offline_access dropped without prompt=consent), Cache-Control no-store',
    t1.scope === 'openid' && r.headers.get('cache-control') === 'no-store', [t1.scope, r.headers.get('cache-control')]);

  r = await me(t1.access_token);
  check('/api/me with the access token: 200 {sub, client_id}', r.status === 200 && r.body.sub === 'interop' && r.body.client_id === PUBLIC, r.body);
  r = await me();
  check('/api/me without a token: 401, WWW-Authenticate: Bearer', r.status === 401 && /^Bearer /.test(r.headers.get('www-authenticate')), r.status);
  r = await me('not-a-token');
  check('/api/me with a bad token: 401 invalid_token', r.status === 401 && /invalid_token/.test(r.headers.get('www-authenticate')), r.status);

  // --- refresh with rotation ------------------------------------------------
  r = await token({ grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: PUBLIC });
  const t2 = r.body;
  check('refresh: new access and refresh tokens (rotation)', r.status === 200 && t2.refresh_token
    && t2.refresh_token !== t1.refresh_token && t2.access_token !== t1.access_token, { status: r.status, error: t2.error });
  check('refresh: scope kept', t2.scope === 'openid', t2.scope);
  check('introspection: the spent refresh token is inactive, the new one active',
    (await introspect(t1.refresh_token)).active === false && (await introspect(t2.refresh_token)).active === true);
  r = await me(t1.access_token);
  check('rotation leaves the previous access token valid until it expires', r.status === 200, r.status);
  const i2 = await introspect(t2.access_token);
  check('introspection of an access token: active, sub, client_id, exp', i2.active === true && i2.sub === 'interop'
    && i2.client_id === PUBLIC && typeof i2.exp === 'number', i2);

  // --- reuse of a spent refresh token revokes the grant ---------------------
  r = await token({ grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: PUBLIC });
  // The response names no reason; server.mjs counts oidc-provider's own (error_detail).
  check('replaying the spent refresh token: 400 invalid_grant ("grant request is invalid")',
    r.status === 400 && r.body.error === 'invalid_grant' && r.body.error_description === 'grant request is invalid', r.body);
  check('... which /_stats counts as a refresh-token reuse', (await stats()).refresh_reuse === s0.refresh_reuse + 1);
  r = await token({ grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: PUBLIC });
  check('... and the grant is revoked: the newest refresh token fails too', r.status === 400 && r.body.error === 'invalid_grant', r.body);
  check('... its access tokens are gone', (await me(t2.access_token)).status === 401 && (await me(t1.access_token)).status === 401);
  check('... introspection says inactive', (await introspect(t2.refresh_token)).active === false);

  // --- revocation (RFC 7009) by the public client ---------------------------
  const b = await authorize(PUBLIC);
  r = await token({ grant_type: 'authorization_code', code: b.callback?.code, redirect_uri: b.redirectUri, client_id: PUBLIC, code_verifier: b.verifier });
  const t3 = r.body;
  check('second login: tokens', r.status === 200 && t3.refresh_token, { status: r.status, error: t3.error });
  r = await call('POST', '/token/revocation', { form: { token: t3.refresh_token, token_type_hint: 'refresh_token', client_id: PUBLIC } });
  check('revoke the refresh token (public client, client_id in the body): 200', r.status === 200, r.body);
  check('after revocation: refresh token inactive (introspection)', (await introspect(t3.refresh_token)).active === false);
  check('after revoking the refresh token its access token is revoked too (whole grant)', (await me(t3.access_token)).status === 401);
  r = await call('POST', '/token/revocation', { form: { token: t3.access_token, token_type_hint: 'access_token', client_id: PUBLIC } });
  check('revoking an already revoked access token: still 200', r.status === 200, r.status);
  r = await token({ grant_type: 'refresh_token', refresh_token: t3.refresh_token, client_id: PUBLIC });
  check('a revoked refresh token: invalid_grant', r.status === 400 && r.body.error === 'invalid_grant', r.body);

  // --- the confidential client: Basic and post ------------------------------
  const c = await authorize(CONFIDENTIAL);
  r = await token({ grant_type: 'authorization_code', code: c.callback?.code, redirect_uri: c.redirectUri, code_verifier: c.verifier },
    { authorization: basic(CONFIDENTIAL, SECRET) });
  const t4 = r.body;
  check('confidential client, client_secret_basic: tokens', r.status === 200 && t4.refresh_token, { status: r.status, error: t4.error });
  r = await token({ grant_type: 'refresh_token', refresh_token: t4.refresh_token, client_id: CONFIDENTIAL, client_secret: SECRET });
  check('confidential client, client_secret_post accepted too', r.status === 200 && r.body.refresh_token, r.body.error);
  const t5 = r.body;
  r = await token({ grant_type: 'refresh_token', refresh_token: t5.refresh_token, client_id: CONFIDENTIAL, client_secret: 'wrong' });
  check('confidential client, wrong secret: 401 invalid_client', r.status === 401 && r.body.error === 'invalid_client', [r.status, r.body]);
  r = await me(t5.access_token);
  check('/api/me names the confidential client', r.status === 200 && r.body.client_id === CONFIDENTIAL, r.body);
  r = await token({ grant_type: 'authorization_code', code: c.callback?.code, redirect_uri: c.redirectUri, code_verifier: c.verifier },
    { authorization: basic(CONFIDENTIAL, SECRET) });
  check('a code is single-use: replayed, invalid_grant', r.status === 400 && r.body.error === 'invalid_grant', r.body);
  check('... and replaying it revoked the grant (RFC 6749 4.1.2): its tokens are gone',
    (await me(t5.access_token)).status === 401 && (await introspect(t5.refresh_token)).active === false);

  // --- deny ----------------------------------------------------------------
  const dn = await authorize(PUBLIC, { BROWSER_ACTION: 'deny' });
  check('BROWSER_ACTION=deny: callback with error=access_denied, helper exit 0',
    dn.run.code === 0 && dn.callback?.error === 'access_denied' && !dn.callback.code && dn.callback.state === dn.state, [dn.run, dn.callback]);

  // --- device grant ---------------------------------------------------------
  async function deviceAuth(clientId = PUBLIC) {
    const auth = clientId === CONFIDENTIAL ? { headers: { authorization: basic(CONFIDENTIAL, SECRET) } } : {};
    return (await call('POST', '/device/auth', { form: { client_id: clientId, scope: 'openid offline_access' }, ...auth })).body;
  }
  const poll = (dc, clientId = PUBLIC) => token({ grant_type: DEVICE_GRANT, device_code: dc, client_id: clientId });

  const da = await deviceAuth();
  // 9.13.3 sends no `interval` (RFC 8628 3.2: the client then waits 5 s) and never
  // answers slow_down, however fast the client polls.
  check('device authorization: device_code, user_code, verification_uri(_complete), expires_in; no interval',
    da.device_code && /^[A-Z]{4}-[A-Z]{4}$/.test(da.user_code) && da.verification_uri === `${ISSUER}/device`
    && da.verification_uri_complete?.startsWith(`${ISSUER}/device?user_code=`) && da.interval === undefined && da.expires_in > 0,
  { keys: Object.keys(da), interval: da.interval, verification_uri: da.verification_uri });
  r = await poll(da.device_code);
  check('poll before approval: authorization_pending', r.status === 400 && r.body.error === 'authorization_pending', r.body);
  r = await poll(da.device_code);
  check('poll again at once: authorization_pending again (no slow_down in 9.13.3)', r.status === 400 && r.body.error === 'authorization_pending', r.body);
  const dr = await browser(da.verification_uri_complete);
  check('browser.mjs on verification_uri_complete: exit 0, silent', dr.code === 0 && dr.stdout === '' && dr.stderr === '', dr);
  check('browser.mjs device steps', JSON.stringify(dr.marker) === JSON.stringify(['start /device', 'auto-submit', 'confirm device', 'login', 'consent', 'device approved']), dr.marker);
  r = await poll(da.device_code);
  const t6 = r.body;
  check('poll after approval: tokens with a refresh token', r.status === 200 && t6.access_token && t6.refresh_token && t6.expires_in === TTL,
    { status: r.status, error: t6.error });
  check('/api/me with the device grant token', (await me(t6.access_token)).body.sub === 'interop');
  r = await token({ grant_type: 'refresh_token', refresh_token: t6.refresh_token, client_id: PUBLIC });
  check('device grant: refresh rotates', r.status === 200 && r.body.refresh_token !== t6.refresh_token, r.body.error);
  const t7 = r.body;
  r = await call('POST', '/token/revocation', { form: { token: t7.refresh_token, client_id: PUBLIC } });
  check('device grant: revoke, then inactive', r.status === 200 && (await introspect(t7.refresh_token)).active === false);

  const db = await deviceAuth(CONFIDENTIAL);
  const dbr = await browser(db.verification_uri, { BROWSER_USER_CODE: db.user_code, BROWSER_LOGIN: 'someone-else' });
  check('browser.mjs on verification_uri + BROWSER_USER_CODE: exit 0', dbr.code === 0, dbr);
  check('browser.mjs device steps (typed code)', JSON.stringify(dbr.marker) === JSON.stringify(['start /device', 'user code', 'confirm device', 'login', 'consent', 'device approved']), dbr.marker);
  r = await token({ grant_type: DEVICE_GRANT, device_code: db.device_code }, { authorization: basic(CONFIDENTIAL, SECRET) });
  const t8 = r.body;
  check('confidential device grant: tokens; BROWSER_LOGIN is the sub', r.status === 200 && (await me(t8.access_token)).body.sub === 'someone-else', t8.error);
  r = await token({ grant_type: DEVICE_GRANT, device_code: db.device_code }, { authorization: basic(CONFIDENTIAL, SECRET) });
  check('a device code is single-use: replayed, invalid_grant, and the grant is revoked',
    r.status === 400 && r.body.error === 'invalid_grant' && (await me(t8.access_token)).status === 401, r.body);

  const dd = await deviceAuth();
  const ddr = await browser(dd.verification_uri_complete, { BROWSER_ACTION: 'deny' });
  check('device deny: helper exit 0', ddr.code === 0, ddr);
  r = await poll(dd.device_code);
  check('device deny: poll says access_denied', r.status === 400 && r.body.error === 'access_denied', r.body);

  const bad = await browser(`${ISSUER}/device?user_code=ZZZZ-ZZZZ`);
  check('browser.mjs with an unknown user code: exit 1, one line on stderr', bad.code === 1 && bad.stderr.trim().split('\n').length === 1, bad);

  // --- nothing secret printed by the helper; counters -----------------------
  const spent = (await call('GET', '/_spent')).body;
  const secrets = [...spent.codes, ...spent.code_verifiers, ...spent.device_codes];
  check('/_spent lists the codes, verifiers and device codes presented', spent.codes.length >= 4 && spent.code_verifiers.length >= 4 && spent.device_codes.length >= 2 && spent.codes.length >= 5, spent && Object.values(spent).map((v) => v.length));
  check('browser.mjs printed none of them', [a, b, c, dn].every((x) => noSecretIn(x.run, secrets)) && [dr, dbr, ddr, bad].every((x) => noSecretIn(x, secrets)));
  const s1 = await stats();
  check('/_stats: one refresh-token reuse, grants revoked', s1.refresh_reuse - s0.refresh_reuse === 1 && s1.grants_revoked > s0.grants_revoked, s1);
  const acc0 = s0.accounts.interop ?? { token_requests: {}, refresh_reuse: 0 };
  const acc1 = s1.accounts.interop;
  // Requests with a token the server cannot find (revoked, unknown) name no account.
  check('/_stats per account: "interop" made 3 good refreshes and the reuse, "someone-else" a device-code request',
    acc1.refresh_reuse - acc0.refresh_reuse === 1 && (acc1.token_requests.refresh_token ?? 0) - (acc0.token_requests.refresh_token ?? 0) === 4
    && s1.accounts['someone-else']?.token_requests[DEVICE_GRANT] - (s0.accounts['someone-else']?.token_requests[DEVICE_GRANT] ?? 0) >= 1,
  { interop: acc1, 'someone-else': s1.accounts['someone-else'] });
}

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAIL unexpected error: ${e.stack}`);
} finally {
  rmSync(WORK, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
