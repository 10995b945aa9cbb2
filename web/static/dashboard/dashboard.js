// Outdial's calling dashboard: a reference for teams that build their own.
// It uses only the public API: the queries of schema.js over HTTP, and the
// callingAbilityChanged subscription, which updates the rows on screen in
// place (a newer version replaces an older one; nothing is reloaded).
//
// No framework and no build step: DOM calls, and text set with
// textContent (never HTML built from data).
import { API, APIError } from './api.js';
import * as S from './schema.js';
import { checkToken, forgetToken, storeToken, storedToken, takeTokenFromLocation } from '/static/signin.js';

const $ = (id) => document.getElementById(id);

/**
 * h makes an element: h('td', {class: 'x', dataset: {id: 1}}, 'text', child).
 * Attributes named on… are listeners; false and null ones are left out.
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** time formats an RFC 3339 timestamp as a <time> with the local time. */
function time(iso) {
  const d = new Date(iso);
  return h('time', { datetime: iso, title: d.toLocaleString() }, d.toLocaleTimeString());
}

/** list returns a comma-separated list of names, or a dash. */
function names(items) {
  return items && items.length ? items.map((x) => x.name).join(', ') : '—';
}

const state = {
  api: null,
  caps: null,
  filters: S.filtersFromParams(new URLSearchParams(location.search)),
  pager: new S.Pager(),
  pageSize: 50,
  pageSeq: 0,
  /** @type {Map<string, {agent: object, tr: HTMLTableRowElement}>} */
  rows: new Map(),
  detailId: null,
  detailOpener: null,
  /** orgWide: the token reads the whole organisation (not an AGENT token). */
  orgWide: true,
  unsubscribe: null,
  /** @type {Map<string, object>|null} changes seen while a page loads */
  changesDuringLoad: null,
  summaryTimer: 0,
  summaryDirty: false,
  announced: [],
  announceTimer: 0,
};

// ------------------------------------------------------------- sign in

/** start signs in from the link, the tab's stored token, or the form. */
function start() {
  const link = takeTokenFromLocation();
  const token = link.token || storedToken();
  if (link.problem || !token) {
    showSignIn(link.problem || '');
    return;
  }
  signIn(token);
}

/** showSignIn shows the sign-in form, with a problem to explain, if any. */
function showSignIn(problem) {
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('signin').hidden = false;
  $('signin-problem').textContent = problem;
  setLive('off', 'Not connected');
  $('token').focus();
}

/** signIn checks the token with the server, then loads the dashboard. */
async function signIn(token) {
  const api = new API({
    token,
    onUnauthenticated: (message) => signOut(message),
    onConnection: connectionChanged,
  });
  let viewer;
  try {
    viewer = (await api.query(S.VIEWER_QUERY)).viewer;
  } catch (err) {
    showSignIn(err.message);
    return;
  }
  storeToken(token);
  state.api = api;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = viewer.token ? `Signed in as ${viewer.token.name} (${viewer.role})` : `Signed in (${viewer.role})`;
  try {
    state.caps = S.capabilities(await api.query(S.INTROSPECTION));
  } catch (err) {
    showProblem(`The schema could not be read: ${err.message}`);
    return;
  }
  buildFilterForm();
  subscribe();
  // An AGENT token reads its own agent only: no figures, queues or profiles.
  state.orgWide = viewer.role !== 'AGENT';
  $('agent-scope').hidden = state.orgWide;
  $('summary').hidden = !state.orgWide;
  for (const el of document.querySelectorAll('#filters .org')) el.hidden = !state.orgWide;
  await Promise.all(state.orgWide ? [loadOptions(), loadSummary(), loadPage()] : [loadPage()]);
}

/** signOut forgets the token of this tab and shows the form. */
function signOut(message = '') {
  if (state.unsubscribe) state.unsubscribe();
  state.unsubscribe = null;
  if (state.api) state.api.dispose();
  state.api = null;
  forgetToken();
  if ($('detail').open) $('detail').close();
  showSignIn(message);
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.replace(/^\s*Bearer\s+/i, '');
  const problem = checkToken(token);
  if (problem) {
    $('signin-problem').textContent = problem;
    return;
  }
  $('token').value = '';
  signIn(token.trim());
});
$('sign-out').addEventListener('click', () => signOut('Signed out. The token is forgotten in this tab.'));

// ------------------------------------------------------------- problems and status

