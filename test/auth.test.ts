import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { graphql } from "./gql/index.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, dataOf, execute, type GraphQLResponse } from "./helpers/graphql.js";
import { mintToken, testSecret } from "./helpers/tokens.js";

const AuthViewer = graphql(`
  query AuthViewer {
    viewer {
      id
      email
      name
    }
  }
`);

/** A secret other than the one the app verifies with (also 32+ bytes). */
const otherSecret = "another-secret-that-is-also-32-bytes-or-more";

/**
 * The request is refused as unauthenticated (401, UNAUTHENTICATED,
 * WWW-Authenticate: Bearer, no data) before the database is touched.
 */
async function expectRefused(t: TestApp, authorization: string): Promise<GraphQLResponse<unknown>> {
  t.queries.length = 0;
  const res = await execute(t, AuthViewer, {}, { headers: { authorization } });
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  expect(codesOf(res)).toEqual(["UNAUTHENTICATED"]);
  expect(res.data ?? null).toBeNull();
  expect(t.queries).toEqual([]);
  return res;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token that says it needs no signature: `alg: none`, built by hand. */
function unsignedToken(payload: Record<string, unknown>, signature = ""): string {
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(payload)}.${signature}`;
}

/** The token's segments; fails the test if it is not a compact JWS. */
function segments(token: string): [string, string, string] {
  const [header, payload, signature, ...rest] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) {
    throw new Error(`not a compact JWS: ${token}`);
  }
  return [header, payload, signature];
}

/** Waits for the start of the next wall-clock second, so that a 1 s token has (almost) all of its second left. */
async function startOfNextSecond(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 10);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

const userInserts = (queries: string[]) => queries.filter((sql) => sql.includes("INSERT INTO users")).length;

describe("bearer tokens, shared-secret (HS256) mode", () => {
  let t: TestApp;
  beforeAll(async () => {
    // A wide tolerance, so that "within" and "beyond" it are far apart.
    t = await startTestApp({ AUTH_CLOCK_TOLERANCE_S: "30" });
  });
  afterAll(() => t.close());

  it("accepts a valid token: the viewer is the token's subject", async () => {
    const token = await mintToken("auth-valid", { claims: { email: "valid@example.com", name: "Val" } });
    const res = await execute(t, AuthViewer, {}, token);
    expect(res.status).toBe(200);
    expect(dataOf(res).viewer).toEqual({ id: "auth-valid", email: "valid@example.com", name: "Val" });
  });

  it("refuses a token signed with another secret", async () => {
    await expectRefused(t, `Bearer ${await mintToken("auth-wrong-secret", { secret: otherSecret })}`);
  });

  it("refuses a token expired beyond the clock tolerance", async () => {
    const res = await expectRefused(t, `Bearer ${await mintToken("auth-expired", { expiresIn: -60 })}`);
    expect(res.errors?.[0]?.message).toMatch(/expired/i);
  });

  it("accepts a token expired within the clock tolerance", async () => {
    const token = await mintToken("auth-expired-tolerated", { expiresIn: -10 });
    expect(dataOf(await execute(t, AuthViewer, {}, token)).viewer.id).toBe("auth-expired-tolerated");
  });

  it("refuses a token whose nbf is in the future beyond the tolerance, accepts one within it", async () => {
    await expectRefused(t, `Bearer ${await mintToken("auth-nbf-future", { notBefore: 120 })}`);
    const soon = await mintToken("auth-nbf-soon", { notBefore: 10 });
    expect(dataOf(await execute(t, AuthViewer, {}, soon)).viewer.id).toBe("auth-nbf-soon");
  });

  it("refuses a token without sub", async () => {
    await expectRefused(t, `Bearer ${await mintToken(undefined)}`);
  });

  it("refuses a token with an empty or over-long sub", async () => {
    await expectRefused(t, `Bearer ${await mintToken("")}`);
    await expectRefused(t, `Bearer ${await mintToken("u".repeat(256))}`);
  });

  it("refuses a token without exp", async () => {
    await expectRefused(t, `Bearer ${await mintToken("auth-no-exp", { omitExpiry: true })}`);
  });

  it("refuses an unsigned alg: none token, with or without a signature segment", async () => {
    const payload = { sub: "auth-alg-none", iat: nowSeconds(), exp: nowSeconds() + 900 };
    await expectRefused(t, `Bearer ${unsignedToken(payload)}`);
    // The signature of a real token for the same subject, pasted on.
    const [, , signature] = segments(await mintToken("auth-alg-none"));
    await expectRefused(t, `Bearer ${unsignedToken(payload, signature)}`);
    expect(await t.db.prisma.user.findUnique({ where: { id: "auth-alg-none" } })).toBeNull();
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const token = await mintToken("auth-tamper", { claims: { email: "tamper@example.com" } });
    const [header, payload, signature] = segments(token);
    // One character of the payload segment changed.
    const at = Math.floor(payload.length / 2);
    const swapped = payload[at] === "A" ? "B" : "A";
    await expectRefused(t, `Bearer ${header}.${payload.slice(0, at)}${swapped}${payload.slice(at + 1)}.${signature}`);
    // A well-formed payload naming someone else, with the original signature.
    const forged = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    await expectRefused(t, `Bearer ${header}.${base64url({ ...forged, sub: "auth-victim" })}.${signature}`);
    expect(await t.db.prisma.user.findUnique({ where: { id: "auth-victim" } })).toBeNull();
    // The untouched token is fine.
    expect(dataOf(await execute(t, AuthViewer, {}, token)).viewer.id).toBe("auth-tamper");
  });

  it.each([
    ["Bearer", "Bearer"],
    ["Bearer and spaces", "Bearer    "],
    ["Basic credentials", "Basic xyz"],
    ["Basic with a real token", "Basic TOKEN"],
    ["two tokens", "Bearer a b"],
    ["a token without the scheme", "TOKEN"],
    ["garbage", "%%% not a header at all %%%"],
    ["a non-JWT bearer value", "Bearer garbage"],
    ["a JWT-shaped bearer value", "Bearer aaa.bbb.ccc"],
  ])("refuses a malformed Authorization header: %s", async (_name, header) => {
    const token = await mintToken("auth-malformed");
    await expectRefused(t, header.replace("TOKEN", token));
  });

  it("refuses a token over 8192 characters even if it is validly signed", async () => {
    const big = await mintToken("auth-big", { claims: { pad: "x".repeat(9000) } });
    expect(big.length).toBeGreaterThan(8192);
    await expectRefused(t, `Bearer ${big}`);
    expect(await t.db.prisma.user.findUnique({ where: { id: "auth-big" } })).toBeNull();
    // The same kind of token under the limit is accepted: the size is the reason.
    const large = await mintToken("auth-big", { claims: { pad: "x".repeat(6000) } });
    expect(large.length).toBeLessThan(8192);
    expect(dataOf(await execute(t, AuthViewer, {}, large)).viewer.id).toBe("auth-big");
  });

  describe("user rows made from tokens", () => {
    it("creates the User row on the first request of a new sub", async () => {
      const id = "auth-new-user";
      expect(await t.db.prisma.user.findUnique({ where: { id } })).toBeNull();
      const token = await mintToken(id, { claims: { email: "new@example.com", name: "New" } });
      expect(dataOf(await execute(t, AuthViewer, {}, token)).viewer).toEqual({
        id,
        email: "new@example.com",
        name: "New",
      });
      const row = await t.db.prisma.user.findUnique({ where: { id } });
      expect(row).toMatchObject({ id, email: "new@example.com", name: "New" });
    });

    it("updates email and name from a later token, and keeps them when a token lacks them", async () => {
      const id = "auth-changing-user";
      const first = await mintToken(id, { claims: { email: "old@example.com", name: "Old Name" } });
      dataOf(await execute(t, AuthViewer, {}, first));

      const renamed = await mintToken(id, { claims: { email: "new@example.com", name: "New Name" } });
      expect(dataOf(await execute(t, AuthViewer, {}, renamed)).viewer).toEqual({
        id,
        email: "new@example.com",
        name: "New Name",
      });
      expect(await t.db.prisma.user.findUnique({ where: { id } })).toMatchObject({
        email: "new@example.com",
        name: "New Name",
      });

      // No email claim at all: the stored email stays; the new name is taken.
      const withoutEmail = await mintToken(id, { claims: { name: "Newest Name", jti: "no-email" } });
      expect(dataOf(await execute(t, AuthViewer, {}, withoutEmail)).viewer).toEqual({
        id,
        email: "new@example.com",
        name: "Newest Name",
      });
      // No claims at all: both stay.
      const bare = await mintToken(id, { claims: { jti: "bare" } });
      expect(dataOf(await execute(t, AuthViewer, {}, bare)).viewer).toEqual({
        id,
        email: "new@example.com",
        name: "Newest Name",
      });
      expect(await t.db.prisma.user.findUnique({ where: { id } })).toMatchObject({
        email: "new@example.com",
        name: "Newest Name",
      });
    });

    it("survives 20 concurrent first requests of one new sub: all succeed, one row", async () => {
      const id = "auth-concurrent-user";
      const tokens = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          mintToken(id, { claims: { jti: `concurrent-${i}`, email: "same@example.com" } }),
        ),
      );
      expect(new Set(tokens).size).toBe(20);
      const responses = await Promise.all(tokens.map((token) => execute(t, AuthViewer, {}, token)));
      for (const res of responses) {
        expect(res.status).toBe(200);
        expect(res.errors).toBeUndefined();
        expect(res.data?.viewer.id).toBe(id);
      }
      expect(await t.db.prisma.user.count({ where: { id } })).toBe(1);
    });
  });

  describe("the cache of verified tokens", () => {
    it("upserts the user once for a token used twice, again for a new token", async () => {
      const id = "auth-cached-user";
      const token = await mintToken(id, { claims: { email: "cached@example.com" } });
      t.queries.length = 0;
      dataOf(await execute(t, AuthViewer, {}, token));
      expect(userInserts(t.queries)).toBe(1);
      dataOf(await execute(t, AuthViewer, {}, token));
      expect(userInserts(t.queries)).toBe(1);
      // A different token of the same user is verified (and upserted) afresh.
      const next = await mintToken(id, { claims: { email: "cached@example.com", jti: "next" } });
      dataOf(await execute(t, AuthViewer, {}, next));
      expect(userInserts(t.queries)).toBe(2);
    });

    it("caches a token only once its user row exists: a failed first upsert is retried", async () => {
      const id = "auth-upsert-fails-once";
      const token = await mintToken(id, { claims: { email: "retry@example.com" } });
      // The database refuses this user's row once, as in a blip on the first request.
      await t.db.prisma.$executeRawUnsafe(`
        CREATE FUNCTION auth_refuse_user() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused for the test'; END $$`);
      await t.db.prisma.$executeRawUnsafe(
        `CREATE TRIGGER auth_refuse_user BEFORE INSERT ON users FOR EACH ROW WHEN (NEW.id = '${id}') EXECUTE FUNCTION auth_refuse_user()`,
      );
      try {
        const first = await execute(t, AuthViewer, {}, token);
        expect(codesOf(first)).toEqual(["INTERNAL_SERVER_ERROR"]);
      } finally {
        await t.db.prisma.$executeRawUnsafe("DROP TRIGGER auth_refuse_user ON users");
        await t.db.prisma.$executeRawUnsafe("DROP FUNCTION auth_refuse_user()");
      }
      // The same token again: not taken from the cache, so the row is made now.
      const second = dataOf(await execute(t, AuthViewer, {}, token));
      expect(second.viewer).toMatchObject({ id, email: "retry@example.com" });
      expect(await t.db.prisma.user.findUnique({ where: { id } })).not.toBeNull();
    });

    it("does not serve a token from the cache once it has expired", async () => {
      const strict = await startTestApp({ AUTH_CLOCK_TOLERANCE_S: "0" });
      try {
        await startOfNextSecond();
        const minted = Date.now();
        const token = await mintToken("auth-short-lived", { expiresIn: 1 });
        strict.queries.length = 0;
        dataOf(await execute(strict, AuthViewer, {}, token));
        dataOf(await execute(strict, AuthViewer, {}, token));
        expect(userInserts(strict.queries)).toBe(1);

        await sleep(Math.max(0, minted + 1300 - Date.now()));
        const res = await expectRefused(strict, `Bearer ${token}`);
        expect(res.errors?.[0]?.message).toMatch(/expired/i);
      } finally {
        await strict.close();
      }
    });
  });
});

