/**
 * npm run token -- <user-id> [--email a@b.c] [--name "Ada"] [--ttl 3600]
 *
 * Prints a bearer token for the local server: signed with AUTH_SECRET (or
 * BETTER_AUTH_SECRET) when set, else with the local development secret that
 * `npm start` made under ./.data/. With AUTH_JWKS_URL, tokens come from the
 * auth service instead.
 */
import { parseArgs } from "node:util";
import { signLocalToken } from "../auth/dev-token.js";
import { loadOrCreateLocalSecret } from "../auth/local-secret.js";
import { loadConfigOrExit } from "../config.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { email: { type: "string" }, name: { type: "string" }, ttl: { type: "string", default: "3600" } },
});
const [userId] = positionals;
const ttl = Number(values.ttl);
if (!userId || !Number.isInteger(ttl) || ttl <= 0) {
  console.error('Usage: npm run token -- <user-id> [--email a@b.c] [--name "Ada"] [--ttl seconds]');
  process.exit(2);
}

const { auth } = loadConfigOrExit();
if (auth.kind === "jwks") {
  console.error("AUTH_JWKS_URL is set: tokens are issued by the auth service, not by this script.");
  process.exit(1);
}
const secret =
  auth.kind === "secret" ? new TextEncoder().encode(auth.secret) : (await loadOrCreateLocalSecret(auth.file)).secret;

console.log(
  await signLocalToken(secret, {
    userId,
    email: values.email,
    name: values.name,
    ttlSeconds: ttl,
    issuer: auth.issuer,
    audience: auth.audience,
  }),
);
