import type { AuthConfig } from "../config.js";
import { loadOrCreateLocalSecret } from "./local-secret.js";
import { createTokenVerifier, type TokenVerifier } from "./verify.js";

export type { TokenVerifier, Viewer } from "./verify.js";

/** The verifier the configuration asks for, with the local secret loaded if that is the mode. */
export async function setUpAuth(auth: AuthConfig): Promise<{ verifier: TokenVerifier; localSecretCreated?: boolean }> {
  if (auth.kind !== "local") return { verifier: createTokenVerifier(auth) };
  const { secret, created } = await loadOrCreateLocalSecret(auth.file);
  return { verifier: createTokenVerifier(auth, secret), localSecretCreated: created };
}
