import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { createDevTokenIssuer, devTokenTtlSeconds, signLocalToken } from "../src/auth/dev-token.js";
import { setUpAuth } from "../src/auth/index.js";
import { createTokenVerifier } from "../src/auth/verify.js";
import { loadConfig } from "../src/config.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { createTestDatabase, type TestDatabase } from "./helpers/database.js";
import { codesOf, dataOf, execute } from "./helpers/graphql.js";
import { jwksEnv, startJwksServer } from "./helpers/jwks-server.js";
import { ViewerWithTasks } from "./helpers/operations.js";
import { errorOf, rest } from "./helpers/rest.js";
import { makeSigningKey, mintToken, testSecret } from "./helpers/tokens.js";

/**
 * The rules of src/auth that are set when the app starts (issuer, audience,
 * required claims, the local development secret) or that sit on a boundary
 * (8192-character tokens, 255-character subjects, 320-character claims,
 * the size of the token cache), and the exact message of each refusal.
 *
 * Every app here is started inside its test, not in a beforeAll: what runs in
 * a hook belongs to no test, so a mutation run (perTest coverage with
 * ignoreStatic) would not count these tests as covering the start-up code.
 * The apps share one database, started once.
 */

const messages = {
  notValid: "The bearer token is not valid.",
  expired: "The bearer token has expired.",
  tooLarge: "The bearer token is too large.",
  badSubject: "The token's subject is not a valid user id.",
  keysUnavailable: "The auth service's keys cannot be fetched. Try again shortly.",
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** An app on the shared database, closed when the test ends (or earlier, by `close()`). */
async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await startTestApp(env, database);
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= t.close();
    return closed;
  };
  onTestFinished(close);
  return { ...t, close };
}

/** The viewer of a request with `token`, which must succeed. */
async function viewerOf(t: TestApp, token: string) {
  return dataOf(await execute(t, ViewerWithTasks, { first: 1 }, token)).viewer;
}

/**
 * The message of a refused token, which must be the same through GraphQL and
 * REST: `status` with `code` (401 UNAUTHENTICATED unless told), no data, and
 * not one SQL statement.
 */
async function refusalOf(t: TestApp, token: string, status = 401, code = "UNAUTHENTICATED"): Promise<string> {
  t.queries.length = 0;
  const res = await execute(t, ViewerWithTasks, { first: 1 }, token);
  expect(res.status).toBe(status);
  expect(codesOf(res)).toEqual([code]);
  expect(res.data ?? null).toBeNull();
  const message = res.errors?.[0]?.message ?? "(no message)";
  expect(errorOf(await rest(t, "GET", "/api/auth-rules/tasks", { token }), status, code).message).toBe(message);
  expect(t.queries).toEqual([]);
  return message;
}

/** How many user upserts a request with `token` made: 1 when it was verified afresh, 0 when it came from the cache. */
async function upsertsOf(t: TestApp, token: string): Promise<number> {
  t.queries.length = 0;
  await viewerOf(t, token);
  return t.queries.filter((sql) => sql.includes("INSERT INTO users")).length;
}

/** A validly signed token of exactly `length` characters, padded with a claim. */
async function tokenOfLength(sub: string, length: number): Promise<string> {
  const bare = await mintToken(sub, { claims: { pad: "" } });
  // Three characters of padding make four of base64url.
  for (let n = Math.max(0, Math.floor(((length - bare.length) * 3) / 4) - 4); ; n++) {
    const token = await mintToken(sub, { claims: { pad: "x".repeat(n) } });
    if (token.length === length) return token;
    if (token.length > length) throw new Error(`no token for ${sub} is exactly ${length} characters long`);
  }
}

