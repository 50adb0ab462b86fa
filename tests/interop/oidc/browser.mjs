#!/usr/bin/env node
// A stand-in for a person at a browser, for oidc-provider's devInteractions pages:
//
//   node browser.mjs URL
//
// URL is what runner opens (runner appends it as the last argument of $RUNNER_BROWSER):
// an authorization URL (…/auth?client_id=…), or the device verification URL
// (…/device?user_code=…, or …/device with the code in $BROWSER_USER_CODE). It follows
// redirects with a small cookie jar, signs in (any login is accepted), approves the
// consent (or the device), and for the authorization code grant finally GETs the
// redirect_uri?code=…&state=… it was sent to, so that runner's loopback listener
// receives the callback. Plain HTTP only: no JavaScript, no extra packages.
//
// Environment:
//   BROWSER_LOGIN      the account to sign in as (default "interop"; it becomes `sub`)
//   BROWSER_USER_CODE  the device user code, when URL carries none
//   BROWSER_ACTION     "approve" (default) or "deny" (abort the consent / the device
//                      confirmation, so the server answers access_denied)
//   BROWSER_MARKER     a file to append one line per step to ("start", "login",
//                      "consent", "callback 200", ...), so tests can tell whether the
//                      helper ran at all; it never holds a code, token or cookie
//
// Prints nothing on success (exit 0). On failure: one line on stderr, exit 1. Never
// prints a code, token, cookie or the URL's query.

import { appendFileSync } from 'node:fs';

const LOGIN = process.env.BROWSER_LOGIN || 'interop';
const DENY = (process.env.BROWSER_ACTION || 'approve') === 'deny';
const MARKER = process.env.BROWSER_MARKER || '';
const MAX_STEPS = 40;

function mark(line) {
  if (MARKER) appendFileSync(MARKER, `${line}\n`);
}

class Failure extends Error {}
function fail(reason) {
  throw new Failure(reason);
}

// Where a URL points, without its query (which may hold a code or state).
const where = (u) => `${u.origin}${u.pathname}`;

/** Cookies as a browser keeps them: by host and path (RFC 6265, the parts used here). */
class CookieJar {
  #cookies = new Map(); // `${host} ${path} ${name}` -> {host, path, name, value}

