// bench/api.py's load generator: autocannon driving one GraphQL endpoint, outside both servers.
//
//   node loadgen.mjs job.json
//
// job.json: {url, bodies: [JSON strings, cycled through], connections, duration (s)}.
// Prints one JSON object: counts, duration and every response's latency in ms (autocannon's own
// histogram has 1 ms buckets, too coarse for single-digit latencies, so the times are taken from its
// per-response event, which has sub-millisecond precision). A response counts as an error when it is
// not 2xx or its body has GraphQL "errors"; every body is checked.
// With BENCH_AUTHORIZATION set (e.g. "Bearer pg_..."), every request carries it as its Authorization
// header (personagraph requires credentials; @neo4j/graphql's bench server is driven without).
import { readFileSync } from "node:fs";

import autocannon from "autocannon";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const headers = { "content-type": "application/json", accept: "application/json" };
if (process.env.BENCH_AUTHORIZATION) headers.authorization = process.env.BENCH_AUTHORIZATION;
const latencies = [];
const samples = [];
let next = 0;
let failed = 0; // responses that are not 2xx or carry GraphQL errors

const result = await new Promise((resolve, reject) => {
  const instance = autocannon(
    {
      url: job.url,
      connections: job.connections,
      duration: job.duration,
      method: "POST",
      headers,
      requests: [
        {
          // one shared counter: the connections walk the pool together instead of in lockstep
          setupRequest: (request) => ({ ...request, body: job.bodies[next++ % job.bodies.length] }),
          onResponse: (status, body) => {
            if (status < 200 || status > 299 || body.includes('"errors"')) {
              failed += 1;
              if (samples.length < 3) samples.push(`${status} ${body.slice(0, 300)}`);
            }
          },
        },
      ],
    },
    (error, done) => (error ? reject(error) : resolve(done)),
  );
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
});

console.log(
  JSON.stringify({
    duration: result.duration,
    responses: latencies.length,
    ok2xx: result["2xx"],
    non2xx: result.non2xx,
    failed,
    socketErrors: result.errors, // timeouts included
    timeouts: result.timeouts,
    errorSamples: samples,
    latencies: latencies.map((ms) => Math.round(ms * 1000) / 1000),
  }),
);
