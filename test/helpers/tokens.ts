import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

/** The shared secret the test apps verify HS256 tokens with. */
export const testSecret = "test-secret-that-is-at-least-32-bytes-long";

export interface MintOptions {
  /** Seconds from now; negative for an expired token. Default 15 minutes. */
  expiresIn?: number;
  secret?: string;
  issuer?: string;
  audience?: string;
  claims?: JWTPayload;
  notBefore?: number;
  omitExpiry?: boolean;
}

/** A real HS256 token for `sub`, as Better Auth's shared-secret setup would issue. */
export function mintToken(sub: string | undefined, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ ...options.claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(now);
  if (sub !== undefined) jwt = jwt.setSubject(sub);
  if (!options.omitExpiry) jwt = jwt.setExpirationTime(now + (options.expiresIn ?? 900));
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(now + options.notBefore);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret ?? testSecret));
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** An Ed25519 key pair with a `kid`, as Better Auth's JWT plugin publishes at /api/auth/jwks. */
export async function makeSigningKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  return {
    kid,
    jwk,
    sign(sub: string, options: { issuer?: string; audience?: string; expiresIn?: number; claims?: JWTPayload } = {}) {
      const now = Math.floor(Date.now() / 1000);
      let jwt = new SignJWT({ ...options.claims })
        .setProtectedHeader({ alg: "EdDSA", kid })
        .setSubject(sub)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 900));
      if (options.issuer) jwt = jwt.setIssuer(options.issuer);
      if (options.audience) jwt = jwt.setAudience(options.audience);
      return jwt.sign(privateKey);
    },
  };
}
