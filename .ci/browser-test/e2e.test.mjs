// End-to-end test of the pages a newcomer opens: the real server (built
// from this checkout, started with -demo on a new SQLite file), the link
// it prints, and Debian's Chromium driven by playwright-core.
//
//   cd .ci/browser-test && npm ci && npm test
//
// Needs /usr/bin/chromium (apt-get install chromium; CHROMIUM names
// another) and Go. Screenshots go to SCREENSHOT_DIR (default:
// .ci/browser-test/screenshots). Every wait has a deadline; none sleeps.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, 'screenshots'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LAPTOP = { width: 1366, height: 768 };
const WAIT = 15000; // deadline of every wait for the page
const DEMO = ['Aiko Tanaka', 'Ben Okafor', 'Carla Ruiz', 'Dev Patel', 'Emma Schmidt'];

let work; // temporary directory: binary, database, browser profile
let server; // { proc, output, dashboardLink, playgroundLink, base, token }
let browser; // a persistent context on a new, empty user-data-dir

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'outdial-e2e-'));
  mkdirSync(shots, { recursive: true });
  const bin = path.join(work, 'outdial');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: repo, stdio: 'inherit' });
  server = await startServer(bin, path.join(work, 'demo.db'));
  browser = await chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: LAPTOP,
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server.proc);
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * startServer runs the binary as a newcomer does (-demo, a new database,
 * no ADMIN_TOKEN) and reads the sign-in links it prints.
 */
