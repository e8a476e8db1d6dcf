// bench/events.py's load generator: tracking events POSTed to personagraph's collector (/v1/batch)
// from its own Node process, every answer checked.
//
//   node batchload.mjs job.json out.json
//
// job.json: {url, clients, batch (events per request), duration (s), warmup (s), seed, timeoutMs,
//            prefix, users: [ids], skus: [skus], events: [track event names], rate (events/s, optional)}.
// With `rate`, the clients together send at most that many events a second (each paces its own share);
// without, as fast as they are answered.
// Each of `clients` workers sends its next batch when the last is answered (one keep-alive connection
// each). Every event gets a new messageId (prefix + worker + counter), a user and product drawn at random
// (seeded) and a time drawn from the 24 hours before it is sent (a shop's traffic comes at every hour of
// the day: stamped all with the moment of the run, a run at night made every user a night owl, and the
// result depended on the hour the bench ran). Runs for warmup + duration seconds or until SIGTERM/SIGINT, then waits
// for the requests in flight and writes out.json:
//   {requests, events: {sent, acked}, latencies (ms, measured part only), errors: {code: n},
//    measured: {requests, acked, seconds}, acked: [messageIds], startedAt/measuredFrom/endedAt (epoch ms)}.
// A request is an error when it is not 2xx, is not JSON, or its answer does not accept every event of
// the batch (accepted + duplicates < batch, or any rejected); a socket error or timeout is one too.
// With BENCH_AUTHORIZATION set (e.g. "Bearer pg_..."), every request carries it.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { poster, rng } from "./client.mjs";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const DAY_MS = 24 * 3600 * 1000;
const outPath = process.argv[3];
const post = poster(job.url, {
  clients: job.clients,
  timeoutMs: job.timeoutMs,
  authorization: process.env.BENCH_AUTHORIZATION,
});

const startedAt = Date.now();
const measuredFrom = startedAt + job.warmup * 1000;
const endAt = measuredFrom + job.duration * 1000;
let stopping = false;
process.on("SIGTERM", () => (stopping = true));
process.on("SIGINT", () => (stopping = true));

const out = {
  requests: 0,
  events: { sent: 0, acked: 0 },
  latencies: [],
  errors: {},
  errorSamples: [],
  measured: { requests: 0, acked: 0 },
  acked: [],
};

function error(code, sample) {
  out.errors[code] = (out.errors[code] || 0) + 1;
  if (out.errorSamples.length < 10) out.errorSamples.push({ code, sample: String(sample).slice(0, 300) });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(n) {
  const random = rng(job.seed * 1000 + n);
  const everyMs = job.rate ? (1000 * job.batch * job.clients) / job.rate : 0;
  let next = Date.now() + (everyMs * n) / job.clients;
  let counter = 0;
  while (!stopping && Date.now() < endAt) {
    if (everyMs) {
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      next += everyMs;
    }
    const ids = [];
    const batch = [];
    const now = Date.now();
    for (let i = 0; i < job.batch; i++) {
      const messageId = `${job.prefix}${n}-${counter++}`;
      ids.push(messageId);
      batch.push({
        messageId,
        type: "track",
        event: job.events[Math.floor(random() * job.events.length)],
        userId: job.users[Math.floor(random() * job.users.length)],
        timestamp: new Date(now - Math.floor(random() * DAY_MS)).toISOString(),
        properties: { sku: job.skus[Math.floor(random() * job.skus.length)] },
      });
    }
    const started = performance.now();
    const sentAt = Date.now();
    const answer = await post(JSON.stringify({ batch }));
    const ms = performance.now() - started;
    out.requests++;
    out.events.sent += ids.length;
    const measured = sentAt >= measuredFrom;
    if (answer.status === 0) {
      error(`socket:${answer.error}`, answer.error);
      continue;
    }
    if (answer.status < 200 || answer.status > 299) {
      error(`HTTP ${answer.status}`, answer.text);
      continue;
    }
    let body;
    try {
      body = JSON.parse(answer.text);
    } catch {
      error("not JSON", answer.text);
      continue;
    }
    if ((body.rejected || []).length || body.accepted + body.duplicates < ids.length) {
      error("not all accepted", answer.text);
      continue;
    }
    out.events.acked += ids.length;
    out.acked.push(...ids);
    if (measured) {
      out.latencies.push(Math.round(ms * 10) / 10);
      out.measured.requests++;
      out.measured.acked += ids.length;
    }
  }
}

await Promise.all(Array.from({ length: job.clients }, (_, n) => worker(n)));
out.startedAt = startedAt;
out.measuredFrom = measuredFrom;
out.endedAt = Date.now();
out.measured.seconds = (Math.min(out.endedAt, endAt) - measuredFrom) / 1000;
writeFileSync(outPath, JSON.stringify(out));
post.close();
