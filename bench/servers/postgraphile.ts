/**
 * The peer: PostGraphile v5 (Amber preset) over the same database, serving
 * the same table to the same HS256 tokens. JWTs are verified the way
 * PostGraphile's documentation recommends, in `grafast.context`, with jose
 * (the library the service uses); the caller becomes a role without
 * BYPASSRLS, and a row-level security policy on `jwt.claims.sub` keeps them to
 * their own tasks (see preparePeer in ../lib/scratch-db.ts).
 *
 * Env: PORT, DATABASE_URL, AUTH_SECRET, PEER_ROLE, DATABASE_POOL_MAX (10),
 * WORKERS (1; more: a node:cluster of that many, see ./cluster.ts).
 */
import "./node22-shims.js";
import { createServer } from "node:http";
import { jwtVerify } from "jose";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { servesHere } from "./cluster.js";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is required`);
  return value;
}

const port = Number(required("PORT"));
const role = required("PEER_ROLE");
const key = new TextEncoder().encode(required("AUTH_SECRET"));

const preset: GraphileConfig.Preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: required("DATABASE_URL"),
      schemas: ["public"],
      poolConfig: { max: Number(process.env.DATABASE_POOL_MAX ?? 10) },
    }),
  ],
  grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false, websockets: false },
  grafast: {
    explain: false,
    async context(requestContext) {
      const header = requestContext.node?.req.headers.authorization;
      const match = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header);
      if (!match?.[1]) throw Object.assign(new Error("A bearer token is required."), { statusCode: 401 });
      const { payload } = await jwtVerify(match[1], key, { algorithms: ["HS256"], requiredClaims: ["sub", "exp"] });
      return { pgSettings: { role, "jwt.claims.sub": String(payload.sub) } };
    },
  },
};

if (servesHere("postgraphile")) {
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const handler = serv.createHandler();
  const server = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    handler(req, res);
  });
  // Build the schema (introspection) before saying we listen.
  await pgl.getSchema();
  server.keepAliveTimeout = 65_000;
  server.listen(port, "127.0.0.1", () => console.log(`postgraphile listening on ${port}`));

  const stop = () => {
    server.close();
    server.closeAllConnections();
    void Promise.resolve(pgl.release()).finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