describe("bearer tokens with a configured issuer and audience", () => {
  const issuer = "https://auth.example.com";
  const audience = "https://tasks.example.com";
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience });
  });
  afterAll(() => t.close());

  it("accepts the right iss and aud", async () => {
    const token = await mintToken("auth-iss-ok", { issuer, audience });
    expect(dataOf(await execute(t, AuthViewer, {}, token)).viewer.id).toBe("auth-iss-ok");
  });

  it("refuses a wrong iss", async () => {
    await expectRefused(
      t,
      `Bearer ${await mintToken("auth-iss-bad", { issuer: "https://evil.example.com", audience })}`,
    );
  });

  it("refuses a wrong aud", async () => {
    await expectRefused(
      t,
      `Bearer ${await mintToken("auth-aud-bad", { issuer, audience: "https://other.example.com" })}`,
    );
  });

  it("refuses a token with no iss or no aud at all", async () => {
    await expectRefused(t, `Bearer ${await mintToken("auth-iss-missing", { audience })}`);
    await expectRefused(t, `Bearer ${await mintToken("auth-aud-missing", { issuer })}`);
  });
});

describe("BETTER_AUTH_SECRET as the shared secret", () => {
  it("verifies tokens with BETTER_AUTH_SECRET when AUTH_SECRET is not set", async () => {
    const t = await startTestApp({ AUTH_SECRET: "", BETTER_AUTH_SECRET: otherSecret });
    try {
      expect(t.config.auth).toMatchObject({ kind: "secret", secret: otherSecret });
      const token = await mintToken("auth-better-secret", { secret: otherSecret });
      expect(dataOf(await execute(t, AuthViewer, {}, token)).viewer.id).toBe("auth-better-secret");
      await expectRefused(t, `Bearer ${await mintToken("auth-better-secret", { secret: testSecret })}`);
    } finally {
      await t.close();
    }
  });
});

