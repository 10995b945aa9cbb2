// Unit tests of the pages' pure scripts (web/static): the sign-in checks
// and the dashboard's schema-driven documents, filters and paging.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  STORAGE_KEY, checkAuthorization, checkToken, explainRefusal, storedToken, takeTokenFromLocation,
} from '../../web/static/signin.js';
import * as S from '../../web/static/dashboard/schema.js';

const realToken = 'odt_3q2-7wEXAMPLE_EXAMPLE_EXAMPLE_EXAMPLE_EXAMPL';

test('checkToken accepts what a token can be', () => {
  for (const t of [realToken, ` ${realToken}\n`, 'odt_test-admin-token', 'any-ADMIN_TOKEN.value~1', 'x'.repeat(512)]) {
    assert.equal(checkToken(t), null, t);
  }
});

test('checkToken names what is wrong, for each kind of bad value', () => {
  const cases = [
    // [value, words the message must contain]
    ['', 'No token'],
    ['   ', 'No token'],
    ['odt_…', '“odt_…” is a placeholder'], // the README's, the ISO-8859-1 error in a browser
    ['odt_…abc', 'placeholder'],
    [`${realToken.slice(0, 20)}\u00a0${realToken.slice(20)}`, 'a non-breaking space (U+00A0)'],
    [`${realToken.slice(0, 20)} ${realToken.slice(20)}`, 'a space (U+0020)'],
    [`${realToken.slice(0, 20)}\n${realToken.slice(20)}`, 'a line break (U+000A)'],
    [`“${realToken}”`, '““” (U+201C)'],
    [`${realToken}é`, '“é” (U+00E9)'],
    ['x'.repeat(513), 'has 513 characters; a token has at most 512'],
  ];
  for (const [value, words] of cases) {
    const msg = checkToken(value);
    assert.ok(msg && msg.includes(words), `${JSON.stringify(value)}: ${msg}`);
    assert.ok(msg.includes('sign-in link'), `says what to do instead: ${msg}`);
  }
});

test('explainRefusal recognises placeholders the server refused', () => {
  for (const t of ['odt_...', '<token>', 'PASTE-THE-TOKEN-PRINTED-AT-START', '$TOKEN', '${ADMIN_TOKEN}', 'YOUR_TOKEN', 'odt_', 'token']) {
    assert.match(explainRefusal(t), /is a placeholder, not a token/, t);
  }
  assert.match(explainRefusal(`"${realToken}"`), /remove the quotes/);
  assert.match(explainRefusal(realToken), /does not know this token, or it was revoked/);
  assert.doesNotMatch(explainRefusal('odt_test-admin-token'), /placeholder/);
});

test('checkAuthorization wants "Bearer <token>"', () => {
  assert.deepEqual(checkAuthorization(`Bearer ${realToken}`), { token: realToken });
  assert.deepEqual(checkAuthorization(`bearer   ${realToken} `), { token: realToken });
  const problems = [
    [undefined, 'is missing'],
    ['', 'is missing'],
    [realToken, 'the word Bearer, a space, then the token'],
    [`Token ${realToken}`, 'must be “Bearer <token>”'],
    ['Bearer odt_…', 'placeholder'],
    ['Bearer', 'No token'],
    ['Bearer  ', 'No token'],
    ['Bearer\u00a0odt_x', 'must be “Bearer <token>”'],
  ];
  for (const [value, words] of problems) {
    const r = checkAuthorization(value);
    assert.ok(r.problem && r.problem.includes(words), `${JSON.stringify(value)}: ${JSON.stringify(r)}`);
  }
});

/** fakeBrowser returns a location, history and sessionStorage for takeTokenFromLocation. */
function fakeBrowser(url) {
  const u = new URL(url);
  const items = new Map();
  const loc = { pathname: u.pathname, search: u.search, hash: u.hash };
  const replaced = [];
  return {
    loc,
    replaced,
    items,
    hist: { state: null, replaceState: (_s, _t, to) => replaced.push(to) },
    storage: {
      getItem: (k) => (items.has(k) ? items.get(k) : null),
      setItem: (k, v) => items.set(k, v),
      removeItem: (k) => items.delete(k),
    },
  };
}

