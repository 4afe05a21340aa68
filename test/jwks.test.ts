import { setTimeout as sleep } from "node:timers/promises";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "./gql/index.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, dataOf, execute } from "./helpers/graphql.js";
import { type JwksServer, jwksEnv, startJwksServer } from "./helpers/jwks-server.js";
import { makeSigningKey } from "./helpers/tokens.js";

const JwksViewer = graphql(`
  query JwksViewer {
    viewer {
      id
      email
    }
  }
`);

type SigningKey = Awaited<ReturnType<typeof makeSigningKey>>;

/** Longer than the app's AUTH_JWKS_COOLDOWN_MS (300 in jwksEnv). */
const pastCooldownMs = 450;

/** An ES256 or RS256 key published like Better Auth's EdDSA one, for the algorithm-pinning tests. */
async function makeKey(alg: "ES256" | "RS256", kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return {
    kid,
    jwk,
    sign(sub: string, options: { issuer: string; audience: string }) {
      return new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime("15m")
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .sign(privateKey);
    },
  };
}

/** The viewer query with `token`, as a client with a Better Auth token would send it. */
function viewer(t: TestApp, token: string) {
  return execute(t, JwksViewer, {}, token);
}

/** 401 UNAUTHENTICATED with WWW-Authenticate, and no database query. */
async function expectUnauthenticated(t: TestApp, token: string): Promise<void> {
  t.queries.length = 0;
  const res = await viewer(t, token);
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  expect(codesOf(res)).toEqual(["UNAUTHENTICATED"]);
  expect(res.data ?? null).toBeNull();
  expect(t.queries).toEqual([]);
}

/** 503 SERVICE_UNAVAILABLE with Retry-After (our problem, not the token's), and no database query. */
async function expectUnavailable(t: TestApp, token: string): Promise<void> {
  t.queries.length = 0;
  const res = await viewer(t, token);
  expect(res.status).toBe(503);
  expect(codesOf(res)).toEqual(["SERVICE_UNAVAILABLE"]);
  expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  expect(res.headers.get("www-authenticate")).toBeNull();
  expect(res.data ?? null).toBeNull();
  expect(t.queries).toEqual([]);
}

