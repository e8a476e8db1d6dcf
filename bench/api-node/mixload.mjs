// bench/load.py's and bench/faults.py's load generator: a mix of GraphQL operations against one
// endpoint, from its own Node process, with every response's body checked.
//
//   node mixload.mjs job.json out.json
//
// job.json: {url, clients, duration (s), warmup (s), seed, timeoutMs, timeline (bool),
//            mix: {op: weight}, bodies: {op: [JSON request bodies, cycled through]},
//            event: {query, prefix, users: [ids], skus: [skus], kinds: [EventKind]}}.
// The op "recordEvent" is built here: each request gets a new eventId (prefix + a counter), so the
// bench can look every acknowledged event up in Neo4j afterwards. `clients` workers each send their
// next request when the last one is answered (one keep-alive connection each), choosing the operation
// at random by weight (seeded). Runs for `duration` seconds or until SIGTERM/SIGINT, then waits for the
// requests in flight and writes out.json:
//   ops: {op: {latencies (ms, measured part only), errors: {code: n}, requests, warmup: {requests, errors}}}
//   events: {sent, acked, notNew, failed: {eventId: code}}, errorSamples, startedAt/measuredFrom/endedAt
//   (epoch ms), and with `timeline` every response as [startEpochMs, op, ok (0/1), code, latencyMs].
// A response is an error when it is not 2xx, has GraphQL "errors", is not JSON, or (recordEvent) does
// not echo the eventId; a socket error or timeout is an error too (code "socket:<code>").
// With BENCH_AUTHORIZATION set (e.g. "Bearer pg_..."), every request carries it as its Authorization
// header: personagraph answers 401 to requests without credentials.
import { writeFileSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { poster, rng } from "./client.mjs";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const outPath = process.argv[3];
const post = poster(job.url, {
  clients: job.clients,
  timeoutMs: job.timeoutMs,
  authorization: process.env.BENCH_AUTHORIZATION,
});

const ops = Object.keys(job.mix).filter((op) => job.mix[op] > 0);
const total = ops.reduce((s, op) => s + job.mix[op], 0);
const stats = Object.fromEntries(
  ops.map((op) => [op, { latencies: [], errors: {}, requests: 0, warmup: { requests: 0, errors: 0 } }]),
);
const cursor = Object.fromEntries(ops.map((op) => [op, 0]));
const events = { sent: [], acked: [], notNew: [], failed: {} };
const errorSamples = [];
const timeline = [];
let eventCounter = 0;

function choose(random) {
  let x = random() * total;
  for (const op of ops) {
    x -= job.mix[op];
    if (x < 0) return op;
  }
  return ops[ops.length - 1];
}

function build(op, random) {
  if (op !== "recordEvent") {
    const pool = job.bodies[op];
    return { body: pool[cursor[op]++ % pool.length] };
  }
  const e = job.event;
  const eventId = `${e.prefix}${++eventCounter}`;
  const input = {
    userId: e.users[Math.floor(random() * e.users.length)],
    kind: e.kinds[Math.floor(random() * e.kinds.length)],
    at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    target: e.skus[Math.floor(random() * e.skus.length)],
    eventId,
  };
  return { body: JSON.stringify({ query: e.query, variables: { e: input } }), eventId };
}

// The error code of one response, or null when it is a success.
function judge(op, reply, eventId) {
  if (reply.status === 0) return `socket:${reply.error}`;
  let parsed;
  try {
    parsed = JSON.parse(reply.text);
  } catch {
    return `HTTP ${reply.status} (not JSON)`;
  }
  if (parsed.errors) {
    const code = parsed.errors[0]?.extensions?.code ?? "NO_CODE";
    return reply.status >= 200 && reply.status <= 299 ? code : `HTTP ${reply.status} ${code}`;
  }
  if (reply.status < 200 || reply.status > 299) return `HTTP ${reply.status}`;
  if (parsed.data == null) return "NO_DATA";
  if (op === "recordEvent") {
    const done = parsed.data.recordEvent;
    if (!done || done.eventKey !== eventId) return "EVENT_KEY_MISMATCH";
    if (done.new !== true) events.notNew.push(eventId);
  }
  return null;
}

const startedAt = Date.now();
const measuredFrom = startedAt + job.warmup * 1000;
const deadline = startedAt + (job.warmup + job.duration) * 1000;
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => (stopping = true));

async function worker(index) {
  const random = rng(job.seed * 1000 + index);
  while (!stopping && Date.now() < deadline) {
    const op = choose(random);
    const { body, eventId } = build(op, random);
    if (eventId) events.sent.push(eventId);
    const begin = Date.now();
    const t0 = performance.now();
    const reply = await post(body);
    const ms = performance.now() - t0;
    const code = judge(op, reply, eventId);
    if (eventId) {
      if (code === null) events.acked.push(eventId);
      else events.failed[eventId] = code;
    }
    const s = stats[op];
    if (begin < measuredFrom) {
      s.warmup.requests += 1;
      if (code !== null) s.warmup.errors += 1;
    } else {
      s.requests += 1;
      s.latencies.push(Math.round(ms * 1000) / 1000);
      if (code !== null) s.errors[code] = (s.errors[code] ?? 0) + 1;
    }
    if (code !== null && errorSamples.length < 5) {
      errorSamples.push(`${op}: ${code}: ${(reply.text ?? reply.error ?? "").slice(0, 300)}`);
    }
    if (job.timeline) timeline.push([begin, op, code === null ? 1 : 0, code, Math.round(ms * 10) / 10]);
  }
}

await Promise.all(Array.from({ length: job.clients }, (_, i) => worker(i)));
const endedAt = Date.now();
post.close();
writeFileSync(
  outPath,
  JSON.stringify({ startedAt, measuredFrom, endedAt, ops: stats, events, errorSamples, timeline }),
);