describe("token rules set when the app starts", () => {
  it("with AUTH_ISSUER and AUTH_AUDIENCE, only the right iss and aud are accepted; a wrong or missing one is not valid", async () => {
    const issuer = "https://auth.rules.example";
    const audience = "https://tasks.rules.example";
    const t = await startApp({ AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience });
    const sub = "auth-rules-iss-aud";
    expect((await viewerOf(t, await mintToken(sub, { issuer, audience }))).id).toBe(sub);

    const refused = [
      await mintToken(sub, { issuer: "https://evil.example", audience }),
      await mintToken(sub, { audience }),
      await mintToken(sub, { issuer, audience: "https://elsewhere.example" }),
      await mintToken(sub, { issuer }),
    ];
    for (const token of refused) expect(await refusalOf(t, token)).toBe(messages.notValid);
  });

  it("without AUTH_ISSUER and AUTH_AUDIENCE, any iss and aud are accepted", async () => {
    const t = await startApp();
    const token = await mintToken("auth-rules-any-iss", {
      issuer: "https://anyone.example",
      audience: "https://anything.example",
    });
    expect((await viewerOf(t, token)).id).toBe("auth-rules-any-iss");
  });

  it("sub and exp are required: a validly signed token without either is not valid", async () => {
    const t = await startApp();
    expect((await viewerOf(t, await mintToken("auth-rules-claims"))).id).toBe("auth-rules-claims");
    expect(await refusalOf(t, await mintToken("auth-rules-no-exp", { omitExpiry: true }))).toBe(messages.notValid);
    // Refused by the required claims, not later as a bad subject.
    expect(await refusalOf(t, await mintToken(undefined))).toBe(messages.notValid);
  });

  it("a local-mode verifier cannot be made before its secret is loaded", () => {
    const { auth } = loadConfig({ LOCAL_SECRET_FILE: path.join(tmpdir(), "auth-rules-never-read") });
    expect(auth.kind).toBe("local");
    expect(() => createTokenVerifier(auth)).toThrow(
      /^The local development secret must be loaded before verifying tokens\.$/,
    );
  });
});

describe("refusal messages, the same through GraphQL and REST", () => {
  it.each([
    [
      "a token signed with another secret",
      () => mintToken("auth-rules-other", { secret: "x".repeat(40) }),
      messages.notValid,
    ],
    ["an expired token", () => mintToken("auth-rules-expired", { expiresIn: -600 }), messages.expired],
    ["an empty subject", () => mintToken(""), messages.badSubject],
  ])("%s", async (_name, token, message) => {
    const t = await startApp();
    expect(await refusalOf(t, await token())).toBe(message);
  });

  it.each([
    // A short timeout: the fetch is cut off whether or not the request has reached the server yet.
    ["hangs past AUTH_JWKS_TIMEOUT_MS", "hang", "200"],
    // A long one: the 500 answer, not a timeout, is what the app sees.
    ["answers 500", "fail", "10000"],
  ] as const)("a key set endpoint that %s: 503, the keys cannot be fetched", async (_how, behaviour, timeoutMs) => {
    const key = await makeSigningKey("auth-rules-key");
    const jwks = await startJwksServer([key.jwk]);
    onTestFinished(() => jwks.close());
    jwks.setBehaviour(behaviour);
    const t = await startApp(jwksEnv(jwks, { AUTH_JWKS_TIMEOUT_MS: timeoutMs }));
    const token = await key.sign("auth-rules-jwks", { issuer: jwks.baseUrl, audience: jwks.baseUrl });
    expect(await refusalOf(t, token, 503, "SERVICE_UNAVAILABLE")).toBe(messages.keysUnavailable);
  });
});

describe("boundaries", () => {
  it("a validly signed token of exactly 8192 characters is accepted; one of 8193 is too large", async () => {
    const t = await startApp();
    const limit = await tokenOfLength("auth-rules-8192", 8192);
    expect((await viewerOf(t, limit)).id).toBe("auth-rules-8192");
    const over = await tokenOfLength("auth-rules-8193", 8193);
    expect(await refusalOf(t, over)).toBe(messages.tooLarge);
    expect(await t.db.prisma.user.findUnique({ where: { id: "auth-rules-8193" } })).toBeNull();
  });

  it("a subject of 255 characters is a user id; of 256, it is not", async () => {
    const t = await startApp();
    const longest = "s".repeat(255);
    expect((await viewerOf(t, await mintToken(longest))).id).toBe(longest);
    expect(await refusalOf(t, await mintToken("s".repeat(256)))).toBe(messages.badSubject);
  });

  it("email and name claims of 320 characters are kept; of 321, dropped", async () => {
    const t = await startApp();
    const email = (length: number) => `${"e".repeat(length - "@example.com".length)}@example.com`;
    const kept = await mintToken("auth-rules-320", { claims: { email: email(320), name: "n".repeat(320) } });
    expect(await viewerOf(t, kept)).toMatchObject({ id: "auth-rules-320", email: email(320), name: "n".repeat(320) });
    const dropped = await mintToken("auth-rules-321", { claims: { email: email(321), name: "n".repeat(321) } });
    expect(await viewerOf(t, dropped)).toMatchObject({ id: "auth-rules-321", email: null, name: null });
  });
});

