// Runs the GraphQL-over-HTTP audits of the graphql-http package against a
// running Outdial server and prints every result.
//
// Usage: OUTDIAL_TOKEN=<admin token> node audit.mjs http://127.0.0.1:8080/graphql
//
// Every request carries "Authorization: Bearer $OUTDIAL_TOKEN" (Outdial
// answers 401 before any operation without it). Exits 0 only when every
// audit is ok: a failed MUST (error), SHOULD (warn) or MAY (notice) fails.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const token = process.env.OUTDIAL_TOKEN;
if (!url || !token) {
  console.error('usage: OUTDIAL_TOKEN=<admin token> node audit.mjs <graphql URL>');
  process.exit(2);
}

// authFetch is fetch with the bearer token added to every request.
function authFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

// describe returns what the server answered, as far as it can still be read.
async function describe(res) {
  if (!res) return '';
  let body = '';
  try {
    body = (await res.text()).slice(0, 300);
  } catch {
    body = '(body already read by the audit)';
  }
  return `HTTP ${res.status} ${res.headers.get('content-type') ?? '(no content-type)'} ${body}`;
}

const results = await auditServer({ url, fetchFn: authFetch });
const counts = { ok: 0, warn: 0, error: 0, notice: 0 };
for (const r of results) {
  counts[r.status]++;
  const line = `${r.status.padEnd(6)} ${r.id} ${r.name}`;
  if (r.status === 'ok') {
    console.log(line);
  } else {
    console.log(`${line}\n         reason: ${r.reason}\n         answer: ${await describe(r.response)}`);
  }
}
console.log(
  `graphql-http audit: ${results.length} audits: ${counts.ok} ok, ${counts.warn} warn, ` +
    `${counts.error} error, ${counts.notice} notice`,
);
process.exit(results.length > 0 && counts.ok === results.length ? 0 : 1);
