/**
 * npx tsx bench/token-verify.ts
 *
 * What verifying a bearer token costs on the request path: a fresh HS256 and
 * EdDSA verification (jose) against a repeated token served from the
 * verified-token cache. Prints microseconds per verification.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createTokenVerifier } from "../src/auth/verify.js";

const iterations = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const secret = "bench-secret-that-is-at-least-32-bytes-long";
const rules = { clockToleranceSeconds: 5, cacheSize: 100_000 };

async function measure(label: string, run: (i: number) => Promise<unknown>, n: number) {
  for (let i = 0; i < Math.min(n, 1000); i++) await run(i); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await run(i);
  const us = Number(process.hrtime.bigint() - started) / 1000 / n;
  console.log(`${label.padEnd(44)} ${us.toFixed(2).padStart(8)} µs`);
  return us;
}

const now = Math.floor(Date.now() / 1000);
const hsKey = new TextEncoder().encode(secret);
const hsTokens = await Promise.all(
  Array.from({ length: iterations + 1000 }, (_, i) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(`user-${i}`)
      .setExpirationTime(now + 900)
      .sign(hsKey),
  ),
);

// HS256: every token new (no cache hit), then one token repeated.
const hsFresh = createTokenVerifier({ kind: "secret", secret, ...rules, cacheSize: 0 });
const fresh = await measure(
  "HS256, fresh token (verify)",
  (i) => hsFresh.verify(hsTokens[i % hsTokens.length] ?? ""),
  iterations,
);
const hsCached = createTokenVerifier({ kind: "secret", secret, ...rules });
// The service caches a token once its user row exists; do the same here.
(await hsCached.verify(hsTokens[0] ?? "")).remember();
const hit = await measure(
  "HS256, repeated token (cache hit)",
  () => hsCached.verify(hsTokens[0] ?? ""),
  iterations * 10,
);

// EdDSA through a real JWKS endpoint on loopback, as with Better Auth.
const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA" };
const server = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] }))).listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const { port } = server.address() as AddressInfo;
const edTokens = await Promise.all(
  Array.from({ length: 5000 }, (_, i) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
      .setSubject(`user-${i}`)
      .setExpirationTime(now + 900)
      .sign(privateKey),
  ),
);
const jwks = createTokenVerifier({
  kind: "jwks",
  jwksUrl: `http://127.0.0.1:${port}/jwks`,
  algorithms: ["EdDSA"],
  timeoutMs: 1000,
  cooldownMs: 30_000,
  ...rules,
  cacheSize: 0,
});
const ed = await measure(
  "EdDSA via JWKS, fresh token (verify)",
  (i) => jwks.verify(edTokens[i % edTokens.length] ?? ""),
  4000,
);
server.close();

console.log(
  `\ncache hit is ${(fresh / hit).toFixed(0)}x cheaper than an HS256 verify, ${(ed / hit).toFixed(0)}x than EdDSA`,
);
