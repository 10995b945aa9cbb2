// How the playground and the dashboard get their API token, and what they
// say when what they were given is not one.
//
// The server prints a sign-in link such as
//   http://localhost:8080/dashboard#token=odt_…
// The token is in the URL fragment, which a browser never sends to the
// server (nor in a Referer). The page reads it once, removes it from the
// address bar (history.replaceState, so it is not left in the history or
// a bookmark) and keeps it in sessionStorage: it lasts as long as the tab,
// is shared by the pages of this origin in that tab, and is gone when the
// tab is closed.
//
// Everything here takes its browser objects as arguments (with the
// browser's as defaults), so that it also runs under Node's test runner.

/** The sessionStorage key of the token. */
export const STORAGE_KEY = 'outdial.token';

/** The longest token the server accepts. */
export const MAX_TOKEN_LENGTH = 512;

/** What to do instead, appended to every problem. */
const ADVICE = 'Use the token the server printed at start (odt_ followed by 43 characters), or open the sign-in link it printed.';

/**
 * Placeholders that documentation and examples put where a token belongs:
 * the README's "odt_…", three dots, "<token>", the playground's
 * "PASTE-THE-TOKEN-PRINTED-AT-START", "$TOKEN", "YOUR_TOKEN", "odt_" alone.
 */
const PLACEHOLDER = /\u2026|\.\.\.|^<.*>$|paste.*token|your[-_ ]?token|^\$\{?[A-Z_]+\}?$|^odt_$|^token$/i;

/**
 * checkToken returns null when token can be sent as an API token, else a
 * sentence that says what is wrong with it and what to do: it is empty,
 * longer than the server accepts, or holds a character that no token holds
 * (a browser refuses to send most of them: "String contains non ISO-8859-1
 * code point"). Leading and trailing spaces do not count: copying often
 * adds them.
 * @param {string} token
 * @returns {string|null}
 */
export function checkToken(token) {
  const t = (token ?? '').trim();
  if (t === '') {
    return `No token was given. ${ADVICE}`;
  }
  const odd = [...t].find((c) => c < '!' || c > '~');
  if (odd !== undefined) {
    return PLACEHOLDER.test(t)
      ? `“${shorten(t)}” is a placeholder, not a token. ${ADVICE}`
      : `The token contains ${describeChar(odd)}, which no token contains: copy it again, without spaces, quotes or line breaks. ${ADVICE}`;
  }
  if (t.length > MAX_TOKEN_LENGTH) {
    return `The token has ${t.length} characters; a token has at most ${MAX_TOKEN_LENGTH}. ${ADVICE}`;
  }
  return null;
}

/**
 * explainRefusal returns what to tell a person whose token the server
 * refused (401): the server does not know it, and, when it looks like a
 * placeholder or is quoted, that it is one. An ADMIN_TOKEN may be any
 * string, so such a token is sent all the same, never refused here.
 * @param {string} token
 * @returns {string}
 */
export function explainRefusal(token) {
  const t = (token ?? '').trim();
  if (PLACEHOLDER.test(t)) {
    return `“${shorten(t)}” is a placeholder, not a token: the server does not know it. ${ADVICE}`;
  }
  if (/^["'].*["']$/.test(t)) {
    return `The server does not know this token: remove the quotes around it. ${ADVICE}`;
  }
  return `The server does not know this token, or it was revoked. ${ADVICE}`;
}

/**
 * checkAuthorization checks the value of an Authorization header: it must
 * be "Bearer " and a token. It returns {token} (trimmed) or {problem}.
 * @param {string|undefined} value
 * @returns {{token: string}|{problem: string}}
 */
export function checkAuthorization(value) {
  const v = (value ?? '').trim();
  if (v === '') {
    return { problem: `The Authorization header is missing: add {"Authorization": "Bearer <token>"}. ${ADVICE}` };
  }
  // One or more spaces or tabs, as the server splits it (not any Unicode space).
  const m = /^Bearer(?:[ \t]+(.*))?$/is.exec(v);
  if (!m) {
    const looksLikeToken = !/\s/.test(v);
    return {
      problem: looksLikeToken
        ? `Write the Authorization header as “Bearer <token>”: the word Bearer, a space, then the token.`
        : `The Authorization header must be “Bearer <token>”; it is “${shorten(v)}”. ${ADVICE}`,
    };
  }
  const token = m[1] ?? '';
  const problem = checkToken(token);
  return problem ? { problem } : { token: token.trim() };
}

/**
 * authorizationOf returns the Authorization entry of a headers object,
 * whatever the case of its name, or undefined.
 * @param {Record<string, unknown>|null|undefined} headers
 */
export function authorizationOf(headers) {
  if (!headers || typeof headers !== 'object') {
    return undefined;
  }
  const key = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
  const v = key === undefined ? undefined : headers[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * takeTokenFromLocation reads a token from the URL fragment (#token=…),
 * removes it from the address bar, and stores it when it is valid. It
 * returns {token}, {problem} (the fragment held something that is not a
 * token) or {} (no token in the fragment).
 */
export function takeTokenFromLocation(loc = globalThis.location, hist = globalThis.history, storage = globalThis.sessionStorage) {
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''));
  if (!params.has('token')) {
    return {};
  }
  const token = params.get('token') ?? '';
  params.delete('token');
  const rest = params.toString();
  hist.replaceState(hist.state, '', loc.pathname + loc.search + (rest ? `#${rest}` : ''));
  const problem = checkToken(token);
  if (problem) {
    return { problem: `The sign-in link holds no usable token: ${problem}` };
  }
  storeToken(token, storage);
  return { token: token.trim() };
}

/** storedToken returns the token of this tab, or null. */
export function storedToken(storage = globalThis.sessionStorage) {
  const t = storage.getItem(STORAGE_KEY);
  return t && checkToken(t) === null ? t : null;
}

/** storeToken keeps token for this tab. */
export function storeToken(token, storage = globalThis.sessionStorage) {
  storage.setItem(STORAGE_KEY, token.trim());
}

/** forgetToken signs this tab out. */
export function forgetToken(storage = globalThis.sessionStorage) {
  storage.removeItem(STORAGE_KEY);
}

/** describeChar names a character: “…” (U+2026). */
function describeChar(c) {
  const code = c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
  const names = { 0x20: 'a space', 0x09: 'a tab', 0x0a: 'a line break', 0x0d: 'a line break', 0xa0: 'a non-breaking space' };
  const name = names[c.codePointAt(0)];
  return name ? `${name} (U+${code})` : `“${c}” (U+${code})`;
}

/** shorten cuts s to 40 characters for a message. */
function shorten(s) {
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}
