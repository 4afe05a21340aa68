import { createHmac, generateKeyPairSync, type KeyObject, sign as signBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import fc from "fast-check";
import { CompactEncrypt, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { type JwksServer, jwksEnv, startJwksServer } from "./helpers/jwks-server.js";
import { rest } from "./helpers/rest.js";
import { testSecret } from "./helpers/tokens.js";

/**
 * A catalogue of hostile and broken JWTs, against the app in both of its
 * modes: a shared secret (HS256) and Better Auth's JWKS (EdDSA). Tokens are
 * built byte by byte here (node:crypto), so that headers can say anything,
 * duplicates included. Every rejection must be the same: 401, a Bearer
 * WWW-Authenticate challenge, the code UNAUTHENTICATED, no data, and not one
 * database query.
 */

// --- Building tokens ------------------------------------------------------------

const b64url = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");
/** A header or payload as JSON text (a string is taken as the JSON itself, duplicates and all). */
const json = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
const now = () => Math.floor(Date.now() / 1000);

type Signer = (signingInput: string) => Uint8Array;

const hmac =
  (secret: string | Uint8Array, hash: "sha256" | "sha384" | "sha512" = "sha256"): Signer =>
  (input) =>
    createHmac(hash, secret).update(input).digest();
const ed25519 =
  (privateKey: KeyObject): Signer =>
  (input) =>
    signBytes(null, Buffer.from(input), privateKey);
const ecdsa =
  (privateKey: KeyObject): Signer =>
  (input) =>
    signBytes("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
const rsa =
  (privateKey: KeyObject): Signer =>
  (input) =>
    signBytes("sha256", Buffer.from(input), privateKey);

/** `header.payload.signature`, the signature made by `signer` over the first two (empty without a signer). */
function jws(header: unknown, payload: unknown, signer?: Signer): string {
  const input = `${b64url(json(header))}.${b64url(json(payload))}`;
  return `${input}.${signer ? b64url(signer(input)) : ""}`;
}

/** An Ed25519 key pair, with its public JWK as Better Auth publishes it. */
function edKey(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk: JWK = { ...(publicKey.export({ format: "jwk" }) as JWK), kid, alg: "EdDSA", use: "sig" };
  return { kid, jwk, privateKey, publicKey, signer: ed25519(privateKey) };
}

type Segments = [string, string, string];

function segmentsOf(token: string): Segments {
  const [header, payload, signature, ...rest] = token.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) {
    throw new Error(`not a compact JWS: ${token}`);
  }
  return [header, payload, signature];
}

/**
 * Whether `tampered` is, byte for byte, the same token as `original` once
 * decoded. base64url packs 6 bits per character, so the last character of a
 * segment whose length is not a multiple of 4 carries 2 or 4 unused bits;
 * decoders (jose's too, through atob) ignore them. Changing only those bits
 * gives a different string for the very same header, payload and signature:
 * jose legitimately accepts it, so the tamper test leaves that case out.
 */
function decodesIdentically(original: string, tampered: string): boolean {
  const before = segmentsOf(original);
  const after = tampered.split(".");
  if (after.length !== 3) return false;
  return after.every(
    (segment, i) =>
      /^[A-Za-z0-9_-]*$/.test(segment) &&
      Buffer.from(segment, "base64url").equals(Buffer.from(before[i] ?? "", "base64url")),
  );
}

// --- Asking the app ---------------------------------------------------------------

interface GraphQLBody {
  data?: { viewer?: { id: string } | null } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** The viewer query over HTTP with exactly this Authorization header. */
async function askViewer(t: TestApp, authorization: string) {
  const res = await t.request("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization },
    body: JSON.stringify({ query: "{ viewer { id } }" }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLBody };
}

/** Refused as unauthenticated, in the one way the app refuses, before any database query. */
async function expectRejected(t: TestApp, token: string, what: string, authorization = `Bearer ${token}`) {
  t.queries.length = 0;
  const res = await askViewer(t, authorization);
  expect(
    {
      what,
      status: res.status,
      codes: (res.body.errors ?? []).map((error) => error.extensions?.code),
      challenge: res.headers.get("www-authenticate"),
      data: res.body.data ?? null,
      queries: t.queries,
    },
    `${what}: ${JSON.stringify(res.body)}`,
  ).toEqual({
    what,
    status: 401,
    codes: ["UNAUTHENTICATED"],
    challenge: expect.stringMatching(/^Bearer\b/),
    data: null,
    queries: [],
  });
}

/** The same refusal through REST (its response checked against the OpenAPI contract by rest()). */
async function expectRejectedRest(t: TestApp, token: string, sub: string, what: string) {
  t.queries.length = 0;
  const res = await rest(t, "GET", `/api/${sub}/tasks`, { headers: { authorization: `Bearer ${token}` } });
  expect({ what, status: res.status, body: res.body, queries: t.queries }).toMatchObject({
    what,
    status: 401,
    body: { error: { code: "UNAUTHENTICATED" } },
    queries: [],
  });
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
}

/** Accepted: the viewer is `sub` (the controls that show a refusal is about what the test changed). */
async function expectAccepted(t: TestApp, token: string, sub: string) {
  const res = await askViewer(t, `Bearer ${token}`);
  expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { data: { viewer: { id: sub } } } });
}

/** A loopback HTTP listener that counts every connection and request made to it (none are expected). */
async function startTrap(attackerJwks: JWK[]) {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    requests++;
    if (request.url?.startsWith("/jwks")) {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: attackerJwks }));
      return;
    }
    response.writeHead(200, { "content-type": "application/pkix-cert" }).end("-----BEGIN CERTIFICATE-----\n");
  });
  server.on("connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get seen() {
      return { connections, requests };
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

// --- The catalogue -----------------------------------------------------------------

const issuer = "https://auth.example.com";
const audience = "https://tasks.example.com";

describe("JWT catalogue", () => {
  /** HS256 with the test secret, no issuer or audience configured. */
  let hs: TestApp;
  /** HS256 with AUTH_ISSUER and AUTH_AUDIENCE. */
  let hsBound: TestApp;
  /** JWKS (EdDSA) from a loopback key server. */
  let jw: TestApp;
  let jwks: JwksServer;
  let served: ReturnType<typeof edKey>;
  let attacker: ReturnType<typeof edKey>;
  let trap: Awaited<ReturnType<typeof startTrap>>;

  /** Claims that the HS256 app accepts for `sub`. */
  const hsClaims = (sub: string, extra: Record<string, unknown> = {}) => ({
    sub,
    iat: now(),
    exp: now() + 900,
    ...extra,
  });
  /** Claims that the JWKS app accepts for `sub` (its issuer and audience are the key server's URL). */
  const jwClaims = (sub: string, extra: Record<string, unknown> = {}) => ({
    sub,
    iss: jwks.baseUrl,
    aud: jwks.baseUrl,
    iat: now(),
    exp: now() + 900,
    ...extra,
  });
  const hsHeader = { alg: "HS256", typ: "JWT" };
  const edHeader = () => ({ alg: "EdDSA", kid: served.kid });
  const valid = hmac(testSecret);

  beforeAll(async () => {
    served = edKey("served-key");
    attacker = edKey("attacker-key");
    jwks = await startJwksServer([served.jwk]);
    trap = await startTrap([attacker.jwk, { ...attacker.jwk, kid: served.kid }]);
    [hs, hsBound, jw] = await Promise.all([
      startTestApp(),
      startTestApp({ AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience }),
      startTestApp(jwksEnv(jwks)),
    ]);
  });
  afterAll(async () => {
    await Promise.all([hs?.close(), hsBound?.close(), jw?.close()]);
    await jwks?.close();
    await trap?.close();
  });

  it("the controls: well-made tokens are accepted by each app", async () => {
    await expectAccepted(hs, jws(hsHeader, hsClaims("cat-ok-hs"), valid), "cat-ok-hs");
    await expectAccepted(
      hsBound,
      jws(hsHeader, hsClaims("cat-ok-bound", { iss: issuer, aud: audience }), valid),
      "cat-ok-bound",
    );
    await expectAccepted(jw, jws(edHeader(), jwClaims("cat-ok-jw"), served.signer), "cat-ok-jw");
  });

  describe("alg: none", () => {
    it.each(["none", "None", "NONE", "nOnE"])(
      "alg %s is refused by both apps, with or without a signature",
      async (alg) => {
        const sub = `cat-none-${alg}`;
        await expectRejected(hs, jws({ alg, typ: "JWT" }, hsClaims(sub)), `HS256 app, alg ${alg}, unsigned`);
        await expectRejected(hs, jws({ alg, typ: "JWT" }, hsClaims(sub), valid), `HS256 app, alg ${alg}, HMAC-signed`);
        await expectRejected(jw, jws({ alg, kid: served.kid }, jwClaims(sub)), `JWKS app, alg ${alg}, unsigned`);
        await expectRejected(
          jw,
          jws({ alg, kid: served.kid }, jwClaims(sub), served.signer),
          `JWKS app, alg ${alg}, signed by the served key`,
        );
        await expectRejectedRest(hs, jws({ alg }, hsClaims(sub)), sub, `REST, alg ${alg}`);
      },
    );
  });

  describe("algorithm swaps", () => {
    it("an HS256 token whose secret is the JWKS app's public key, in every form, is refused without a key fetch", async () => {
      const before = jwks.requests;
      const x = served.jwk.x;
      if (typeof x !== "string") throw new Error("an Ed25519 JWK has x");
      const secrets: [string, string | Uint8Array][] = [
        ["raw public key bytes", Buffer.from(x, "base64url")],
        ["the x value as text", x],
        ["the JWK as JSON", JSON.stringify(served.jwk)],
        ["the public key as PEM", served.publicKey.export({ format: "pem", type: "spki" }).toString()],
        ["the public key as DER", served.publicKey.export({ format: "der", type: "spki" })],
      ];
      for (const [name, secret] of secrets) {
        const token = jws({ alg: "HS256", kid: served.kid }, jwClaims("cat-confused"), hmac(secret));
        await expectRejected(jw, token, `HS256 signed with ${name}`);
      }
      // Refused on the algorithm alone: the key set was not asked for.
      expect(jwks.requests - before).toBe(0);
    });

    it("an EdDSA, ES256 or RS256 token is refused by the HS256 app", async () => {
      await expectRejected(hs, jws({ alg: "EdDSA" }, hsClaims("cat-ed"), attacker.signer), "EdDSA");
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
      await expectRejected(hs, jws({ alg: "ES256" }, hsClaims("cat-es"), ecdsa(ec.privateKey)), "ES256");
      const rs = generateKeyPairSync("rsa", { modulusLength: 2048 });
      await expectRejected(hs, jws({ alg: "RS256" }, hsClaims("cat-rs"), rsa(rs.privateKey)), "RS256");
    });

    it("the right secret under another HMAC algorithm (HS384, HS512) is refused: HS256 is pinned", async () => {
      await expectRejected(hs, jws({ alg: "HS384" }, hsClaims("cat-hs384"), hmac(testSecret, "sha384")), "HS384");
      await expectRejected(hs, jws({ alg: "HS512" }, hsClaims("cat-hs512"), hmac(testSecret, "sha512")), "HS512");
      // An HS256 signature under a header that says HS512.
      await expectRejected(hs, jws({ alg: "HS512" }, hsClaims("cat-hs-mislabel"), valid), "HS512 label, HS256 MAC");
    });

    it("a signature by the served key under another label (Ed25519, ES256) is refused", async () => {
      await expectRejected(
        jw,
        jws({ alg: "Ed25519", kid: served.kid }, jwClaims("cat-label"), served.signer),
        "Ed25519",
      );
      await expectRejected(jw, jws({ alg: "ES256", kid: served.kid }, jwClaims("cat-label"), served.signer), "ES256");
    });
  });

  describe("claims", () => {
    it.each([
      ["no sub", { sub: undefined }],
      ["an empty sub", { sub: "" }],
      ["a numeric sub", { sub: 42 }],
      ["an object sub", { sub: { id: "cat-object" } }],
      ["no exp", { exp: undefined }],
      ["a string exp", { exp: String(now() + 900) }],
      ["a null exp", { exp: null }],
      ["an exp beyond the clock tolerance", { exp: now() - 60 }],
      ["an exp long gone", { exp: 1 }],
      ["an nbf beyond the clock tolerance", { nbf: now() + 120 }],
      ["a string nbf", { nbf: "0" }],
      ["a string iat", { iat: "now" }],
    ])("%s is refused by both apps", async (name, change) => {
      const sub = `cat-claims-${name.replaceAll(" ", "-")}`;
      await expectRejected(hs, jws(hsHeader, hsClaims(sub, change), valid), `HS256 app: ${name}`);
      await expectRejected(jw, jws(edHeader(), jwClaims(sub, change), served.signer), `JWKS app: ${name}`);
    });

    it("a payload that is not a JSON object is refused, even validly signed", async () => {
      for (const payload of ["[]", '"cat"', "null", "42", "{", '{"sub":"cat-trailing","exp":9999999999} x']) {
        await expectRejected(hs, jws(hsHeader, payload, valid), `HS256 app, payload ${payload}`);
        await expectRejected(jw, jws(edHeader(), payload, served.signer), `JWKS app, payload ${payload}`);
      }
    });

    it.each<[string, (iss: string, aud: string) => Record<string, unknown>]>([
      ["a wrong iss", () => ({ iss: "https://evil.example.com" })],
      ["an iss with a trailing slash", (iss) => ({ iss: `${iss}/` })],
      ["an iss in another case", (iss) => ({ iss: iss.toUpperCase() })],
      ["no iss", () => ({ iss: undefined })],
      ["an iss list", (iss) => ({ iss: [iss] })],
      ["a wrong aud", () => ({ aud: "https://other.example.com" })],
      ["an aud list without ours", (_iss, aud) => ({ aud: ["https://other.example.com", `${aud}/`] })],
      ["an empty aud list", () => ({ aud: [] })],
      ["no aud", () => ({ aud: undefined })],
    ])("%s is refused where an issuer and audience are configured", async (name, change) => {
      const sub = `cat-iss-${name.replaceAll(" ", "-")}`;
      const hsBoundClaims = hsClaims(sub, { iss: issuer, aud: audience, ...change(issuer, audience) });
      await expectRejected(hsBound, jws(hsHeader, hsBoundClaims, valid), `HS256 app: ${name}`);
      const jwBoundClaims = jwClaims(sub, change(jwks.baseUrl, jwks.baseUrl));
      await expectRejected(jw, jws(edHeader(), jwBoundClaims, served.signer), `JWKS app: ${name}`);
    });
  });

  describe("tampering: any single-byte change is refused", () => {
    /** Replacement characters: mostly base64url and the dot (the ones that reach the verifier), then anything a header can hold. */
    const replacement = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") },
      { weight: 1, arbitrary: fc.constantFrom("+", "/", "=", "~", " ", "\t", "%", "\\", '"', "\u00a0", "\u00ff") },
      { weight: 1, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
    );

    async function tamperProperty(t: TestApp, token: string, sub: string) {
      const dots = [...token.matchAll(/\./g)].map((match) => match.index);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: token.length - 1 }), replacement, async (index, char) => {
          fc.pre(token[index] !== char);
          const tampered = `${token.slice(0, index)}${char}${token.slice(index + 1)}`;
          if (decodesIdentically(token, tampered)) {
            // Only the unused low bits of a segment's last character can do this.
            expect(index === token.length - 1 || token[index + 1] === ".").toBe(true);
            return;
          }
          await expectRejected(
            t,
            tampered,
            `byte ${index} (${JSON.stringify(token[index])} -> ${JSON.stringify(char)})`,
          );
        }),
        {
          numRuns: 400,
          // Both dots, the first and the last byte, always.
          examples: [
            ...dots.flatMap((dot): [number, string][] => [
              [dot, "A"],
              [dot, "_"],
            ]),
            [0, "f"],
            [token.length - 1, "."],
          ],
        },
      );
      // The untouched token still works: the refusals were about the change.
      await expectAccepted(t, token, sub);
    }

    it("an HS256 token (HS256 app)", { timeout: 60_000 }, async () => {
      const sub = "cat-tamper-hs";
      await tamperProperty(hs, jws(hsHeader, hsClaims(sub, { email: "tamper@example.com" }), valid), sub);
    });

    it("an EdDSA token (JWKS app)", { timeout: 60_000 }, async () => {
      const sub = "cat-tamper-jw";
      await tamperProperty(jw, jws(edHeader(), jwClaims(sub, { email: "tamper@example.com" }), served.signer), sub);
    });

    it("the unused-bits case exists, and is the only one left out", () => {
      // A 32-byte signature is 43 characters: the last one carries 2 unused bits.
      const token = jws(hsHeader, hsClaims("cat-bits"), valid);
      const [, , signature] = segmentsOf(token);
      const last = signature.at(-1) ?? "";
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const value = alphabet.indexOf(last);
      const twin = alphabet[value ^ 1] ?? "";
      const tampered = `${token.slice(0, -1)}${twin}`;
      expect(tampered).not.toBe(token);
      expect(decodesIdentically(token, tampered)).toBe(true);
      // A change of a used bit is not excluded.
      const used = alphabet[value ^ 4] ?? "";
      expect(decodesIdentically(token, `${token.slice(0, -1)}${used}`)).toBe(false);
    });
  });

  describe("oversized and odd headers", () => {
    it("a 100 KB kid gets a fast 401, no key fetch, and the app keeps serving", async () => {
      const kid = "k".repeat(100 * 1024);
      const before = jwks.requests;
      await expectRejected(hs, jws({ alg: "HS256", kid }, hsClaims("cat-huge"), valid), "HS256 app, 100 KB kid");
      await expectRejected(jw, jws({ alg: "EdDSA", kid }, jwClaims("cat-huge"), served.signer), "JWKS app, 100 KB kid");
      expect(jwks.requests - before).toBe(0);
      await expectAccepted(hs, jws(hsHeader, hsClaims("cat-after-huge"), valid), "cat-after-huge");
      await expectAccepted(jw, jws(edHeader(), jwClaims("cat-after-huge"), served.signer), "cat-after-huge");
    });

    it("odd kids (long, non-string, unknown) never let another key in", async () => {
      const kids: unknown[] = ["x".repeat(4000), 42, null, [served.kid], { kid: served.kid }, "", "../../etc/passwd"];
      for (const kid of kids) {
        const token = jws({ alg: "EdDSA", kid }, jwClaims("cat-odd-kid"), attacker.signer);
        await expectRejected(jw, token, `kid ${JSON.stringify(kid).slice(0, 40)}`);
      }
    });

    it("a header that is not a JSON object is refused", async () => {
      for (const header of ["[]", "null", '"HS256"', "{", '{"alg":"HS256"} x', "", '{"alg":"HS256",}']) {
        await expectRejected(hs, jws(header, hsClaims("cat-bad-header"), valid), `header ${header}`);
      }
    });
  });

  describe("keys named by the token (jku, x5u, jwk, x5c) are never fetched or trusted", () => {
    const keyHeaders = () => ({
      jku: `${trap.url}/jwks.json`,
      x5u: `${trap.url}/cert.pem`,
      jwk: attacker.jwk,
      x5c: ["MIIBdummy"],
    });

    it("a token signed by the attacker's key and pointing at it is refused; the listener hears nothing", async () => {
      const headers: [string, Record<string, unknown>][] = [
        ["jku", { jku: `${trap.url}/jwks.json` }],
        ["jku with the served kid", { jku: `${trap.url}/jwks.json`, kid: served.kid }],
        ["x5u", { x5u: `${trap.url}/cert.pem` }],
        ["embedded jwk", { jwk: attacker.jwk }],
        ["embedded jwk, no kid", { jwk: attacker.jwk, kid: undefined }],
        ["x5c", { x5c: ["MIIBdummy"] }],
        ["all of them", keyHeaders()],
      ];
      for (const [name, extra] of headers) {
        const header = { alg: "EdDSA", kid: attacker.kid, ...extra };
        await expectRejected(jw, jws(header, jwClaims("cat-jku"), attacker.signer), `JWKS app: ${name}`);
        await expectRejected(hs, jws(header, hsClaims("cat-jku"), attacker.signer), `HS256 app: ${name}`);
        // An HMAC made with a secret of the attacker's, pointing at the attacker's keys.
        const hsHeaderWithKeys = { alg: "HS256", ...extra };
        await expectRejected(hs, jws(hsHeaderWithKeys, hsClaims("cat-jku"), hmac("attacker-secret")), `HS256: ${name}`);
      }
      expect(trap.seen).toEqual({ connections: 0, requests: 0 });
    });

    it("a token signed by the configured key keeps being verified with it alone, whatever the headers say", async () => {
      await expectAccepted(hs, jws({ ...hsHeader, ...keyHeaders() }, hsClaims("cat-keys-hs"), valid), "cat-keys-hs");
      await expectAccepted(
        jw,
        jws({ ...edHeader(), ...keyHeaders() }, jwClaims("cat-keys-jw"), served.signer),
        "cat-keys-jw",
      );
      expect(trap.seen).toEqual({ connections: 0, requests: 0 });
    });
  });

  describe("crit", () => {
    it.each<[string, Record<string, unknown>]>([
      [
        "an unknown extension",
        { crit: ["https://example.com/must-understand"], "https://example.com/must-understand": 1 },
      ],
      ["an extension named but absent", { crit: ["cat"] }],
      ["a claim name as extension", { crit: ["exp"], exp: now() + 900 }],
      ["a registered header (alg)", { crit: ["alg"] }],
      ["an empty list", { crit: [] }],
      ["a string, not a list", { crit: "cat" }],
      ["a list with an empty name", { crit: [""] }],
    ])("a validly signed token with crit: %s is refused", async (name, extra) => {
      await expectRejected(hs, jws({ ...hsHeader, ...extra }, hsClaims("cat-crit"), valid), `HS256 app: ${name}`);
      await expectRejected(
        jw,
        jws({ ...edHeader(), ...extra }, jwClaims("cat-crit"), served.signer),
        `JWKS app: ${name}`,
      );
    });
  });

  describe("duplicate and ambiguous JSON", () => {
    // RFC 7515 §4: a parser must reject duplicate header names or take the
    // last one. Whichever it does, a token is never accepted on the strength
    // of the first one.
    it("a duplicated alg is never read as the allowed one when the last says otherwise", async () => {
      const body = b64url(json(hsClaims("cat-dup")));
      for (const header of [
        '{"alg":"HS256","alg":"none"}',
        '{"alg":"HS256","alg":"HS512"}',
        '{"alg":"HS256","alg":null}',
      ]) {
        const input = `${b64url(header)}.${body}`;
        await expectRejected(hs, `${input}.${b64url(valid(input))}`, `${header}, HMAC-signed`);
        await expectRejected(hs, `${input}.`, `${header}, unsigned`);
      }
      await expectRejected(hs, jws('{"alg":"none","alg":"HS256"}', hsClaims("cat-dup")), "none then HS256, unsigned");
    });

    it("a duplicated kid cannot pick the attacker's key, nor an unsigned duplicated payload a victim", async () => {
      const header = `{"alg":"EdDSA","kid":"${served.kid}","kid":"${attacker.kid}"}`;
      await expectRejected(
        jw,
        jws(header, jwClaims("cat-dup-kid"), attacker.signer),
        "served kid, then the attacker's",
      );
      const reversed = `{"alg":"EdDSA","kid":"${attacker.kid}","kid":"${served.kid}"}`;
      await expectRejected(
        jw,
        jws(reversed, jwClaims("cat-dup-kid"), attacker.signer),
        "attacker's kid, then the served one",
      );
      const payload = `{"sub":"cat-victim","sub":"cat-attacker","exp":${now() + 900}}`;
      await expectRejected(hs, jws(hsHeader, payload, hmac("attacker-secret")), "duplicate sub, wrong secret");
      expect(await hs.db.prisma.user.findUnique({ where: { id: "cat-victim" } })).toBeNull();
      expect(await hs.db.prisma.user.findUnique({ where: { id: "cat-attacker" } })).toBeNull();
    });

    it("a header in UTF-16 is refused even validly signed; with a byte-order mark, only the secret counts", async () => {
      const claims = b64url(json(hsClaims("cat-bom")));
      const signed = (header: Buffer, signer: Signer) => {
        const input = `${b64url(header)}.${claims}`;
        return `${input}.${b64url(signer(input))}`;
      };
      const utf16 = Buffer.from(JSON.stringify(hsHeader), "utf16le");
      await expectRejected(hs, signed(utf16, valid), "a UTF-16 header");
      // jose decodes the header with TextDecoder, which drops a leading BOM: a
      // BOM header signed with the secret is the signer's own token (harmless),
      // so only a BOM header under another secret is in this catalogue.
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(hsHeader))]);
      await expectRejected(hs, signed(bom, hmac("attacker-secret")), "a BOM header under another secret");
    });
  });

  describe("shape: whitespace and segments", () => {
    it("whitespace inside a valid token is refused", async () => {
      const token = jws(hsHeader, hsClaims("cat-space"), valid);
      const [header, payload, signature] = segmentsOf(token);
      const variants: [string, string][] = [
        ["a space after the first dot", `Bearer ${header}. ${payload}.${signature}`],
        ["a space inside the payload", `Bearer ${header}.${payload.slice(0, 5)} ${payload.slice(5)}.${signature}`],
        ["a tab inside the signature", `Bearer ${header}.${payload}.${signature.slice(0, 5)}\t${signature.slice(5)}`],
        ["a tab instead of the space after Bearer", `Bearer\t${token}`],
        ["a no-break space after the token", `Bearer ${token}\u00a0`],
        ["two tokens", `Bearer ${token} ${token}`],
      ];
      for (const [name, authorization] of variants) await expectRejected(hs, token, name, authorization);
      await expectAccepted(hs, token, "cat-space");
    });

    it("too few or too many segments are refused, a real JWE included", async () => {
      const token = jws(hsHeader, hsClaims("cat-segments"), valid);
      const [header, payload, signature] = segmentsOf(token);
      const jweHeader = b64url(json({ alg: "dir", enc: "A256GCM" }));
      const jwe = await new CompactEncrypt(new TextEncoder().encode(json(hsClaims("cat-segments"))))
        .setProtectedHeader({ alg: "PBES2-HS256+A128KW", enc: "A128GCM", p2c: 1000 })
        .encrypt(new TextEncoder().encode(testSecret));
      expect(jwe.split(".")).toHaveLength(5);
      const variants: [string, string][] = [
        ["one segment", header],
        ["two segments", `${header}.${payload}`],
        ["a trailing dot", `${token}.`],
        ["four segments", `${token}.${signature}`],
        ["a leading dot", `.${token}`],
        ["a doubled dot", `${header}..${payload}.${signature}`],
        ["five JWE-looking segments", `${jweHeader}.${payload}.${b64url("iv-iv-iv-iv")}.${payload}.${signature}`],
        ["a real JWE made with the secret", jwe],
        ["an empty payload, signed", jws(hsHeader, "", valid)],
        ["only dots", ".."],
      ];
      for (const [name, bad] of variants) await expectRejected(hs, bad, name);
      await expectAccepted(hs, token, "cat-segments");
    });
  });
});
