import { SignJWT } from "jose";

export interface LocalTokenClaims {
  /** The user id (`sub`). */
  userId: string;
  email?: string | undefined;
  name?: string | undefined;
  ttlSeconds: number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** An HS256 token for the local development secret, as the verifier expects it (`npm run token` and the dev sign-in). */
export async function signLocalToken(secret: Uint8Array, claims: LocalTokenClaims): Promise<string> {
  let jwt = new SignJWT({
    ...(claims.email ? { email: claims.email } : {}),
    ...(claims.name ? { name: claims.name } : {}),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`);
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(secret);
}

/**
 * Development sign-in: a token for any user name, signed with the local
 * development secret. It exists only while that secret is in use (no
 * AUTH_JWKS_URL or AUTH_SECRET), which production refuses to start with.
 */
export interface DevTokenIssuer {
  issue(userId: string): Promise<{ token: string; expiresAt: string }>;
}

/** One hour: the web app asks again for the same user when a token runs out. */
export const devTokenTtlSeconds = 3600;

export function createDevTokenIssuer(
  secret: Uint8Array,
  rules: { issuer?: string | undefined; audience?: string | undefined },
): DevTokenIssuer {
  return {
    async issue(userId) {
      const token = await signLocalToken(secret, { userId, ttlSeconds: devTokenTtlSeconds, ...rules });
      return { token, expiresAt: new Date(Date.now() + devTokenTtlSeconds * 1000).toISOString() };
    },
  };
}