async function startServer(bin, dbFile) {
  const proc = spawnServer(bin, dbFile, '127.0.0.1:0');
  const output = [];
  proc.stderr.on('data', (b) => output.push(String(b)));
  const lines = readline.createInterface({ input: proc.stdout });
  const links = {};
  await deadline(60000, 'the server to print its sign-in links', new Promise((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${output.join('')}`)));
    lines.on('line', (line) => {
      output.push(`${line}\n`);
      const m = /^Open the (dashboard|playground), signed in: (\S+)$/.exec(line);
      if (m) links[m[1]] = m[2];
      if (links.dashboard && links.playground) resolve();
    });
  }));
  const url = new URL(links.dashboard);
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  assert.match(token, /^odt_[A-Za-z0-9_-]{43}$/, 'the link holds the generated token');
  assert.ok(output.join('').includes(`Admin token (shown once, keep it): ${token}`), 'the same token as the one printed');
  return { proc, bin, dbFile, output, dashboardLink: links.dashboard, playgroundLink: links.playground, base: url.origin, token };
}

/** spawnServer starts the binary on dbFile, as a newcomer does: -demo, no ADMIN_TOKEN. */
function spawnServer(bin, dbFile, listen) {
  const env = { ...process.env };
  for (const name of ['ADMIN_TOKEN', 'DATABASE_URL', 'LISTEN_ADDR']) delete env[name];
  return spawn(bin, ['-demo', '-database', `sqlite:${dbFile}`, '-listen', listen], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** stopServer ends the server with SIGTERM (graceful shutdown) and waits for it. */
async function stopServer(proc) {
  if (proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  proc.kill('SIGTERM');
  await deadline(30000, 'the server to stop', exited);
}

/** deadline rejects when promise does not settle within ms. */
function deadline(ms, what, promise) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(timer));
}

/** gql runs a query or mutation through the API, as another client would. */
async function gql(query, variables = {}) {
  const res = await fetch(`${server.base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.deepEqual(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** openPage opens a tab that records script errors and CSP refusals. */
async function openPage() {
  const page = await browser.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Failed requests are reported below, with their address.
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) {
      page.problems.push(`console: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    // 401: the placeholder tests send a token the server does not know.
    if (r.status() >= 400 && r.status() !== 401) page.problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return page;
}

/** axe runs axe-core (WCAG 2.1 A and AA, and best practices) on the page. */
async function axe(page, what) {
  if (!(await page.evaluate(() => Boolean(globalThis.axe)))) {
    await page.evaluate(axeSource); // evaluated by the driver: the page's CSP stays on
  }
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `axe-core found accessibility problems in ${what}`);
  console.log(`axe-core: ${what}: ${result.passes.length} rules passed, 0 violations`);
}

/** rows reads the agents table as a person sees it. */
function rows(page) {
  return page.$$eval('#rows tr[data-agent-id]', (trs) => trs.map((tr) => ({
    id: tr.dataset.agentId,
    name: tr.querySelector('.agent-name').textContent,
    canMakeCalls: tr.dataset.canMakeCalls === 'true',
    version: Number(tr.dataset.version),
    blockers: [...tr.querySelectorAll('.chip.blocker')].map((c) => c.textContent),
    text: tr.innerText,
  })));
}

/** tile returns the figure of the tile with a label (or blocker code). */
function tile(page, key) {
  return page.$eval(`#tiles li[data-key="${key}"] .tile-value`, (el) => el.textContent);
}

/** waitRows waits until the table shows exactly these agent names. */
async function waitRows(page, names) {
  await page.waitForFunction((want) => {
    const got = [...document.querySelectorAll('#rows tr[data-agent-id] .agent-name')].map((b) => b.textContent);
    return JSON.stringify(got) === JSON.stringify(want);
  }, names, { timeout: WAIT });
}

/**
 * waitChange waits until a row shows a version at least `version`, and
 * returns the row and how long after `since` (ms) the page applied it.
 */
async function waitChange(page, id, version, since) {
  await page.waitForFunction(([i, v]) => {
    const tr = document.querySelector(`#rows tr[data-agent-id="${i}"]`);
    return tr && Number(tr.dataset.version) >= v;
  }, [id, version], { timeout: WAIT });
  const updatedAt = Number(await page.$eval(`#rows tr[data-agent-id="${id}"]`, (tr) => tr.dataset.updatedAt));
  const row = (await rows(page)).find((r) => r.id === id);
  return { row, latency: updatedAt - since };
}

test('dashboard: the printed link signs in; demo agents, filters, details, live rows, paging', async () => {
  const page = await openPage();
  await page.goto(server.dashboardLink);
  await waitRows(page, DEMO);

  // Signed in by the link; the token left the address bar for sessionStorage.
  assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('outdial.token')), server.token);
  const cdp = await browser.newCDPSession(page);
  const { entries } = await cdp.send('Page.getNavigationHistory');
  assert.deepEqual(entries.filter((e) => e.url.includes('token=')), [], 'no history entry holds the token');
  await cdp.detach();

  // Every demo agent with the blockers the API reports for it.
  const api = await gql('{ agents { nodes { id name callingAbility { canMakeCalls version blockers { code message } } } } queues { nodes { id name } } }');
  const shown = await rows(page);
  const expected = api.agents.nodes.map((a) => ({
    id: a.id, name: a.name, canMakeCalls: a.callingAbility.canMakeCalls, version: a.callingAbility.version,
    blockers: a.callingAbility.blockers.map((b) => b.code),
  }));
  assert.deepEqual(shown.map(({ text, ...r }) => r), expected);
  assert.deepEqual(shown.map((r) => r.blockers.join()), ['', 'NOT_IN_PROFILE_QUEUE', 'UNIFIED_ROUTING_DISABLED', 'NO_OUTBOUND_PROFILE', 'NO_OUTBOUND_NUMBER']);
  assert.match(shown[0].text, /Can call[\s\S]*\+12065550123[\s\S]*\+14255550100/);
  await page.waitForFunction(() => document.querySelector('#tiles li[data-key="can"] .tile-value')?.textContent === '1', null, { timeout: WAIT });
  assert.equal(await tile(page, 'all'), '5');
  for (const code of ['NOT_IN_PROFILE_QUEUE', 'UNIFIED_ROUTING_DISABLED', 'NO_OUTBOUND_PROFILE', 'NO_OUTBOUND_NUMBER']) {
    assert.equal(await tile(page, `b:${code}`), '1', code);
  }
  assert.equal(await tile(page, 'b:NO_DEFAULT_OUTBOUND_PROFILE'), '0');
  await page.waitForFunction(() => document.getElementById('live').dataset.state === 'live', null, { timeout: WAIT });
  await axe(page, 'the dashboard');
  await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });
  // Readable on a 1366x768 laptop: the tiles share one row, and the five
  // agents are on screen without scrolling.
  const layout = await page.evaluate(() => ({
    tileRows: new Set([...document.querySelectorAll('#tiles > li')].map((li) => li.offsetTop)).size,
    lastRowBottom: document.querySelector('#rows tr:last-child').getBoundingClientRect().bottom,
    height: innerHeight, scrollY,
  }));
  assert.equal(layout.tileRows, 1, 'the tiles share one row');
  assert.ok(layout.scrollY === 0 && layout.lastRowBottom <= layout.height, `the last agent is above the fold: ${JSON.stringify(layout)}`);

  // Keyboard: skip link first; arrows between agents; Enter opens, Esc closes.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to the agents');
  await page.focus('#rows .agent-name');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Ben Okafor');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('detail').open && /NOT_IN_PROFILE_QUEUE/.test(document.getElementById('detail-body').innerText), null, { timeout: WAIT });
  const benDetail = await page.$eval('#detail-body', (el) => el.innerText);
  const benBlocker = api.agents.nodes.find((a) => a.name === 'Ben Okafor').callingAbility.blockers[0];
  assert.ok(benDetail.includes(`NOT_IN_PROFILE_QUEUE (Outbound sales)`) && benDetail.includes(benBlocker.message), `a blocker with its message: ${benDetail}`);
  assert.match(benDetail, /None: this agent cannot call/);
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.getElementById('detail').open), false);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Ben Okafor', 'focus returns to the agent');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#detail-body table.callers tbody tr').length === 2, null, { timeout: WAIT });
  const callers = await page.$$eval('#detail-body table.callers tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(callers, [
    ['+12065550123', 'personal number', 'Outbound sales (default)', 'Outbound sales', 'Outbound voice', '1', 'Immediate', 'yes', 'CONTOSO'],
    ['+14255550100', 'outbound profile', 'Outbound sales (default)', 'Outbound sales', 'Outbound voice', '1', 'Immediate', 'yes', 'CONTOSO'],
  ]);
  await axe(page, 'an agent\'s detail');
  await page.screenshot({ path: path.join(shots, 'dashboard-detail.png') });
  // Closed, and opened for another agent before the 'close' event arrives
  // (keys pressed quickly on a busy machine): the stale event neither
  // forgets the new agent's detail nor takes focus out of the dialog.
  await page.evaluate(() => {
    document.getElementById('detail').close();
    document.querySelectorAll('#rows .agent-name')[1].click();
  });
  await page.waitForFunction(() => document.getElementById('detail').open && /NOT_IN_PROFILE_QUEUE/.test(document.getElementById('detail-body').innerText), null, { timeout: WAIT });
  assert.equal(await page.evaluate(() => document.getElementById('detail').contains(document.activeElement)), true, 'focus stays in the reopened dialog');
  await page.keyboard.press('Escape');

  // Filter by a blocker: only Ben; the filter is in the address.
  await page.selectOption('#f-blocker', 'NOT_IN_PROFILE_QUEUE');
  await waitRows(page, ['Ben Okafor']);
  assert.match(page.url(), /\?blocker=NOT_IN_PROFILE_QUEUE$/);
  assert.equal(await page.$eval('#tiles li[data-key="b:NOT_IN_PROFILE_QUEUE"] button', (b) => b.getAttribute('aria-pressed')), 'true');
  assert.match(await page.$eval('#page-status', (el) => el.textContent), /Agents 1–1 of 1/);

  // A mutation made elsewhere changes the row in place, without a reload.
  await page.evaluate(() => { globalThis.sameDocument = true; });
  const ben = expected.find((a) => a.name === 'Ben Okafor');
  const sales = api.queues.nodes.find((q) => q.name === 'Outbound sales');
  const added = await gql(`mutation($q: ID!, $a: [ID!]!) { addAgentsToQueue(input: {queueId: $q, agentIds: $a}) {
    userErrors { code message } } }`, { q: sales.id, a: [ben.id] });
  const answeredAt = Date.now();
  assert.deepEqual(added.addAgentsToQueue.userErrors, []);
  const first = await waitChange(page, ben.id, ben.version + 1, answeredAt);
  assert.equal(first.row.canMakeCalls, true);
  assert.deepEqual(first.row.blockers, []);
  assert.match(first.row.text, /\+14255550100/);
  assert.match(first.row.text, /no longer passes the filters/);
  assert.equal(await page.evaluate(() => globalThis.sameDocument), true, 'the page was not reloaded');
  await page.waitForFunction(() => document.querySelector('#tiles li[data-key="can"] .tile-value').textContent === '2', null, { timeout: WAIT });
  assert.equal(await tile(page, 'b:NOT_IN_PROFILE_QUEUE'), '0');
  console.log(`live update: Ben Okafor's row changed ${Math.max(0, first.latency)} ms after the mutation's answer`);
  await page.screenshot({ path: path.join(shots, 'dashboard-live.png'), fullPage: true });

  // Unfiltered, another change: Aiko's unified routing off.
  await page.click('button[type="reset"]');
  await waitRows(page, DEMO);
  const aiko = (await rows(page)).find((r) => r.name === 'Aiko Tanaka');
  await gql('mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }', { id: aiko.id });
  const second = await waitChange(page, aiko.id, aiko.version + 1, Date.now());
  assert.deepEqual(second.row.blockers, ['UNIFIED_ROUTING_DISABLED']);
  assert.equal(second.row.canMakeCalls, false);
  assert.equal(await page.evaluate(() => globalThis.sameDocument), true, 'the page was not reloaded');
  console.log(`live update: Aiko Tanaka's row changed ${Math.max(0, second.latency)} ms after the mutation's answer`);

  // Paging by cursor over 65 agents, 25 at a time, forward and back.
  const more = Array.from({ length: 60 }, (_, i) => ({ name: `Paging Agent ${String(i + 1).padStart(2, '0')}`, email: `paging${i + 1}@example.com` }));
  const up = await gql('mutation($a: [CreateAgentInput!]!) { upsertAgents(input: {agents: $a}) { userErrors { code message } } }', { a: more });
  assert.deepEqual(up.upsertAgents.userErrors, []);
  const pages = [];
  for (let after = null, i = 0; i < 3; i++) {
    const { agents } = await gql('query($after: String) { agents(first: 25, after: $after) { pageInfo { endCursor } nodes { name } } }', { after });
    pages.push(agents.nodes.map((a) => a.name));
    after = agents.pageInfo.endCursor;
  }
  await page.selectOption('#page-size', '25');
  await waitRows(page, pages[0]);
  assert.match(await page.$eval('#page-status', (el) => el.textContent), /Agents 1–25 of 65/);
  await page.click('#next');
  await waitRows(page, pages[1]);
  await page.click('#next');
  await waitRows(page, pages[2]);
  assert.match(await page.$eval('#page-status', (el) => el.textContent), /Agents 51–65 of 65/);
  assert.equal(await page.$eval('#next', (b) => b.disabled), true);
  await page.click('#previous');
  await waitRows(page, pages[1]);
  assert.match(await page.$eval('#page-status', (el) => el.textContent), /Agents 26–50 of 65/);

  // Search, from the keyboard.
  await page.click('#first');
  await waitRows(page, pages[0]);
  await page.keyboard.press('/');
  await page.keyboard.type('paging agent 07');
  await waitRows(page, ['Paging Agent 07']);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('dashboard: without a token, a form that explains a placeholder', async () => {
  const page = await openPage();
  await page.goto(`${server.base}/dashboard#token=odt_%E2%80%A6`);
  await page.waitForFunction(() => !document.getElementById('signin').hidden, null, { timeout: WAIT });
  assert.match(await page.$eval('#signin-problem', (el) => el.textContent), /“odt_…” is a placeholder, not a token/);
  assert.equal(new URL(page.url()).hash, '');
  await axe(page, 'the sign-in form');
  await page.fill('#token', 'odt_...');
  await page.press('#token', 'Enter');
  await page.waitForFunction(() => /placeholder, not a token: the server does not know it/.test(document.getElementById('signin-problem').textContent), null, { timeout: WAIT });
  await page.fill('#token', server.token);
  await page.press('#token', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#rows tr[data-agent-id]').length > 0, null, { timeout: WAIT });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('dashboard: an AGENT token sees its own agent, without the organisation\'s figures', async () => {
  const { agent } = await gql('{ agent(email: "ben.okafor@example.com") { id callingAbility { canMakeCalls } } }');
  const made = await gql('mutation($a: ID!) { createApiToken(input: {name: "ben-dashboard", role: AGENT, agentId: $a}) { token userErrors { code } } }', { a: agent.id });
  const page = await openPage();
  await page.goto(`${server.base}/dashboard#token=${made.createApiToken.token}`);
  await waitRows(page, ['Ben Okafor']);
  assert.equal(await page.$eval('#summary', (el) => el.hidden), true);
  assert.equal(await page.$eval('#agent-scope', (el) => el.hidden), false);
  assert.equal(await page.$eval('#f-queueId', (el) => el.checkVisibility()), false);
  await page.click('#rows .agent-name');
  await page.waitForFunction(() => document.getElementById('detail').open && !/Loading/.test(document.getElementById('detail-body').innerText), null, { timeout: WAIT });
  assert.doesNotMatch(await page.$eval('#detail-body', (el) => el.innerText), /FORBIDDEN|may not|only its own/i);
  assert.equal(await page.$$eval('#detail-body table.callers tbody tr', (trs) => trs.length), agent.callingAbility.canMakeCalls ? 1 : 0);
  await page.keyboard.press('Escape');
  assert.equal(await page.$eval('#problem', (el) => el.hidden), true, await page.$eval('#problem', (el) => el.textContent));
  await page.waitForFunction(() => document.getElementById('live').dataset.state === 'live', null, { timeout: WAIT });
  assert.deepEqual(page.problems, []);
  await page.close();
});

/** headersEditor returns the CodeMirror of GraphiQL's Headers tab. */
function headersEditor(page) {
  return page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').last();
}

/** pasteHeaders replaces the Headers tab's text, as a paste does. */
async function pasteHeaders(page, text) {
  await headersEditor(page).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

/** waitDocs opens the Docs pane and waits until it shows the schema's root types. */
async function waitDocs(page) {
  const show = page.getByRole('button', { name: 'Show Documentation Explorer' });
  if (await show.count()) await show.click();
  await page.waitForFunction(() => {
    const docs = document.querySelector('.graphiql-doc-explorer');
    return docs && /Root Types/.test(docs.innerText) && /mutation/.test(docs.innerText);
  }, null, { timeout: WAIT });
  assert.doesNotMatch(await page.$eval('.graphiql-doc-explorer', (el) => el.innerText), /Error fetching schema/);
}

test('playground: the printed link signs in; Docs, autocompletion and a query work', async () => {
  const page = await openPage();
  await page.goto(server.playgroundLink);
  // It opens on the Docs pane, loaded, without a click.
  await page.waitForFunction(() => /Root Types/.test(document.querySelector('.graphiql-doc-explorer')?.innerText ?? ''), null, { timeout: WAIT });
  await waitDocs(page);
  assert.equal(new URL(page.url()).hash, '');
  assert.match(await headersEditor(page).innerText(), /"Authorization": "Bearer odt_/);

  // The default query runs with the token.
  await page.locator('.graphiql-query-editor .CodeMirror').click();
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => /"name":\s*"Aiko Tanaka"/.test(document.querySelector('.result-window')?.innerText ?? ''), null, { timeout: WAIT });
  await page.screenshot({ path: path.join(shots, 'playground.png') });

  // Autocompletion from the fetched schema.
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('{ callingSu');
  await page.waitForFunction(() => [...document.querySelectorAll('.CodeMirror-hints li')].some((li) => /callingSummary/.test(li.textContent)), null, { timeout: WAIT });
  await page.keyboard.press('Escape');

  // The Docs pane is the API's documentation: a mutation says what it does.
  await page.locator('.graphiql-doc-explorer a', { hasText: /^Mutation$/ }).first().click();
  await page.locator('.graphiql-doc-explorer a', { hasText: /^upgradeCallingPlan$/ }).first().click();
  await page.waitForFunction(() => /Add capabilities to a number's calling plan; those it has are kept/.test(document.querySelector('.graphiql-doc-explorer')?.innerText ?? ''), null, { timeout: WAIT });
  await page.screenshot({ path: path.join(shots, 'playground-docs.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('playground: a placeholder is explained, a pasted token loads the schema at once', async () => {
  const page = await openPage();
  await page.goto(`${server.base}/`);
  // No token in this new tab: the default header is a placeholder.
  await page.waitForFunction(() => /placeholder, not a token/.test(document.getElementById('notice').textContent), null, { timeout: WAIT });
  // The Docs pane waits for a token rather than open on "Error fetching schema".
  assert.equal(await page.locator('.graphiql-doc-explorer').count(), 0, 'no Docs pane without a token');

  // The README's literal placeholder, with its non-ASCII ellipsis.
  await pasteHeaders(page, '{"Authorization": "Bearer odt_…"}');
  await page.waitForFunction(() => /“odt_…” is a placeholder, not a token/.test(document.getElementById('notice').textContent), null, { timeout: WAIT });
  await page.screenshot({ path: path.join(shots, 'playground-placeholder.png') });

  // The real token: the schema is fetched again, without a click.
  await pasteHeaders(page, `{"Authorization": "Bearer ${server.token}"}`);
  // The Docs pane opens by itself, loaded.
  await page.waitForFunction(() => /Root Types/.test(document.querySelector('.graphiql-doc-explorer')?.innerText ?? ''), null, { timeout: WAIT });
  await waitDocs(page);
  assert.match(await page.$eval('#notice', (el) => el.textContent), /Token set/);
  await page.locator('.graphiql-query-editor .CodeMirror').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('{ webhookDeliv');
  await page.waitForFunction(() => [...document.querySelectorAll('.CodeMirror-hints li')].some((li) => /webhookDeliveries/.test(li.textContent)), null, { timeout: WAIT });
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('outdial.token')), server.token);
  assert.deepEqual(page.problems.filter((p) => !/ISO-8859-1/.test(p)), []);
  assert.deepEqual(page.problems, [], 'no ISO-8859-1 error: nothing non-ASCII was put in a header');
  await page.close();
});

test('dashboard: after a server restart it reconnects and shows what changed meanwhile', async () => {
  const page = await openPage();
  await page.goto(server.dashboardLink);
  await page.waitForFunction(() => document.getElementById('live').dataset.state === 'live', null, { timeout: WAIT });
  await page.fill('#f-search', 'Ben Okafor');
  await waitRows(page, ['Ben Okafor']);
  const [ben] = await rows(page);
  await page.evaluate(() => { globalThis.sameDocument = true; });

  await stopServer(server.proc);
  await page.waitForFunction(() => document.getElementById('live').dataset.state !== 'live', null, { timeout: WAIT });
  console.log(`while the server is down: ${await page.$eval('#live', (el) => el.textContent)}`);
  const restarted = spawnServer(server.bin, server.dbFile, new URL(server.base).host);
  server.proc = restarted;
  restarted.stdout.resume(); // read, so that it never blocks on a full pipe
  restarted.stderr.resume();
  const up = async () => { try { return (await fetch(`${server.base}/readyz`)).ok; } catch { return false; } };
  for (const until = Date.now() + 30000; !(await up());) {
    assert.ok(Date.now() < until, 'the server is ready again within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Changed at once: the dashboard may not be connected again yet; either
  // the event or the reload on reconnection must bring it.
  await gql('mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }', { id: ben.id });
  const { row } = await waitChange(page, ben.id, ben.version + 1, Date.now());
  assert.deepEqual(row.blockers, ['UNIFIED_ROUTING_DISABLED']);
  await page.waitForFunction(() => document.getElementById('live').dataset.state === 'live', null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => globalThis.sameDocument), true, 'the page was not reloaded');
  assert.equal(await page.$eval('#problem', (el) => el.hidden), true, 'no problem is left on screen');
  await page.close();
});