test('takeTokenFromLocation moves the token from the fragment to sessionStorage', () => {
  const b = fakeBrowser(`http://localhost:8080/dashboard?blocker=NO_OUTBOUND_NUMBER#token=${realToken}`);
  assert.deepEqual(takeTokenFromLocation(b.loc, b.hist, b.storage), { token: realToken });
  assert.deepEqual(b.replaced, ['/dashboard?blocker=NO_OUTBOUND_NUMBER']);
  assert.equal(b.items.get(STORAGE_KEY), realToken);
  assert.equal(storedToken(b.storage), realToken);

  const other = fakeBrowser(`http://localhost:8080/#a=1&token=${realToken}`);
  takeTokenFromLocation(other.loc, other.hist, other.storage);
  assert.deepEqual(other.replaced, ['/#a=1'], 'other fragment parameters stay');
});

test('takeTokenFromLocation removes a bad token from the address bar too, and keeps nothing', () => {
  const b = fakeBrowser('http://localhost:8080/dashboard#token=odt_%E2%80%A6');
  const r = takeTokenFromLocation(b.loc, b.hist, b.storage);
  assert.match(r.problem, /sign-in link holds no usable token: “odt_…” is a placeholder/);
  assert.deepEqual(b.replaced, ['/dashboard']);
  assert.equal(b.items.size, 0);

  const none = fakeBrowser('http://localhost:8080/dashboard');
  assert.deepEqual(takeTokenFromLocation(none.loc, none.hist, none.storage), {});
  assert.deepEqual(none.replaced, [], 'an address without a token is left alone');
});

const withWarnings = {
  blockerCodes: { enumValues: [{ name: 'UNIFIED_ROUTING_DISABLED', description: null }, { name: 'NO_OUTBOUND_PROFILE', description: 'None.' }] },
  warningCodes: { enumValues: [{ name: 'PERSONAL_NUMBER_UNUSED', description: 'Unused.' }, { name: 'PROFILE_INCOMPLETE', description: null }] },
  summary: { fields: [{ name: 'agents' }, { name: 'warnings' }] },
  ability: { fields: [{ name: 'canMakeCalls' }, { name: 'warnings' }] },
  filter: { inputFields: [{ name: 'blocker' }, { name: 'warning' }] },
};
const withoutWarnings = {
  blockerCodes: withWarnings.blockerCodes,
  warningCodes: null,
  summary: { fields: [{ name: 'agents' }] },
  ability: { fields: [{ name: 'canMakeCalls' }] },
  filter: { inputFields: [{ name: 'blocker' }] },
};

test('capabilities: warnings appear where the schema has them, and only there', () => {
  const w = S.capabilities(withWarnings);
  assert.deepEqual(w.blockerCodes.map((c) => c.name), ['UNIFIED_ROUTING_DISABLED', 'NO_OUTBOUND_PROFILE']);
  assert.deepEqual(w.warningCodes.map((c) => c.name), ['PERSONAL_NUMBER_UNUSED', 'PROFILE_INCOMPLETE']);
  assert.equal(w.summaryWarnings && w.abilityWarnings && w.filterWarning, true);
  assert.match(S.summaryQuery(w), /warnings \{ code agents \}/);
  assert.match(S.agentsQuery(w), /warnings \{ code \}/);
  assert.match(S.detailQuery(w), /warnings \{ code message \}/);
  assert.match(S.changesSubscription(w), /warnings \{ code \}/);
  assert.deepEqual(S.filterInput({ ...S.emptyFilters(), warning: 'PROFILE_INCOMPLETE' }, w), { warning: 'PROFILE_INCOMPLETE' });

  const n = S.capabilities(withoutWarnings);
  assert.deepEqual(n.warningCodes, []);
  assert.equal(n.summaryWarnings || n.abilityWarnings || n.filterWarning, false);
  for (const q of [S.summaryQuery(n), S.agentsQuery(n), S.detailQuery(n), S.changesSubscription(n)]) {
    assert.doesNotMatch(q, /warning/);
  }
  assert.equal(S.filterInput({ ...S.emptyFilters(), warning: 'PROFILE_INCOMPLETE' }, n), null, 'no warning filter without the field');

  const partial = S.capabilities({ ...withWarnings, filter: withoutWarnings.filter });
  assert.equal(partial.summaryWarnings, true);
  assert.equal(partial.filterWarning, false, 'each place is asked on its own');
  assert.deepEqual(S.capabilities(null).blockerCodes, []);
});

