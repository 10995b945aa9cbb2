// The dashboard's GraphQL documents, built from what the server's schema
// offers. One introspection query at start tells which blocker codes exist,
// and whether warnings do (CallingSummary.warnings, CallingAbility.warnings,
// AgentFilter.warning); the documents ask for warnings only where they
// exist, so the dashboard works with servers that have them and servers
// that do not, and shows a tile and a filter per code the server lists.
//
// Pure functions of plain data: Node's test runner runs them too.

/** INTROSPECTION asks what the dashboard adapts to; absent types are null. */
export const INTROSPECTION = `query DashboardSchema {
  blockerCodes: __type(name: "CallingBlockerCode") { enumValues { name description } }
  warningCodes: __type(name: "CallingWarningCode") { enumValues { name description } }
  summary: __type(name: "CallingSummary") { fields { name } }
  ability: __type(name: "CallingAbility") { fields { name } }
  filter: __type(name: "AgentFilter") { inputFields { name } }
}`;

/**
 * @typedef {{name: string, description: string|null}} Code
 * @typedef {{blockerCodes: Code[], warningCodes: Code[], summaryWarnings: boolean,
 *   abilityWarnings: boolean, filterWarning: boolean}} Capabilities
 */

/**
 * capabilities reads the answer to INTROSPECTION.
 * @returns {Capabilities}
 */
export function capabilities(data) {
  const codes = (t) => (t && Array.isArray(t.enumValues) ? t.enumValues.map((v) => ({ name: v.name, description: v.description ?? null })) : []);
  const has = (list, name) => Array.isArray(list) && list.some((f) => f.name === name);
  const warningCodes = codes(data && data.warningCodes);
  return {
    blockerCodes: codes(data && data.blockerCodes),
    warningCodes,
    summaryWarnings: warningCodes.length > 0 && has(data.summary && data.summary.fields, 'warnings'),
    abilityWarnings: warningCodes.length > 0 && has(data.ability && data.ability.fields, 'warnings'),
    filterWarning: warningCodes.length > 0 && has(data.filter && data.filter.inputFields, 'warning'),
  };
}

/** summaryQuery returns the query of the tiles. */
export function summaryQuery(caps) {
  return `query DashboardSummary {
  callingSummary {
    agents
    agentsCanMakeCalls
    blockers { code agents }${caps.summaryWarnings ? '\n    warnings { code agents }' : ''}
  }
}`;
}

/** rowFields is what a table row shows of an agent (also the subscription's). */
function rowFields(caps) {
  return `id name email unifiedRoutingEnabled
    queues { id name }
    capacityProfiles { id name }
    callingAbility {
      version canMakeCalls changedAt
      callerIds { phoneNumber { e164 } source outboundProfile { id name } }
      blockers { code outboundProfile { id name } }${caps.abilityWarnings ? '\n      warnings { code }' : ''}
    }`;
}

/** agentsQuery returns the query of one page of the agents table. */
export function agentsQuery(caps) {
  return `query DashboardAgents($first: Int!, $after: String, $filter: AgentFilter) {
  agents(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      ${rowFields(caps)}
    }
  }
}`;
}

/** changesSubscription returns the subscription of live row updates. */
export function changesSubscription(caps) {
  return `subscription DashboardChanges {
  callingAbilityChanged {
    agent {
      ${rowFields(caps)}
    }
  }
}`;
}

/** detailQuery returns the query of one agent's detail. */
export function detailQuery(caps) {
  return `query DashboardAgent($id: ID!) {
  agent(id: $id) {
    id name email unifiedRoutingEnabled createdAt
    personalNumber { e164 label canMakeCalls }
    queues { id name channel }
    capacityProfiles { id name workItemLimit resetFrequency blockAssignment }
    callingAbility {
      version canMakeCalls changedAt
      callerIds {
        phoneNumber { e164 label }
        source callerIdName workItemLimit resetFrequency blockAssignment
        outboundProfile { id name isDefault queue { name } capacityProfile { name } }
      }
      blockers { code message outboundProfile { id name } }${caps.abilityWarnings ? '\n      warnings { code message }' : ''}
    }
  }
}`;
}

/** OPTIONS_QUERY lists queues and capacity profiles, a page at a time. */
export const OPTIONS_QUERY = `query DashboardOptions($queuesAfter: String, $profilesAfter: String, $queues: Boolean!, $profiles: Boolean!) {
  queues(first: 100, after: $queuesAfter) @include(if: $queues) { pageInfo { hasNextPage endCursor } nodes { id name channel } }
  capacityProfiles(first: 100, after: $profilesAfter) @include(if: $profiles) { pageInfo { hasNextPage endCursor } nodes { id name } }
}`;

