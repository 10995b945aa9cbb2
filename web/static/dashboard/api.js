// A small client of Outdial's public API, as a browser app needs it:
// queries over HTTP (GraphQL over HTTP: POST /graphql, Bearer token) and
// subscriptions over one WebSocket (graphql-transport-ws, the token in
// connection_init), with the vendored graphql-ws library, reconnecting on
// its own. Nothing here is private to the dashboard: copy it.
import { explainRefusal } from '/static/signin.js';

/** APIError is a refusal of the server, with its GraphQL error code. */
export class APIError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = 'APIError';
    this.code = code;
    this.status = status;
  }
}

/** errorCode returns the extensions.code of the first error that has one. */
export function errorCode(errors) {
  const e = (errors || []).find((x) => x && x.extensions && x.extensions.code);
  return e ? e.extensions.code : undefined;
}

/**
 * API talks to one server with one token.
 *
 * onUnauthenticated(message) is called once when the server refuses the
 * token (HTTP 401, or a subscription ended with UNAUTHENTICATED: the token
 * was revoked); onConnection(state) whenever the WebSocket's state changes:
 * "connecting", "live", "reconnecting" or "closed".
 */
export class API {
  constructor({ token, onUnauthenticated = () => {}, onConnection = () => {}, base = location.href }) {
    this.token = token;
    this.httpURL = new URL('/graphql', base).toString();
    this.wsURL = this.httpURL.replace(/^http/, 'ws');
    this.onUnauthenticated = onUnauthenticated;
    this.onConnection = onConnection;
    this.refused = false;
    this.ws = null;
  }

  /**
   * query runs a query or mutation and returns its data. It throws an
   * APIError when the server answers errors (its messages joined).
   */
  async query(query, variables = {}) {
    let res;
    try {
      res = await fetch(this.httpURL, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/graphql-response+json, application/json',
          Authorization: `Bearer ${this.token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      throw new APIError(`The server does not answer (${err.message}). Is it running?`, 'NETWORK');
    }
    let body;
    try {
      body = await res.json();
    } catch {
      throw new APIError(`The server answered HTTP ${res.status} without a GraphQL response.`, 'BAD_RESPONSE', res.status);
    }
    if (res.status === 401) {
      this.refuse();
      throw new APIError(explainRefusal(this.token), 'UNAUTHENTICATED', 401);
    }
    if (body.errors && body.errors.length) {
      throw new APIError(body.errors.map((e) => e.message).join(' '), errorCode(body.errors), res.status);
    }
    return body.data;
  }

  /**
   * subscribe runs a subscription; next(data) gets each event's data,
   * ended(code, message) is called when the server ends it (code
   * SUBSCRIPTION_ENDED: it shuts down or found the client too slow;
   * anything else: an error). It returns a function that unsubscribes.
   */
  subscribe(query, variables, { next, ended }) {
    return this.client().subscribe({ query, variables }, {
      next: (result) => {
        if (result.errors && result.errors.length) {
          const code = errorCode(result.errors);
          if (code === 'UNAUTHENTICATED') {
            this.refuse();
          }
          ended(code, result.errors.map((e) => e.message).join(' '));
          return;
        }
        next(result.data);
      },
      error: (err) => ended('ERROR', describeError(err)),
      complete: () => {},
    });
  }

  /** client returns the WebSocket client, made on first use. */
  client() {
    if (!this.ws) {
      let connectedBefore = false;
      this.ws = globalThis.graphqlWs.createClient({
        url: this.wsURL,
        connectionParams: () => ({ Authorization: `Bearer ${this.token}` }),
        // Keep trying while the page is open: a server restart must not
        // leave the dashboard silently stale. Backoff 1, 2, 4 … 15 s.
        retryAttempts: Number.POSITIVE_INFINITY,
        shouldRetry: () => !this.refused,
        retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(15000, 1000 * 2 ** retries))),
        on: {
          connecting: () => this.onConnection(connectedBefore ? 'reconnecting' : 'connecting'),
          connected: () => {
            this.onConnection('live', { reconnected: connectedBefore });
            connectedBefore = true;
          },
          closed: () => this.onConnection(this.refused ? 'closed' : 'reconnecting'),
        },
      });
    }
    return this.ws;
  }

  /** refuse reports, once, that the server refused the token. */
  refuse() {
    if (this.refused) return;
    this.refused = true;
    this.onUnauthenticated(explainRefusal(this.token));
    this.dispose();
  }

  /** dispose closes the WebSocket. */
  dispose() {
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.dispose();
    }
  }
}

/** describeError turns what graphql-ws reports into a sentence. */
function describeError(err) {
  if (Array.isArray(err)) return err.map((e) => e.message).join(' ');
  if (err && typeof err.code === 'number') return `the connection closed (${err.code}${err.reason ? `: ${err.reason}` : ''})`;
  return err && err.message ? err.message : String(err);
}