describe("auth configuration refusals", () => {
  it("refuses an AUTH_SECRET shorter than 32 bytes, naming the variable", () => {
    const load = () => loadConfig({ AUTH_SECRET: "x".repeat(31) });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/AUTH_SECRET: expected at least 32 bytes \(got 31\)/);
  });

  it("counts bytes, not characters: 16 two-byte characters are enough", () => {
    expect(loadConfig({ AUTH_SECRET: "x".repeat(32) }).auth.kind).toBe("secret");
    expect(loadConfig({ AUTH_SECRET: "é".repeat(16) }).auth.kind).toBe("secret");
    expect(() => loadConfig({ AUTH_SECRET: "é".repeat(15) })).toThrow(/AUTH_SECRET: expected at least 32 bytes/);
  });

  it("refuses a short BETTER_AUTH_SECRET, naming that variable", () => {
    expect(() => loadConfig({ BETTER_AUTH_SECRET: "short" })).toThrow(/BETTER_AUTH_SECRET: expected at least 32 bytes/);
  });

  it("refuses AUTH_JWKS_URL together with a shared secret", () => {
    const jwksUrl = "https://auth.example.com/api/auth/jwks";
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_SECRET: testSecret })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_SECRET: testSecret })).toThrow(
      /AUTH_JWKS_URL and AUTH_SECRET/,
    );
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl, BETTER_AUTH_SECRET: testSecret })).toThrow(
      /AUTH_JWKS_URL and BETTER_AUTH_SECRET/,
    );
  });

  it("refuses production without any way to verify tokens", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/AUTH_JWKS_URL or AUTH_SECRET/);
    expect(() => loadConfig({ NODE_ENV: "production", AUTH_SECRET: "" })).toThrow(/AUTH_JWKS_URL or AUTH_SECRET/);
    expect(loadConfig({ NODE_ENV: "production", AUTH_SECRET: testSecret }).auth.kind).toBe("secret");
  });

  it("accepts BETTER_AUTH_SECRET as the secret, AUTH_SECRET taking precedence", () => {
    expect(loadConfig({ BETTER_AUTH_SECRET: otherSecret }).auth).toMatchObject({ kind: "secret", secret: otherSecret });
    expect(loadConfig({ NODE_ENV: "production", BETTER_AUTH_SECRET: otherSecret }).auth.kind).toBe("secret");
    expect(loadConfig({ AUTH_SECRET: testSecret, BETTER_AUTH_SECRET: otherSecret }).auth).toMatchObject({
      kind: "secret",
      secret: testSecret,
    });
  });
});