/** VIEWER_QUERY checks a token and says whose it is. */
export const VIEWER_QUERY = 'query DashboardViewer { viewer { role token { name } agent { name } } }';

/**
 * @typedef {{search: string, canMakeCalls: string, blocker: string, warning: string,
 *   queueId: string, capacityProfileId: string}} Filters
 * Every value is a string, "" meaning "any", as in the form and the URL.
 */

/** FILTER_NAMES are the filters, in the order of the form and the URL. */
export const FILTER_NAMES = ['search', 'canMakeCalls', 'blocker', 'warning', 'queueId', 'capacityProfileId'];

/** emptyFilters returns filters that let every agent through. */
export function emptyFilters() {
  return Object.fromEntries(FILTER_NAMES.map((n) => [n, '']));
}

/** filtersFromParams reads filters from URL search parameters. */
export function filtersFromParams(params) {
  const f = emptyFilters();
  for (const n of FILTER_NAMES) {
    f[n] = (params.get(n) ?? '').trim();
  }
  if (f.canMakeCalls !== 'true' && f.canMakeCalls !== 'false') {
    f.canMakeCalls = '';
  }
  return f;
}

/** filtersToParams writes the filters that are set to URL search parameters. */
export function filtersToParams(filters) {
  const p = new URLSearchParams();
  for (const n of FILTER_NAMES) {
    if (filters[n]) {
      p.set(n, filters[n]);
    }
  }
  return p;
}

/**
 * filterInput returns the AgentFilter of the filters, or null when none is
 * set. A warning filter is left out where the server has none.
 */
export function filterInput(filters, caps) {
  const f = {};
  if (filters.search) f.search = filters.search;
  if (filters.canMakeCalls) f.canMakeCalls = filters.canMakeCalls === 'true';
  if (filters.blocker) f.blocker = filters.blocker;
  if (filters.warning && caps.filterWarning) f.warning = filters.warning;
  if (filters.queueId) f.queueId = filters.queueId;
  if (filters.capacityProfileId) f.capacityProfileId = filters.capacityProfileId;
  return Object.keys(f).length ? f : null;
}

/**
 * matchesFilters tells whether an agent (as rowFields selects it) still
 * passes the filters, so that a row that a live change took out of the
 * filtered list can say so instead of vanishing under the reader's eyes.
 * Search is matched like the server does: a case-insensitive substring of
 * the name or the email.
 */
export function matchesFilters(agent, filters) {
  const ability = agent.callingAbility || {};
  if (filters.canMakeCalls && String(Boolean(ability.canMakeCalls)) !== filters.canMakeCalls) return false;
  if (filters.blocker && !(ability.blockers || []).some((b) => b.code === filters.blocker)) return false;
  if (filters.warning && ability.warnings && !ability.warnings.some((w) => w.code === filters.warning)) return false;
  if (filters.queueId && !(agent.queues || []).some((q) => q.id === filters.queueId)) return false;
  if (filters.capacityProfileId && !(agent.capacityProfiles || []).some((c) => c.id === filters.capacityProfileId)) return false;
  if (filters.search) {
    const s = filters.search.toLowerCase();
    if (!`${agent.name}`.toLowerCase().includes(s) && !`${agent.email}`.toLowerCase().includes(s)) return false;
  }
  return true;
}

/** humanize turns NOT_IN_PROFILE_QUEUE into "Not in profile queue". */
export function humanize(code) {
  const s = String(code).toLowerCase().replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Pager keeps the cursors of forward-only (keyset) paging: the API pages
 * with first/after, so going back means remembering where each page
 * started. It costs the same on page 1 and page 2,000 of 100,000 agents.
 */
export class Pager {
  constructor() {
    this.reset();
  }

  /** reset goes back to the first page. */
  reset() {
    this.starts = [null];
  }

  /** after is the cursor the current page starts after (null: the first page). */
  get after() {
    return this.starts[this.starts.length - 1];
  }

  /** index is the 0-based number of the current page. */
  get index() {
    return this.starts.length - 1;
  }

  /** next moves to the page after endCursor. */
  next(endCursor) {
    this.starts.push(endCursor);
  }

  /** previous moves one page back; false on the first page. */
  previous() {
    if (this.starts.length === 1) return false;
    this.starts.pop();
    return true;
  }
}