describe("the cache of verified tokens (AUTH_TOKEN_CACHE_SIZE)", () => {
  it("0 turns it off: a token used again is verified again, and its user upserted", async () => {
    const t = await startApp({ AUTH_TOKEN_CACHE_SIZE: "0" });
    const token = await mintToken("auth-rules-no-cache");
    expect([await upsertsOf(t, token), await upsertsOf(t, token), await upsertsOf(t, token)]).toEqual([1, 1, 1]);
  });

  it("a cache of 2 keeps two tokens and, for a third, evicts the oldest, which is then verified again", async () => {
    const t = await startApp({ AUTH_TOKEN_CACHE_SIZE: "2" });
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((name) => mintToken(`auth-rules-cache-${name}`)));
    if (a === undefined || b === undefined || c === undefined) throw new Error("three tokens expected");
    expect(await upsertsOf(t, a)).toBe(1);
    expect(await upsertsOf(t, b)).toBe(1);
    // Both fit.
    expect(await upsertsOf(t, a)).toBe(0);
    expect(await upsertsOf(t, b)).toBe(0);
    // A third evicts the first one cached (use does not refresh it), and only that one.
    expect(await upsertsOf(t, c)).toBe(1);
    expect(await upsertsOf(t, b)).toBe(0);
    expect(await upsertsOf(t, c)).toBe(0);
    expect(await upsertsOf(t, a)).toBe(1);
    // Back in the cache, a evicted b in turn.
    expect(await upsertsOf(t, c)).toBe(0);
    expect(await upsertsOf(t, a)).toBe(0);
    expect(await upsertsOf(t, b)).toBe(1);
  });
});

