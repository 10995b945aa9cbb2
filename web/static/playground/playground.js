// Outdial's GraphiQL: queries and mutations over HTTP, subscriptions over
// graphql-transport-ws, both authenticated with the Authorization header
// of the Headers tab.
//
// Signed in by the server's link (#token=…) or by a token of this tab
// (sessionStorage, shared with the dashboard). GraphiQL fetches the schema
// when its fetcher changes, so every new value of the Authorization header
// gets a fetcher of its own: pasting the token loads the Docs pane and
// autocompletion without "Re-fetch GraphQL schema". A value that is not a
// token is never sent; the bar above the editor says what is wrong.
import {
  authorizationOf, checkAuthorization, explainRefusal, storeToken, storedToken, takeTokenFromLocation,
} from '/static/signin.js';

const { GraphiQL, React, ReactDOM, graphqlWs } = globalThis;

const httpURL = new URL('/graphql', location.href).toString();
const wsURL = httpURL.replace(/^http/, 'ws');
const httpFetcher = GraphiQL.createFetcher({ url: httpURL });
const bar = document.getElementById('bar');
const notice = document.getElementById('notice');

const PLACEHOLDER_HEADERS = '{\n  "Authorization": "Bearer PASTE-THE-TOKEN-PRINTED-AT-START"\n}';
const NO_TOKEN = 'Put the token printed at start in the <b>Headers</b> tab below, as <code>{"Authorization": "Bearer odt_…"}</code>, or open the sign-in link the server printed.';

/** say shows a message in the bar: state is "info", "ok" or "problem". */
function say(state, html) {
  bar.dataset.state = state;
  notice.innerHTML = html;
}

