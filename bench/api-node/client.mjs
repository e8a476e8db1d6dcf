// What the Node load generators (batchload.mjs, mixload.mjs) share: a seeded PRNG and a JSON POST over
// keep-alive connections.
import http from "node:http";

// mulberry32: a small seeded PRNG, so the sequence of requests is reproducible per worker
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// post(body) for one URL, at most `clients` connections at once, with the Authorization header when
// given. Resolves {status, text}, or {status: 0, error} on a socket error or a timeout ("TIMEOUT");
// never rejects. post.close() closes its connections.
export function poster(target, { clients, timeoutMs = 60000, authorization } = {}) {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  const auth = authorization ? { authorization } : {};
  const post = (body) =>
    new Promise((resolve) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
            ...auth,
          },
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
          res.on("error", (err) => resolve({ status: 0, error: err.code || err.message }));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
      req.on("error", (err) => resolve({ status: 0, error: err.code || err.message }));
      req.end(body);
    });
  post.close = () => agent.destroy();
  return post;
}