describe("tokens signed for the local development secret", () => {
  const secret = new TextEncoder().encode(testSecret);
  const verifierWith = (env: Record<string, string> = {}) =>
    createTokenVerifier(loadConfig({ AUTH_SECRET: testSecret, ...env }).auth);

  it("carry sub, iat, exp = iat + ttl, and email, name, iss and aud when given; typ JWT, alg HS256", async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = await signLocalToken(secret, {
      userId: "auth-rules-signed",
      email: "ada@example.com",
      name: "Ada",
      ttlSeconds: 120,
      issuer: "https://auth.local.example",
      audience: "https://tasks.local.example",
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const payload = decodeJwt(token);
    expect(Object.keys(payload).sort()).toEqual(["aud", "email", "exp", "iat", "iss", "name", "sub"]);
    expect(payload).toMatchObject({
      sub: "auth-rules-signed",
      email: "ada@example.com",
      name: "Ada",
      iss: "https://auth.local.example",
      aud: "https://tasks.local.example",
    });
    expect(Number(payload.iat)).toBeGreaterThanOrEqual(before);
    expect(Number(payload.iat)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(Number(payload.exp) - Number(payload.iat)).toBe(120);
    const verifier = verifierWith({
      AUTH_ISSUER: "https://auth.local.example",
      AUTH_AUDIENCE: "https://tasks.local.example",
    });
    expect((await verifier.verify(token)).viewer).toMatchObject({ id: "auth-rules-signed", name: "Ada" });
  });

  it("leave out the claims not given", async () => {
    const token = await signLocalToken(secret, { userId: "auth-rules-bare", ttlSeconds: 60 });
    expect(Object.keys(decodeJwt(token)).sort()).toEqual(["exp", "iat", "sub"]);
    expect((await verifierWith().verify(token)).viewer).toMatchObject({ id: "auth-rules-bare", email: null });
  });

  it("the development sign-in issues one-hour tokens with the configured iss and aud, and says when they expire", async () => {
    const issuer = createDevTokenIssuer(secret, {
      issuer: "https://auth.dev.example",
      audience: "https://tasks.dev.example",
    });
    const { token, expiresAt } = await issuer.issue("auth-rules-dev");
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({
      sub: "auth-rules-dev",
      iss: "https://auth.dev.example",
      aud: "https://tasks.dev.example",
    });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(devTokenTtlSeconds);
    expect(devTokenTtlSeconds).toBe(3600);
    // The stated expiry is the token's exp, to within the second exp is rounded down to (and the signing's time).
    expect(Math.abs(Date.parse(expiresAt) - Number(payload.exp) * 1000)).toBeLessThan(2000);
    const verifier = verifierWith({
      AUTH_ISSUER: "https://auth.dev.example",
      AUTH_AUDIENCE: "https://tasks.dev.example",
    });
    expect((await verifier.verify(token)).viewer.id).toBe("auth-rules-dev");
  });
});

describe("a cached token's expiry", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a cached token is answered from the cache until the millisecond its exp is reached, then verified again", async () => {
    const { auth } = loadConfig({ AUTH_SECRET: testSecret, AUTH_CLOCK_TOLERANCE_S: "0" });
    const verifier = createTokenVerifier(auth);
    const token = await mintToken("auth-rules-cache-expiry", { expiresIn: 60 });
    const exp = Number(decodeJwt(token).exp) * 1000;
    (await verifier.verify(token)).remember();

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(exp - 1);
    expect((await verifier.verify(token)).fresh).toBe(false);
    // At exp itself the entry is stale: verified afresh, and jose finds it expired (no tolerance).
    vi.setSystemTime(exp);
    await expect(verifier.verify(token)).rejects.toThrow(/^The bearer token has expired\.$/);
    // And the stale entry is gone: back before exp, the token is verified, not taken from the cache.
    vi.setSystemTime(exp - 1000);
    expect((await verifier.verify(token)).fresh).toBe(true);
  });
});