/** showProblem shows (or, with "", hides) a problem with the server. */
function showProblem(message) {
  $('problem').textContent = message;
  $('problem').hidden = !message;
}

/** setLive shows the state of the live connection. */
function setLive(stateName, text) {
  $('live').dataset.state = stateName;
  $('live').textContent = text;
}

/** connectionChanged follows the WebSocket; a reconnect reloads what it may have missed. */
function connectionChanged(s, info = {}) {
  if (s === 'live') {
    setLive('live', 'Live: rows update as they change');
    if (info.reconnected) {
      loadPage();
      scheduleSummary();
      reloadDetail();
    }
  } else if (s === 'connecting') {
    setLive('connecting', 'Connecting…');
  } else if (s === 'reconnecting') {
    setLive('reconnecting', 'Reconnecting… (what changes meanwhile is reloaded when back)');
  } else {
    setLive('off', 'Not connected');
  }
}

/**
 * announce tells screen readers what changed, a sentence at a time; many
 * changes at once become one count.
 */
function announce(sentence) {
  state.announced.push(sentence);
  clearTimeout(state.announceTimer);
  state.announceTimer = setTimeout(() => {
    const n = state.announced.length;
    $('announce').textContent = n === 1 ? state.announced[0] : `${n} agents on this page changed.`;
    state.announced = [];
  }, 500);
}

// ------------------------------------------------------------- summary tiles

/** loadSummary reloads the tiles. */
async function loadSummary() {
  try {
    renderTiles((await state.api.query(S.summaryQuery(state.caps))).callingSummary);
  } catch (err) {
    if (err instanceof APIError && err.code !== 'UNAUTHENTICATED') showProblem(`The summary could not be loaded: ${err.message}`);
  }
}

/** scheduleSummary reloads the tiles at most once a second while changes stream in. */
function scheduleSummary() {
  if (!state.orgWide) return;
  if (state.summaryTimer) {
    state.summaryDirty = true;
    return;
  }
  loadSummary();
  state.summaryTimer = setTimeout(function again() {
    state.summaryTimer = 0;
    if (state.summaryDirty) {
      state.summaryDirty = false;
      scheduleSummary();
    }
  }, 1000);
}

/** tileDefs lists the tiles: totals, then one per blocker and warning code. */
function tileDefs(sum) {
  const count = (list, code) => ((list || []).find((x) => x.code === code) || { agents: 0 }).agents;
  const share = sum.agents ? (100 * sum.agentsCanMakeCalls) / sum.agents : 0;
  const pct = share > 0 && share < 1 ? 'under 1' : String(Math.round(share));
  const tiles = [
    { key: 'all', label: 'Agents', value: sum.agents, filter: {} },
    { key: 'can', label: 'Can call', value: sum.agentsCanMakeCalls, note: `${pct}% of agents`, kind: 'ok', filter: { canMakeCalls: 'true' } },
    { key: 'cannot', label: 'Cannot call', value: sum.agents - sum.agentsCanMakeCalls, kind: 'no', filter: { canMakeCalls: 'false' } },
  ];
  for (const c of state.caps.blockerCodes) {
    tiles.push({ key: `b:${c.name}`, label: S.humanize(c.name), code: c.name, note: c.description, value: count(sum.blockers, c.name), kind: 'blocker', filter: { blocker: c.name } });
  }
  if (state.caps.summaryWarnings) {
    for (const c of state.caps.warningCodes) {
      tiles.push({ key: `w:${c.name}`, label: S.humanize(c.name), code: c.name, note: c.description, value: count(sum.warnings, c.name), kind: 'warning', filter: { warning: c.name } });
    }
  }
  return tiles;
}

/** renderTiles shows the tiles; each is a button that applies its filter. */
function renderTiles(sum) {
  const ul = $('tiles');
  const existing = new Map([...ul.children].map((li) => [li.dataset.key, li]));
  for (const t of tileDefs(sum)) {
    let li = existing.get(t.key);
    if (!li) {
      li = h('li', { dataset: { key: t.key }, class: `tile-item ${t.kind || ''}` },
        h('button', { type: 'button', class: 'tile', onclick: () => applyFilters({ ...S.emptyFilters(), ...t.filter }) },
          h('span', { class: 'tile-value' }), h('span', { class: 'tile-label' }, t.label),
          t.code ? h('span', { class: 'tile-code' }, breakable(t.code)) : null,
          t.key === 'can' ? h('span', { class: 'tile-note' }) : null));
      if (t.note && t.code) li.querySelector('button').title = t.note; // the code's description in the schema
      li.filter = t.filter;
      ul.append(li);
    }
    li.querySelector('.tile-value').textContent = t.value.toLocaleString();
    if (t.key === 'can') li.querySelector('.tile-note').textContent = t.note;
    li.classList.toggle('zero', t.value === 0 && t.kind !== undefined && t.kind !== 'ok');
  }
  markActiveTile();
}

