import type { AuthConfig } from "../config.js";
import { createDevTokenIssuer, type DevTokenIssuer } from "./dev-token.js";
import { loadOrCreateLocalSecret } from "./local-secret.js";
import { createTokenVerifier, type TokenVerifier } from "./verify.js";

export type { DevTokenIssuer } from "./dev-token.js";
export type { TokenVerifier, Viewer } from "./verify.js";

/**
 * The verifier the configuration asks for. With the local development
 * secret, also what signs development tokens (the dev sign-in route); with
 * a real auth service there is no such thing.
 */
export async function setUpAuth(
  auth: AuthConfig,
): Promise<{ verifier: TokenVerifier; localSecretCreated?: boolean; devTokens?: DevTokenIssuer }> {
  if (auth.kind !== "local") return { verifier: createTokenVerifier(auth) };
  const { secret, created } = await loadOrCreateLocalSecret(auth.file);
  return {
    verifier: createTokenVerifier(auth, secret),
    localSecretCreated: created,
    devTokens: createDevTokenIssuer(secret, { issuer: auth.issuer, audience: auth.audience }),
  };
}
