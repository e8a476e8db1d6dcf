#!/usr/bin/env node
// Runs graphql-http's server audits (GraphQL-over-HTTP spec conformance) against a live endpoint.
//
//   node tools/graphql-http-audit/audit.mjs http://127.0.0.1:8000/graphql
//
// stdout: one JSON document {url, summary, results}; each result has id, name, level
//         (MUST/SHOULD/MAY), status ("ok", or "error"/"warn"/"notice" for a failed
//         MUST/SHOULD/MAY) and, when failed, reason and the response's status, content type and body.
// stderr: one human-readable line per audit.
// exit:   0 when every MUST audit passed, 1 when any failed, 2 on bad usage or a fatal error.
// env:    AUDIT_AUTHORIZATION, when set, is sent as the Authorization header of every request
//         (personagraph answers 401 without credentials).
import { serverAudits } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 10_000;
const BODY_EXCERPT_CHARS = 500;

function usage(message) {
  process.stderr.write(`${message}\nusage: node audit.mjs <graphql endpoint URL>\n`);
  process.exit(2);
}

/** fetch with a per-request timeout, so a hung server fails the run instead of stalling it. */
function fetchWithTimeout(input, init = {}) {
  const headers = new Headers(init.headers);
  if (process.env.AUDIT_AUTHORIZATION) headers.set('authorization', process.env.AUDIT_AUTHORIZATION);
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

async function describeResponse(res) {
  if (!res) return null;
  let body = null;
  if (!res.bodyUsed) {
    try {
      body = (await res.text()).slice(0, BODY_EXCERPT_CHARS);
    } catch {
      body = null;
    }
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body };
}

async function main() {
  const url = process.argv[2];
  if (!url) usage('missing the endpoint URL');
  try {
    new URL(url);
  } catch {
    usage(`not a URL: ${url}`);
  }

  const results = [];
  for (const { id, name, fn } of serverAudits({ url, fetchFn: fetchWithTimeout })) {
    const level = name.split(' ', 1)[0];
    const result = await fn(); // throws only on fatal errors (e.g. the server is unreachable)
    const entry = { id, name, level, status: result.status };
    if (result.status !== 'ok') {
      entry.reason = result.reason;
      entry.response = await describeResponse(result.response);
    }
    results.push(entry);
    const mark = result.status === 'ok' ? 'ok  ' : result.status.toUpperCase().padEnd(4);
    process.stderr.write(`${mark} [${id}] ${name}${entry.reason ? ` -- ${entry.reason}` : ''}\n`);
  }

  const summary = {};
  for (const { level, status } of results) {
    summary[level] ??= { ok: 0, failed: 0 };
    summary[level][status === 'ok' ? 'ok' : 'failed'] += 1;
  }
  process.stdout.write(`${JSON.stringify({ url, summary, results }, null, 2)}\n`);
  process.stderr.write(
    Object.entries(summary)
      .map(([level, { ok, failed }]) => `${level}: ${ok} ok, ${failed} failed`)
      .join('; ') + '\n',
  );
  process.exit(summary.MUST?.failed ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`audit aborted: ${err?.stack ?? err}\n`);
  process.exit(2);
});