describe("the local development secret (no AUTH_SECRET, BETTER_AUTH_SECRET or AUTH_JWKS_URL)", () => {
  /** A fresh directory, removed when the test ends. */
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), "auth-rules-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  // startTestApp sets AUTH_SECRET; loadConfig treats "" as unset.
  const localEnv = (file: string) => ({ AUTH_SECRET: "", LOCAL_SECRET_FILE: file });

  /** A fresh secret as the app makes it: 32 random bytes in base64url, and a newline. */
  const madeSecret = /^[A-Za-z0-9_-]{43}\n$/;

  const s32 = "0123456789abcdefghijklmnopqrstuv";

  it("the first start makes the file, directories included, with mode 0600; tokens signed with it are accepted, others not", async () => {
    const file = path.join(await tempDir(), "nested", "deeper", "local-auth-secret");
    const t = await startApp(localEnv(file));
    expect(t.config.auth).toMatchObject({ kind: "local", file });

    const info = await stat(file);
    expect(info.isFile()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
    const content = await readFile(file, "utf8");
    expect(content).toMatch(madeSecret);

    const secret = content.trim();
    expect((await viewerOf(t, await mintToken("auth-rules-local", { secret }))).id).toBe("auth-rules-local");
    expect(await refusalOf(t, await mintToken("auth-rules-local", { secret: testSecret }))).toBe(messages.notValid);
  });

  it("with AUTH_ISSUER and AUTH_AUDIENCE, the development sign-in's tokens carry them and are accepted", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    const rules = { AUTH_ISSUER: "https://auth.signin.example", AUTH_AUDIENCE: "https://tasks.signin.example" };
    const t = await startApp({ ...localEnv(file), ...rules });
    const response = await t.request("/auth/dev-token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "auth-rules-signin" }),
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(decodeJwt(token)).toMatchObject({ iss: rules.AUTH_ISSUER, aud: rules.AUTH_AUDIENCE });
    expect((await viewerOf(t, token)).id).toBe("auth-rules-signin");
  });

  it("a later start reuses the file: the secret, and tokens signed with it, stay valid", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    const first = await startApp(localEnv(file));
    const content = await readFile(file, "utf8");
    const token = await mintToken("auth-rules-restart", { secret: content.trim() });
    expect((await viewerOf(first, token)).id).toBe("auth-rules-restart");
    await first.close();

    const second = await startApp(localEnv(file));
    expect(await readFile(file, "utf8")).toBe(content);
    expect((await viewerOf(second, token)).id).toBe("auth-rules-restart");
  });

  it("setUpAuth says whether it made the secret: yes on first use and for a short one, no when it reuses one", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    const { auth } = loadConfig(localEnv(file));
    expect((await setUpAuth(auth)).localSecretCreated).toBe(true);
    expect((await setUpAuth(auth)).localSecretCreated).toBe(false);
    await writeFile(file, "too short\n", { mode: 0o600 });
    expect((await setUpAuth(auth)).localSecretCreated).toBe(true);
    expect(await readFile(file, "utf8")).toMatch(madeSecret);
  });

  it("a short secret in a world-readable file is replaced by one only its owner can read", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    await writeFile(file, "too short\n", { mode: 0o644 });
    await chmod(file, 0o644);
    const { auth } = loadConfig(localEnv(file));
    expect((await setUpAuth(auth)).localSecretCreated).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("a secret of exactly 32 characters once trimmed is kept as it is, without its surrounding whitespace", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    const content = `  ${s32}\t\n`;
    await writeFile(file, content, { mode: 0o600 });
    const t = await startApp(localEnv(file));
    expect(await readFile(file, "utf8")).toBe(content);
    expect((await viewerOf(t, await mintToken("auth-rules-32", { secret: s32 }))).id).toBe("auth-rules-32");
    expect(await refusalOf(t, await mintToken("auth-rules-32", { secret: content }))).toBe(messages.notValid);
  });

  it("a secret under 32 characters once trimmed is replaced, even padded past 32 with whitespace", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    const short = s32.slice(0, 31);
    await writeFile(file, `${short}        \n`, { mode: 0o600 });
    const t = await startApp(localEnv(file));
    const content = await readFile(file, "utf8");
    expect(content).toMatch(madeSecret);
    expect(await refusalOf(t, await mintToken("auth-rules-31", { secret: short }))).toBe(messages.notValid);
    const secret = content.trim();
    expect((await viewerOf(t, await mintToken("auth-rules-31", { secret }))).id).toBe("auth-rules-31");
  });

  it("start-up fails on a directory at the file's path, with the read's error, and leaves it as it is", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    await mkdir(file);
    // The read fails, not an attempt to write a new secret over it.
    await expect(setUpAuth(loadConfig(localEnv(file)).auth)).rejects.toMatchObject({ code: "EISDIR", syscall: "read" });
    expect((await stat(file)).isDirectory()).toBe(true);
    expect(await readdir(file)).toEqual([]);
  });

  it("start-up fails on a file that cannot be read (too large), and does not replace it with a new secret", async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    await writeFile(file, "", { mode: 0o600 });
    // Sparse: 2 GiB that take no space, more than readFile will read.
    await truncate(file, 2 ** 31);
    await expect(setUpAuth(loadConfig(localEnv(file)).auth)).rejects.toMatchObject({ code: "ERR_FS_FILE_TOO_LARGE" });
    expect((await stat(file)).size).toBe(2 ** 31);
  });

  it("`npm run token` signs with the same file: its token is accepted by the local-mode app", {
    timeout: 60_000,
  }, async () => {
    const file = path.join(await tempDir(), "local-auth-secret");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/token.ts", "auth-rules-cli", "--email", "cli@example.com", "--name", "Cli"],
      // Only the secret file: no AUTH_SECRET of this process's environment.
      { cwd: root, env: { PATH: process.env.PATH ?? "", LOCAL_SECRET_FILE: file } },
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const t = await startApp(localEnv(file));
    expect(await viewerOf(t, stdout.trim())).toMatchObject({
      id: "auth-rules-cli",
      email: "cli@example.com",
      name: "Cli",
    });
  });
});