/** breakable lets a long code wrap after its underscores. */
function breakable(code) {
  return code.split('_').flatMap((part, i) => (i ? ['_', h('wbr'), part] : [part]));
}

/** markActiveTile presses the tile whose filter is the one applied. */
function markActiveTile() {
  for (const li of $('tiles').children) {
    const f = { ...S.emptyFilters(), ...li.filter };
    const same = S.FILTER_NAMES.every((n) => f[n] === state.filters[n]);
    li.querySelector('button').setAttribute('aria-pressed', String(same));
  }
}

// ------------------------------------------------------------- filters

/** buildFilterForm fills the code selects from the schema and shows the filters of the URL. */
function buildFilterForm() {
  const fill = (select, codes) => {
    select.replaceChildren(h('option', { value: '' }, 'Any'), ...codes.map((c) => h('option', { value: c.name }, S.humanize(c.name))));
  };
  fill($('f-blocker'), state.caps.blockerCodes);
  if (state.caps.filterWarning) {
    fill($('f-warning'), state.caps.warningCodes);
    $('warning-field').hidden = false;
  }
  showFilters();
}

/** showFilters puts the applied filters into the form. */
function showFilters() {
  const form = $('filters');
  for (const n of S.FILTER_NAMES) {
    const el = form.elements.namedItem(n);
    if (!el) continue;
    if (el.tagName === 'SELECT' && state.filters[n] && ![...el.options].some((o) => o.value === state.filters[n])) {
      el.append(h('option', { value: state.filters[n] }, state.filters[n])); // not listed (yet)
    }
    el.value = state.filters[n];
  }
}

/** applyFilters shows the first page of the agents that pass filters. */
function applyFilters(filters) {
  state.filters = filters;
  const params = S.filtersToParams(filters).toString();
  history.replaceState(history.state, '', location.pathname + (params ? `?${params}` : ''));
  showFilters();
  markActiveTile();
  state.pager.reset();
  loadPage();
}

/** readForm returns the filters of the form. */
function readForm() {
  const form = $('filters');
  const f = S.emptyFilters();
  for (const n of S.FILTER_NAMES) {
    const el = form.elements.namedItem(n);
    f[n] = el ? el.value.trim() : '';
  }
  return f;
}

let searchTimer = 0;
$('filters').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  if (e.target.name === 'search') {
    searchTimer = setTimeout(() => applyFilters(readForm()), 300);
  } else {
    applyFilters(readForm());
  }
});
$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  applyFilters(readForm());
});
$('filters').addEventListener('reset', (e) => {
  e.preventDefault();
  applyFilters(S.emptyFilters());
});

/**
 * loadOptions fills the queue and capacity profile selects, 100 at a time,
 * up to 1,000 of each (beyond that, the search and the playground remain).
 */
async function loadOptions() {
  const queues = [];
  const profiles = [];
  let vars = { queuesAfter: null, profilesAfter: null, queues: true, profiles: true };
  try {
    for (let i = 0; i < 10 && (vars.queues || vars.profiles); i++) {
      const data = await state.api.query(S.OPTIONS_QUERY, vars);
      if (data.queues) queues.push(...data.queues.nodes);
      if (data.capacityProfiles) profiles.push(...data.capacityProfiles.nodes);
      vars = {
        queuesAfter: data.queues ? data.queues.pageInfo.endCursor : null,
        profilesAfter: data.capacityProfiles ? data.capacityProfiles.pageInfo.endCursor : null,
        queues: Boolean(data.queues && data.queues.pageInfo.hasNextPage),
        profiles: Boolean(data.capacityProfiles && data.capacityProfiles.pageInfo.hasNextPage),
      };
    }
  } catch (err) {
    if (err instanceof APIError && err.code !== 'UNAUTHENTICATED') showProblem(`Queues and capacity profiles could not be listed: ${err.message}`);
    return;
  }
  const fill = (select, items, more, label) => {
    select.replaceChildren(h('option', { value: '' }, 'Any'),
      ...items.map((x) => h('option', { value: x.id }, x.channel && x.channel !== 'VOICE' ? `${x.name} (${x.channel.toLowerCase()})` : x.name)),
      more ? h('option', { disabled: true, value: '-' }, `More ${label} exist than listed here`) : null);
  };
  fill($('f-queueId'), queues, vars.queues, 'queues');
  fill($('f-capacityProfileId'), profiles, vars.profiles, 'capacity profiles');
  showFilters();
}

