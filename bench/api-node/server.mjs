// bench/api.py's baseline server: @neo4j/graphql on Apollo Server (standalone), one Node process.
//
//   NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_USER=neo4j NEO4J_PASSWORD=... PORT=4000 node server.mjs
//   node server.mjs --print-schema     # the generated schema (SDL), no database needed
//
// Prints "READY <url>" once it listens.
import { readFileSync } from "node:fs";

import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import { printSchema } from "graphql";
import neo4j from "neo4j-driver";

const typeDefs = readFileSync(new URL("./typeDefs.graphql", import.meta.url), "utf8");
const env = process.env;
const driver = neo4j.driver(
  env.NEO4J_URI ?? "bolt://127.0.0.1:7687",
  neo4j.auth.basic(env.NEO4J_USER ?? "neo4j", env.NEO4J_PASSWORD ?? ""),
);
const neoSchema = new Neo4jGraphQL({ typeDefs, driver });
const schema = await neoSchema.getSchema();

if (process.argv.includes("--print-schema")) {
  console.log(printSchema(schema));
  await driver.close();
  process.exit(0);
}

await driver.verifyConnectivity();
const database = env.NEO4J_DATABASE ?? "neo4j";
const server = new ApolloServer({ schema });
const { url } = await startStandaloneServer(server, {
  listen: { host: env.HOST ?? "127.0.0.1", port: Number(env.PORT ?? 4000) },
  context: async () => ({ sessionConfig: { database } }),
});
console.log(`READY ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await server.stop();
    await driver.close();
    process.exit(0);
  });
}