/** escapeHTML makes text safe to put in innerHTML. */
function escapeHTML(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** headersFor returns the Headers tab's text for a token. */
function headersFor(token) {
  return JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
}

/** operationType returns the type of the operation GraphiQL runs. */
function operationType(params, opts) {
  const doc = opts && opts.documentAST;
  if (!doc) {
    return /^\s*subscription\b/m.test(params.query || '') ? 'subscription' : 'query';
  }
  const ops = doc.definitions.filter((d) => d.kind === 'OperationDefinition');
  const op = ops.find((d) => d.name && d.name.value === params.operationName) || ops[0];
  return op ? op.operation : 'query';
}

/** subscribe runs a subscription on a WebSocket of its own. */
function subscribe(params, authorization) {
  const client = graphqlWs.createClient({ url: wsURL, connectionParams: { Authorization: authorization } });
  return {
    subscribe(sink) {
      const dispose = client.subscribe(params, {
        next: (v) => sink.next(v),
        error: (e) => sink.error(e),
        complete: () => { sink.complete(); client.dispose(); },
      });
      return { unsubscribe() { dispose(); client.dispose(); } };
    },
  };
}

/** isUnauthenticated reports whether a result is the server's 401 answer. */
function isUnauthenticated(result) {
  return Boolean(result && Array.isArray(result.errors) &&
    result.errors.some((e) => e && e.extensions && e.extensions.code === 'UNAUTHENTICATED'));
}

/**
 * newFetcher returns a fetcher (a new function each time, see above) that
 * checks the Authorization header before anything is sent.
 */
function newFetcher() {
  return function fetcher(params, opts) {
    const authorization = authorizationOf(opts && opts.headers);
    const auth = checkAuthorization(authorization);
    if (auth.problem) {
      return Promise.resolve({ errors: [{ message: auth.problem, extensions: { code: 'NOT_A_TOKEN' } }] });
    }
    if (operationType(params, opts) === 'subscription') {
      return subscribe(params, authorization);
    }
    return Promise.resolve(httpFetcher(params, opts)).then((result) => {
      if (isUnauthenticated(result)) {
        say('problem', escapeHTML(explainRefusal(auth.token)));
      }
      return result;
    });
  };
}

/** readAuthorization returns the Authorization value of the Headers tab's text. */
function readAuthorization(text) {
  if (!text || !text.trim()) {
    return { value: undefined };
  }
  try {
    return { value: authorizationOf(JSON.parse(text)) };
  } catch {
    return { invalid: true };
  }
}

const defaultQuery = [
  '# Who can call, and why the others cannot.',
  'query Agents {',
  '  agents(first: 20) {',
  '    totalCount',
  '    nodes {',
  '      name email',
  '      callingAbility {',
  '        version canMakeCalls',
  '        callerIds { phoneNumber { e164 } source outboundProfile { name } workItemLimit }',
  '        blockers { code message }',
  '      }',
  '    }',
  '  }',
  '  callingSummary { agents agentsCanMakeCalls blockers { code agents } warnings { code agents } }',
  '}',
  '',
  '# Before a change, preview who would lose the ability to call: uncomment,',
  '# put the ID of a number in, run it. dryRun: true writes nothing; run it',
  '# again without dryRun to do it.',
  '# mutation PreviewDowngrade {',
  '#   downgradeCallingPlan(',
  '#     input: {phoneNumberId: "UGhvbmVOdW1iZXI6MQ", capabilities: [MAKE_CALLS]}',
  '#     dryRun: true',
  '#   ) {',
  '#     userErrors { code message }',
  '#     impact {',
  '#       agentsChanged agentsLosingCalling agentsGainingCalling',
  '#       changes { agentEmail current { canMakeCalls blockers { code message } } callerIdsLost }',
  '#     }',
  '#   }',
  '# }',
  '',
].join('\n');

// Earlier versions let GraphiQL keep the headers (the token) in
// localStorage, which outlives the tab: forget them.
localStorage.removeItem('graphiql:headers');

const fromLink = takeTokenFromLocation();
const token = fromLink.token || storedToken();
const root = ReactDOM.createRoot(document.getElementById('graphiql'));
let fetcher = newFetcher();
let lastAuthorization = token ? `Bearer ${token}` : undefined;
let debounce = 0;

let docsShown = false;

/**
 * render (re)renders GraphiQL with the current fetcher. The first time it
 * renders with a token (signedIn) it opens the Docs pane: the schema's
 * descriptions are the API's documentation. Without a token the pane
 * would only say "Error fetching schema", so it waits for one; once
 * opened, a reader who closes it keeps it closed.
 */
function render(signedIn) {
  const showDocs = signedIn && !docsShown;
  docsShown = docsShown || showDocs;
  const element = React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    // The token lives in sessionStorage, not in GraphiQL's localStorage.
    shouldPersistHeaders: false,
    headers: token ? headersFor(token) : undefined,
    defaultHeaders: token ? headersFor(token) : PLACEHOLDER_HEADERS,
    defaultEditorToolsVisibility: 'headers',
    visiblePlugin: showDocs ? 'Documentation Explorer' : undefined,
    onEditHeaders,
  });
  root.render(element);
}

/** onEditHeaders refetches the schema once the Authorization header changed. */
function onEditHeaders(text) {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    const read = readAuthorization(text);
    if (read.invalid) {
      say('problem', 'The <b>Headers</b> tab does not hold valid JSON: write it as <code>{"Authorization": "Bearer odt_…"}</code>.');
      return;
    }
    if (read.value === lastAuthorization) {
      return;
    }
    lastAuthorization = read.value;
    const auth = checkAuthorization(read.value);
    if (auth.problem) {
      say('problem', escapeHTML(auth.problem));
    } else {
      storeToken(auth.token);
      say('ok', 'Token set: fetching the schema (Docs, autocompletion). The <a href="/dashboard">dashboard</a> of this tab is signed in too.');
    }
    fetcher = newFetcher();
    render(!auth.problem);
  }, 300);
}

if (fromLink.problem) {
  say('problem', escapeHTML(fromLink.problem));
} else if (token) {
  say('ok', 'Signed in with the token of this tab (kept in sessionStorage until the tab is closed). Press Ctrl+Enter to run the query.');
} else {
  say('info', NO_TOKEN);
}
render(Boolean(token) && !fromLink.problem);