// ------------------------------------------------------------- agents table

/** loadPage loads the current page of agents; a later call wins over an earlier one. */
async function loadPage() {
  const seq = ++state.pageSeq;
  // Changes that arrive while the page is on its way may be newer than
  // its answer: keep them, renderPage applies the newer ones.
  state.changesDuringLoad = new Map();
  $('agents').setAttribute('aria-busy', 'true');
  let conn;
  try {
    conn = (await state.api.query(S.agentsQuery(state.caps), {
      first: state.pageSize, after: state.pager.after, filter: S.filterInput(state.filters, state.caps),
    })).agents;
  } catch (err) {
    if (seq === state.pageSeq && err instanceof APIError && err.code !== 'UNAUTHENTICATED') showProblem(`The agents could not be loaded: ${err.message}`);
    return;
  } finally {
    if (seq === state.pageSeq) $('agents').setAttribute('aria-busy', 'false');
  }
  if (seq !== state.pageSeq) return;
  showProblem('');
  renderPage(conn);
}

/** renderPage shows a page of agents and the pager. */
function renderPage(conn) {
  const hadFocus = $('rows').contains(document.activeElement);
  state.rows.clear();
  const during = state.changesDuringLoad || new Map();
  state.changesDuringLoad = null;
  const trs = conn.nodes.map((answered) => {
    const newer = during.get(answered.id);
    const agent = newer && newer.callingAbility.version > answered.callingAbility.version ? newer : answered;
    const tr = h('tr', { dataset: { agentId: agent.id } });
    fillRow(tr, agent);
    state.rows.set(agent.id, { agent, tr });
    return tr;
  });
  if (!trs.length) {
    trs.push(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No agent passes these filters.')));
  }
  $('rows').replaceChildren(...trs);
  const from = state.pager.index * state.pageSize + 1;
  const to = from + conn.nodes.length - 1;
  $('page-status').textContent = conn.nodes.length
    ? `Agents ${from.toLocaleString()}–${to.toLocaleString()} of ${conn.totalCount.toLocaleString()}`
    : `No agents of ${conn.totalCount.toLocaleString()}`;
  $('first').disabled = state.pager.index === 0;
  $('previous').disabled = state.pager.index === 0;
  $('next').disabled = !conn.pageInfo.hasNextPage;
  state.endCursor = conn.pageInfo.endCursor;
  if (hadFocus) {
    const first = $('rows').querySelector('.agent-name');
    (first || $('agents-heading')).focus();
  }
}

/** fillRow (re)fills a row with an agent, keeping its name button (and focus). */
function fillRow(tr, agent, { changed = false } = {}) {
  const ab = agent.callingAbility;
  let button = tr.querySelector('.agent-name');
  if (!button) {
    button = h('button', { type: 'button', class: 'agent-name', 'aria-haspopup': 'dialog', onclick: () => openDetail(agent.id, button) });
  }
  button.textContent = agent.name;
  const hadFocus = document.activeElement === button; // moving it blurs it
  const stale = !S.matchesFilters(agent, state.filters);
  const cells = [
    h('th', { scope: 'row' }, button, h('span', { class: 'email' }, agent.email)),
    h('td', {}, ab.canMakeCalls
      ? h('span', { class: 'badge ok' }, 'Can call')
      : h('span', { class: 'badge no' }, 'Cannot call')),
    h('td', {}, reasons(ab), stale ? h('p', { class: 'stale-note' }, 'Changed: no longer passes the filters.') : null),
    h('td', {}, names(agent.queues)),
    h('td', {}, names(agent.capacityProfiles)),
    h('td', { class: 'version' }, h('span', {}, `v${ab.version}`), ' ', time(ab.changedAt)),
  ];
  tr.replaceChildren(...cells);
  if (hadFocus) button.focus();
  tr.dataset.version = String(ab.version);
  tr.dataset.canMakeCalls = String(ab.canMakeCalls);
  tr.classList.toggle('row-stale', stale);
  if (changed) {
    tr.dataset.updatedAt = String(Date.now());
    tr.classList.remove('changed');
    void tr.offsetWidth; // restart the highlight
    tr.classList.add('changed');
  }
}

/** reasons lists the blockers (and warnings) of a blocked agent, or the caller IDs of one who can call. */
function reasons(ab) {
  const items = ab.canMakeCalls
    ? ab.callerIds.map((c) => h('li', { class: 'caller' }, h('span', { class: 'number' }, c.phoneNumber.e164),
      ` ${c.source === 'PERSONAL_NUMBER' ? 'personal' : ''} · ${c.outboundProfile.name}`))
    : ab.blockers.map((b) => h('li', {}, h('span', { class: 'chip blocker' }, b.code),
      b.outboundProfile ? ` ${b.outboundProfile.name}` : ''));
  for (const w of ab.warnings || []) {
    items.push(h('li', {}, h('span', { class: 'chip warning' }, `warning: ${w.code}`)));
  }
  return h('ul', { class: 'reasons' }, items);
}

// keyboard: ↑ ↓ Home End move between the agents' buttons; / goes to search.
$('rows').addEventListener('keydown', (e) => {
  if (!e.target.classList.contains('agent-name')) return;
  const buttons = [...$('rows').querySelectorAll('.agent-name')];
  const i = buttons.indexOf(e.target);
  const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  if (buttons[to]) buttons[to].focus();
});
document.addEventListener('keydown', (e) => {
  const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
  if (e.key === '/' && !typing && !$('app').hidden && !$('detail').open) {
    e.preventDefault();
    $('f-search').focus();
  }
});

$('first').addEventListener('click', () => { state.pager.reset(); loadPage(); });
$('previous').addEventListener('click', () => { if (state.pager.previous()) loadPage(); });
$('next').addEventListener('click', () => { state.pager.next(state.endCursor); loadPage(); });
$('page-size').addEventListener('change', (e) => {
  state.pageSize = Number(e.target.value);
  state.pager.reset();
  loadPage();
});

// ------------------------------------------------------------- live updates

/** subscribe follows every change of calling ability. */
function subscribe() {
  if (state.unsubscribe) state.unsubscribe();
  state.unsubscribe = state.api.subscribe(S.changesSubscription(state.caps), {}, {
    next: (data) => changed(data.callingAbilityChanged.agent),
    ended: (code, message) => {
      if (code === 'UNAUTHENTICATED' || !state.api) return; // signed out
      setLive('reconnecting', `Live updates stopped (${message}); resuming…`);
      setTimeout(() => {
        if (!state.api) return;
        subscribe();
        loadPage();
        scheduleSummary();
      }, 2000);
    },
  });
}

/** changed applies one change: the row on screen, the tiles, the open detail. */
function changed(agent) {
  scheduleSummary();
  if (state.changesDuringLoad) state.changesDuringLoad.set(agent.id, agent);
  if (state.detailId === agent.id) reloadDetail();
  const row = state.rows.get(agent.id);
  if (!row || agent.callingAbility.version <= row.agent.callingAbility.version) return;
  row.agent = agent;
  fillRow(row.tr, agent, { changed: true });
  const ab = agent.callingAbility;
  announce(ab.canMakeCalls
    ? `${agent.name} can call now.`
    : `${agent.name} cannot call: ${ab.blockers.map((b) => S.humanize(b.code)).join(', ')}.`);
}

// ------------------------------------------------------------- agent detail

$('detail-close').addEventListener('click', () => $('detail').close());
// The browser returns focus to the opener when the dialog closes; the
// 'close' event comes a task later, after keys pressed meanwhile may have
// moved on: an arrow to the next agent, or Enter that opened the dialog
// again for another. A close event that finds the dialog open again is
// stale and changes nothing (it would forget the new agent's detail and
// take focus out of the dialog). Otherwise focus is put back only where
// it was lost: on the body (the opener was re-rendered) or in the dialog.
$('detail').addEventListener('close', () => {
  if ($('detail').open) return;
  state.detailId = null;
  const lost = document.activeElement === document.body || $('detail').contains(document.activeElement);
  if (lost && state.detailOpener && state.detailOpener.isConnected) state.detailOpener.focus();
});

/** openDetail shows an agent's detail in a modal dialog. */
function openDetail(id, opener) {
  state.detailId = id;
  state.detailOpener = opener;
  $('detail-name').textContent = opener.textContent;
  $('detail-body').replaceChildren(h('p', {}, 'Loading…'));
  $('detail').showModal();
  reloadDetail();
}

/** reloadDetail (re)loads the open detail. */
async function reloadDetail() {
  const id = state.detailId;
  if (!id) return;
  try {
    const { agent } = await state.api.query(S.detailQuery(state.caps), { id });
    if (state.detailId !== id) return;
    if (!agent) {
      $('detail-body').replaceChildren(h('p', {}, 'This agent no longer exists.'));
      return;
    }
    $('detail-name').textContent = agent.name;
    $('detail-body').replaceChildren(...detailContent(agent));
  } catch (err) {
    if (state.detailId === id) $('detail-body').replaceChildren(h('p', { class: 'problem' }, err.message));
  }
}

/** detailContent returns the sections of an agent's detail. */
function detailContent(agent) {
  const ab = agent.callingAbility;
  const pn = agent.personalNumber;
  const yesNo = (b) => (b ? 'yes' : 'no');
  const out = [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Email'), h('dd', {}, agent.email),
      h('dt', {}, 'Can call'), h('dd', {}, ab.canMakeCalls ? h('span', { class: 'badge ok' }, 'Can call') : h('span', { class: 'badge no' }, 'Cannot call')),
      h('dt', {}, 'Unified routing'), h('dd', {}, agent.unifiedRoutingEnabled ? 'on' : 'off'),
      h('dt', {}, 'Personal number'), h('dd', {}, pn ? `${pn.e164}${pn.label ? ` (${pn.label})` : ''}${pn.canMakeCalls ? '' : ', cannot make calls'}` : 'none'),
      h('dt', {}, 'Ability'), h('dd', {}, `version ${ab.version}, changed `, time(ab.changedAt))),
    h('h3', {}, 'Caller IDs'),
  ];
  if (ab.callerIds.length) {
    out.push(h('table', { class: 'callers' },
      h('caption', { class: 'visually-hidden' }, 'Caller IDs, with the profile that governs calls from each'),
      h('thead', {}, h('tr', {}, ['Number', 'Source', 'Outbound profile', 'Queue', 'Capacity profile', 'Calls at once', 'Reset', 'Block assignment', 'Caller ID name'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ab.callerIds.map((c) => h('tr', {},
        h('td', { class: 'number' }, c.phoneNumber.e164),
        h('td', {}, c.source === 'PERSONAL_NUMBER' ? 'personal number' : 'outbound profile'),
        h('td', {}, c.outboundProfile.name, c.outboundProfile.isDefault ? ' (default)' : ''),
        h('td', {}, c.outboundProfile.queue.name),
        h('td', {}, c.outboundProfile.capacityProfile.name),
        h('td', {}, String(c.workItemLimit)),
        h('td', {}, S.humanize(c.resetFrequency)),
        h('td', {}, yesNo(c.blockAssignment)),
        h('td', {}, c.callerIdName || '—'))))));
  } else {
    out.push(h('p', {}, 'None: this agent cannot call.'));
  }
  out.push(h('h3', {}, 'Blockers'));
  out.push(ab.blockers.length
    ? h('ul', { class: 'messages' }, ab.blockers.map((b) => h('li', {},
      h('span', { class: 'chip blocker' }, b.code), b.outboundProfile ? ` (${b.outboundProfile.name})` : '', h('p', {}, b.message))))
    : h('p', {}, 'None.'));
  if (ab.warnings) {
    out.push(h('h3', {}, 'Warnings'));
    out.push(ab.warnings.length
      ? h('ul', { class: 'messages' }, ab.warnings.map((w) => h('li', {}, h('span', { class: 'chip warning' }, w.code), h('p', {}, w.message))))
      : h('p', {}, 'None.'));
  }
  out.push(h('h3', {}, 'Queues'), h('p', {}, names(agent.queues)));
  out.push(h('h3', {}, 'Capacity profiles'));
  out.push(agent.capacityProfiles.length
    ? h('ul', {}, agent.capacityProfiles.map((c) => h('li', {},
      `${c.name}: ${c.workItemLimit} call${c.workItemLimit === 1 ? '' : 's'} at once, reset ${S.humanize(c.resetFrequency).toLowerCase()}, ${c.blockAssignment ? 'blocks' : 'does not block'} incoming assignments`)))
    : h('p', {}, 'None.'));
  return out;
}

start();