  store(url, setCookieHeaders) {
    for (const header of setCookieHeaders) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=').map((s) => s.trim());
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${url.host} ${path} ${name}`;
      if (expired) this.#cookies.delete(id);
      else this.#cookies.set(id, { host: url.host, path, name, value });
    }
  }

  header(url) {
    const matches = [...this.#cookies.values()]
      .filter((c) => c.host === url.host && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matches.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

const jar = new CookieJar();

async function request(method, url, form) {
  const headers = { 'user-agent': 'runner-interop-browser/1', accept: 'text/html' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  let res;
  try {
    res = await fetch(url, {
      method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15000),
    });
  } catch (e) {
    fail(`${method} ${where(url)} failed: ${e.cause?.code || e.name}`);
  }
  jar.store(url, res.headers.getSetCookie());
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), text };
}

const unescape = (s) => s
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'")
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attributes(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-\w:.]*)\s*=\s*"([^"]*)"/g)) out[m[1].toLowerCase()] = unescape(m[2]);
  return out;
}

/** The page's forms: id, method, action (absolute) and their named inputs. */
function forms(html, base) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, inner]) => {
    const a = attributes(open);
    const fields = {};
    for (const [input] of inner.matchAll(/<input\b[^>]*>/gi)) {
      const i = attributes(input);
      if (i.name) fields[i.name] = i.value ?? '';
    }
    return {
      id: a.id || '',
      method: (a.method || 'get').toUpperCase(),
      action: new URL(a.action || base.href, base),
      fields,
    };
  });
}

function title(html) {
  return (/<title>([^<]*)<\/title>/i.exec(html)?.[1] || '').trim();
}

/** oidc-provider's error page: "error: x" / "error_description: y" lines. */
function pageError(html) {
  const text = unescape(html.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');
  const error = /error: ([\w.-]+)/.exec(text)?.[1];
  const description = /error_description: (.*?)(?: state:| iss:| error_uri:|$)/.exec(text)?.[1];
  return error ? `${error}${description ? `: ${description.trim()}` : ''}` : '';
}

/** Decides what to submit on a page, as a person would. */
function nextSubmission(page, base, userCode) {
  const all = forms(page, base);
  const byField = (name, value) => all.find((f) => f.fields[name] === value);

  const login = byField('prompt', 'login');
  if (login) {
    mark('login');
    return { form: login, fields: { ...login.fields, login: LOGIN, password: 'any-password' } };
  }
  const consent = byField('prompt', 'consent');
  if (consent) {
    if (DENY) {
      const abort = /href="([^"]*\/abort)"/.exec(page)?.[1];
      if (!abort) fail('consent page without an abort link');
      mark('deny consent');
      return { get: new URL(unescape(abort), base) };
    }
    mark('consent');
    return { form: consent, fields: consent.fields };
  }
  const input = all.find((f) => f.id === 'op.deviceInputForm');
  if (input) {
    const code = input.fields.user_code || userCode;
    if (!code) fail('the device page asks for a user code: set BROWSER_USER_CODE or open verification_uri_complete');
    mark('user code');
    return { form: input, fields: { ...input.fields, user_code: code } };
  }
  const confirm = all.find((f) => f.id === 'op.deviceConfirmForm');
  if (confirm) {
    const fields = { ...confirm.fields };
    if (DENY) {
      delete fields.confirm;
      fields.abort = 'yes';
      mark('deny device');
    } else {
      mark('confirm device');
    }
    return { form: confirm, fields };
  }
  // A form_post page (e.g. /device?user_code=… answers one): a script would submit it.
  if (all.length === 1 && all[0].method === 'POST') {
    mark('auto-submit');
    return { form: all[0], fields: all[0].fields };
  }
  return null;
}

async function main() {
  const arg = process.argv.at(-1);
  let start;
  try {
    start = new URL(arg);
  } catch {
    fail('usage: browser.mjs URL (an authorization or device verification URL)');
  }
  const issuerOrigin = start.origin;
  const userCode = start.searchParams.get('user_code') || process.env.BROWSER_USER_CODE || '';
  mark(`start ${start.pathname}`);

  let method = 'GET';
  let url = start;
  let form;
  let denied = false;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (url.origin !== issuerOrigin) {
      // The authorization response, sent back to the client's redirect_uri: deliver it.
      const outcome = url.searchParams.has('error') ? ` error=${url.searchParams.get('error')}` : '';
      const res = await request('GET', url);
      mark(`callback ${res.status}${outcome}`);
      if (res.status < 200 || res.status >= 300) fail(`the redirect_uri ${where(url)} answered ${res.status}`);
      return;
    }
    const res = await request(method, url, form);
    if (res.status >= 300 && res.status < 400) {
      if (!res.location) fail(`${method} ${where(url)} answered ${res.status} without Location`);
      url = new URL(res.location, url);
      method = 'GET';
      form = undefined;
      continue;
    }
    const page = res.text;
    if (denied) {
      // The device confirmation was aborted: whatever page follows ends the visit.
      mark(`done ${res.status}`);
      return;
    }
    if (res.status >= 400) {
      fail(`${method} ${where(url)} answered ${res.status}${pageError(page) ? ` (${pageError(page)})` : ''}`);
    }
    const next = nextSubmission(page, url, userCode);
    if (next?.get) {
      url = next.get;
      method = 'GET';
      form = undefined;
      continue;
    }
    if (next) {
      denied = DENY && next.form.id === 'op.deviceConfirmForm';
      url = next.form.action;
      method = next.form.method;
      form = next.fields;
      if (method === 'GET') {
        url = new URL(url);
        for (const [k, v] of Object.entries(form)) url.searchParams.set(k, v);
        form = undefined;
      }
      continue;
    }
    // No form left: the device flow ends on a page saying so.
    const t = title(page);
    if (/success/i.test(t)) {
      mark('device approved');
      return;
    }
    const err = pageError(page);
    fail(`stuck at ${where(url)} ("${t}")${err ? `: ${err}` : ''}`);
  }
  fail(`more than ${MAX_STEPS} steps`);
}

try {
  await main();
} catch (e) {
  const reason = e instanceof Failure ? e.message : `unexpected error: ${e.name}: ${e.message}`;
  mark(`failed: ${reason}`);
  process.stderr.write(`browser.mjs: ${reason}\n`);
  process.exit(1);
}