test('filters travel through the URL and become an AgentFilter', () => {
  const p = new URLSearchParams('blocker=NOT_IN_PROFILE_QUEUE&canMakeCalls=maybe&search=%20ben%20&token=x');
  const f = S.filtersFromParams(p);
  assert.deepEqual(f, { ...S.emptyFilters(), blocker: 'NOT_IN_PROFILE_QUEUE', search: 'ben' });
  assert.equal(S.filtersToParams(f).toString(), 'search=ben&blocker=NOT_IN_PROFILE_QUEUE');
  const caps = S.capabilities(withoutWarnings);
  assert.equal(S.filterInput(S.emptyFilters(), caps), null);
  assert.deepEqual(S.filterInput({ ...S.emptyFilters(), canMakeCalls: 'false', queueId: 'UXVldWU6MQ', capacityProfileId: 'Q2FwOjE' }, caps),
    { canMakeCalls: false, queueId: 'UXVldWU6MQ', capacityProfileId: 'Q2FwOjE' });
});

test('matchesFilters says whether a changed agent still passes the filters', () => {
  const ben = {
    name: 'Ben Okafor', email: 'ben.okafor@example.com',
    queues: [{ id: 'q1', name: 'Outbound sales' }], capacityProfiles: [{ id: 'c1', name: 'Outbound voice' }],
    callingAbility: { canMakeCalls: true, blockers: [] },
  };
  const f = (o) => ({ ...S.emptyFilters(), ...o });
  assert.equal(S.matchesFilters(ben, f({})), true);
  assert.equal(S.matchesFilters(ben, f({ blocker: 'NOT_IN_PROFILE_QUEUE' })), false);
  assert.equal(S.matchesFilters(ben, f({ canMakeCalls: 'true' })), true);
  assert.equal(S.matchesFilters(ben, f({ canMakeCalls: 'false' })), false);
  assert.equal(S.matchesFilters(ben, f({ queueId: 'q1', capacityProfileId: 'c1' })), true);
  assert.equal(S.matchesFilters(ben, f({ queueId: 'q2' })), false);
  assert.equal(S.matchesFilters(ben, f({ capacityProfileId: 'c2' })), false);
  assert.equal(S.matchesFilters(ben, f({ search: 'OKAF' })), true);
  assert.equal(S.matchesFilters(ben, f({ search: 'example.com' })), true);
  assert.equal(S.matchesFilters(ben, f({ search: 'aiko' })), false);
});

test('Pager pages forward by cursor and back by memory', () => {
  const p = new S.Pager();
  assert.equal(p.after, null);
  assert.equal(p.previous(), false);
  p.next('c50');
  p.next('c100');
  assert.equal(p.index, 2);
  assert.equal(p.after, 'c100');
  assert.equal(p.previous(), true);
  assert.equal(p.after, 'c50');
  p.reset();
  assert.equal(p.index, 0);
  assert.equal(p.after, null);
});

test('humanize', () => {
  assert.equal(S.humanize('NOT_IN_PROFILE_QUEUE'), 'Not in profile queue');
  assert.equal(S.humanize('IMMEDIATE'), 'Immediate');
});