describe("Better Auth JWKS mode", () => {
  let key1: SigningKey;
  let server: JwksServer;
  let t: TestApp;
  /** Servers and apps a test starts for itself; closed after the file. */
  const cleanups: (() => Promise<void>)[] = [];

  /** A fresh app (cold key cache, fresh database) pointed at `jwks`. */
  async function freshApp(jwks: JwksServer, extra: Record<string, string> = {}): Promise<TestApp> {
    const app = await startTestApp(jwksEnv(jwks, extra));
    cleanups.push(() => app.close());
    return app;
  }

  async function freshServer(keys: JWK[]): Promise<JwksServer> {
    const jwks = await startJwksServer(keys);
    cleanups.push(() => jwks.close());
    return jwks;
  }

  const sign = (key: SigningKey, sub: string, jwks: JwksServer = server, claims = {}) =>
    key.sign(sub, { issuer: jwks.baseUrl, audience: jwks.baseUrl, claims });

  beforeAll(async () => {
    key1 = await makeSigningKey("key-1");
    server = await startJwksServer([key1.jwk]);
    t = await startTestApp(jwksEnv(server));
  });
  afterAll(async () => {
    // Apps first (they may hold connections to the servers), then servers.
    await t.close();
    for (const cleanup of cleanups.reverse()) await cleanup();
    await server.close();
  });

  it("is configured as JWKS mode, not the default test secret", () => {
    expect(t.config.auth).toMatchObject({
      kind: "jwks",
      jwksUrl: server.jwksUrl,
      issuer: server.baseUrl,
      audience: server.baseUrl,
      algorithms: ["EdDSA"],
    });
  });

  it("accepts an EdDSA token signed by the served key, and makes its user", async () => {
    const token = await sign(key1, "jwks-user", server, { email: "jwks@example.com" });
    const res = await viewer(t, token);
    expect(res.status).toBe(200);
    expect(dataOf(res).viewer).toEqual({ id: "jwks-user", email: "jwks@example.com" });
    expect(await t.db.prisma.user.findUnique({ where: { id: "jwks-user" } })).toMatchObject({
      email: "jwks@example.com",
    });
  });

  it("refuses a token from the served key with the wrong issuer or audience", async () => {
    await expectUnauthenticated(
      t,
      await key1.sign("jwks-iss", { issuer: "http://evil.test", audience: server.baseUrl }),
    );
    await expectUnauthenticated(
      t,
      await key1.sign("jwks-aud", { issuer: server.baseUrl, audience: "http://evil.test" }),
    );
  });

  it("fetches the key set once for many requests", async () => {
    const app = await freshApp(server);
    const before = server.requests;
    // Concurrent requests on a cold cache share one fetch...
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => viewer(app, await sign(key1, `jwks-many-${i}`))),
    );
    for (const res of concurrent) expect(res.status).toBe(200);
    // ...and later ones use the cached keys.
    for (let i = 0; i < 10; i++) {
      expect((await viewer(app, await sign(key1, `jwks-many-later-${i}`))).status).toBe(200);
    }
    expect(server.requests - before).toBe(1);
  });

  it("refuses HS256 tokens: the algorithm comes from the configuration, not the token header", async () => {
    const app = await freshApp(server);
    const before = server.requests;
    const now = Math.floor(Date.now() / 1000);
    const hs256 = (secret: Uint8Array) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256", kid: key1.kid })
        .setSubject("jwks-hs256")
        .setIssuedAt(now)
        .setExpirationTime(now + 900)
        .setIssuer(server.baseUrl)
        .setAudience(server.baseUrl)
        .sign(secret);
    // Some shared secret...
    await expectUnauthenticated(app, await hs256(new TextEncoder().encode("a-shared-secret-of-at-least-32-bytes!")));
    // ...or the public key itself used as an HMAC secret (the classic algorithm confusion).
    const x = key1.jwk.x;
    expect(typeof x).toBe("string");
    await expectUnauthenticated(app, await hs256(Buffer.from(typeof x === "string" ? x : "", "base64url")));
    await expectUnauthenticated(app, await hs256(new TextEncoder().encode(JSON.stringify(key1.jwk))));
    // Refused on the algorithm alone: the key set was not even fetched.
    expect(server.requests - before).toBe(0);
    expect(await app.db.prisma.user.findUnique({ where: { id: "jwks-hs256" } })).toBeNull();
  });

  it("refuses an unsigned alg: none token", async () => {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const payload = { sub: "jwks-none", iss: server.baseUrl, aud: server.baseUrl, iat: now, exp: now + 900 };
    await expectUnauthenticated(t, `${part({ alg: "none", kid: key1.kid })}.${part(payload)}.`);
  });

  it("refuses ES256 and RS256 tokens by default, even from served keys", async () => {
    const es = await makeKey("ES256", "es-key");
    const rs = await makeKey("RS256", "rs-key");
    const jwks = await freshServer([key1.jwk, es.jwk, rs.jwk]);
    const app = await freshApp(jwks);
    const claims = { issuer: jwks.baseUrl, audience: jwks.baseUrl };
    await expectUnauthenticated(app, await es.sign("jwks-es", claims));
    await expectUnauthenticated(app, await rs.sign("jwks-rs", claims));
    // The EdDSA key of the same set works: the refusal is about the algorithm.
    expect((await viewer(app, await sign(key1, "jwks-ed", jwks))).status).toBe(200);
  });

  it("accepts ES256 when AUTH_ALGORITHMS allows it, and still refuses RS256", async () => {
    const es = await makeKey("ES256", "es-key");
    const rs = await makeKey("RS256", "rs-key");
    const jwks = await freshServer([key1.jwk, es.jwk, rs.jwk]);
    const app = await freshApp(jwks, { AUTH_ALGORITHMS: "EdDSA,ES256" });
    const claims = { issuer: jwks.baseUrl, audience: jwks.baseUrl };
    expect(dataOf(await viewer(app, await es.sign("jwks-es-ok", claims))).viewer.id).toBe("jwks-es-ok");
    expect(dataOf(await viewer(app, await sign(key1, "jwks-ed-ok", jwks))).viewer.id).toBe("jwks-ed-ok");
    await expectUnauthenticated(app, await rs.sign("jwks-rs-no", claims));
  });

  it("follows key rotation: a new kid is fetched and accepted, the old one still works while served", async () => {
    const jwks = await freshServer([key1.jwk]);
    const app = await freshApp(jwks);
    expect((await viewer(app, await sign(key1, "jwks-rotate-old", jwks))).status).toBe(200);
    expect(jwks.requests).toBe(1);

    const key2 = await makeSigningKey("key-2");
    jwks.setKeys([key1.jwk, key2.jwk]);
    await sleep(pastCooldownMs);
    const res = await viewer(app, await sign(key2, "jwks-rotate-new", jwks));
    expect(res.status).toBe(200);
    expect(dataOf(res).viewer.id).toBe("jwks-rotate-new");
    expect(jwks.requests).toBe(2);

    // A fresh token (not in the verified-token cache) under the old kid.
    expect(dataOf(await viewer(app, await sign(key1, "jwks-rotate-old-2", jwks))).viewer.id).toBe("jwks-rotate-old-2");
    expect(dataOf(await viewer(app, await sign(key2, "jwks-rotate-new-2", jwks))).viewer.id).toBe("jwks-rotate-new-2");
    expect(jwks.requests).toBe(2);
  });

  it("refuses an unknown kid with 401, and 20 of them cause at most 2 refetches", async () => {
    const jwks = await freshServer([key1.jwk]);
    const app = await freshApp(jwks);
    expect((await viewer(app, await sign(key1, "jwks-known", jwks))).status).toBe(200);
    await sleep(pastCooldownMs);

    const rogue = await makeSigningKey("unknown-kid");
    const before = jwks.requests;
    app.queries.length = 0;
    const responses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => viewer(app, await sign(rogue, `jwks-rogue-${i}`, jwks))),
    );
    for (const res of responses) {
      expect(res.status).toBe(401);
      expect(codesOf(res)).toEqual(["UNAUTHENTICATED"]);
    }
    expect(app.queries).toEqual([]);
    const refetches = jwks.requests - before;
    expect(refetches).toBeGreaterThanOrEqual(1);
    expect(refetches).toBeLessThanOrEqual(2);
  });

  it("refetches at most once per cooldown for unknown kids sent one after another", async () => {
    const jwks = await freshServer([key1.jwk]);
    // A cooldown far longer than 20 quick refusals take.
    const app = await freshApp(jwks, { AUTH_JWKS_COOLDOWN_MS: "5000" });
    const rogue = await makeSigningKey("unknown-kid");
    for (let i = 0; i < 20; i++) await expectUnauthenticated(app, await sign(rogue, `jwks-rogue-seq-${i}`, jwks));
    // The first one fetched the (cold) key set; the rest fell in its cooldown.
    expect(jwks.requests).toBeGreaterThanOrEqual(1);
    expect(jwks.requests).toBeLessThanOrEqual(2);
    // The known key is still served from the same fetch.
    expect(dataOf(await viewer(app, await sign(key1, "jwks-known-after", jwks))).viewer.id).toBe("jwks-known-after");
    expect(jwks.requests).toBeLessThanOrEqual(2);
  });

  it("refuses a token that claims a served kid but was signed by another key", async () => {
    // Another key pair published under nobody's control, but with the served kid.
    const impostor = await makeSigningKey(key1.kid);
    await expectUnauthenticated(t, await sign(impostor, "jwks-impostor"));
    expect(await t.db.prisma.user.findUnique({ where: { id: "jwks-impostor" } })).toBeNull();
  });

  describe("when the key set cannot be fetched", () => {
    it("answers 503 SERVICE_UNAVAILABLE with Retry-After when the server is down (cold cache), then recovers", async () => {
      const jwks = await freshServer([key1.jwk]);
      await jwks.close();
      const app = await freshApp(jwks);
      const token = await sign(key1, "jwks-down", jwks);
      await expectUnavailable(app, token);

      await jwks.reopen();
      const res = await viewer(app, token);
      expect(res.status).toBe(200);
      expect(dataOf(res).viewer.id).toBe("jwks-down");
    });

    it.each([
      { behaviour: "fail", how: "fails with 500", user: "jwks-500" },
      { behaviour: "hang", how: "hangs (the fetch times out)", user: "jwks-hang" },
    ] as const)("answers 503 when the key set endpoint $how, then recovers", async ({ behaviour, user }) => {
      const jwks = await freshServer([key1.jwk]);
      jwks.setBehaviour(behaviour);
      const app = await freshApp(jwks);
      const token = await sign(key1, user, jwks);
      await expectUnavailable(app, token);
      expect(jwks.requests).toBeGreaterThanOrEqual(1);

      jwks.setBehaviour("serve");
      expect(dataOf(await viewer(app, token)).viewer.id).toBe(user);
    });

    it("keeps accepting known keys from its cache while the endpoint is down", async () => {
      const jwks = await freshServer([key1.jwk]);
      const app = await freshApp(jwks);
      expect((await viewer(app, await sign(key1, "jwks-warm-1", jwks))).status).toBe(200);
      jwks.setBehaviour("fail");
      expect(dataOf(await viewer(app, await sign(key1, "jwks-warm-2", jwks))).viewer.id).toBe("jwks-warm-2");
      await jwks.close();
      expect(dataOf(await viewer(app, await sign(key1, "jwks-warm-3", jwks))).viewer.id).toBe("jwks-warm-3");
    });
  });
});
