import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from "jose";
import type { AuthConfig } from "../config.js";
import { ServiceUnavailableError, UnauthenticatedError } from "../errors.js";
import { isStorableText } from "../text.js";

/** Who is calling, from a verified token. */
export interface Viewer {
  /** The token's `sub`: the auth service's user id. */
  id: string;
  email: string | null;
  name: string | null;
  /** When the token stops being valid (its `exp`), in ms since the epoch: a live stream ends then. */
  expiresAt: number;
}

export interface Verified {
  viewer: Viewer;
  /** False when the answer came from the cache of verified tokens. */
  fresh: boolean;
  /**
   * Puts a fresh token in the cache. Call it once the token's user row is
   * known to exist, since a cached token skips the user upsert.
   */
  remember(): void;
}

export interface TokenVerifier {
  /** Resolves with the viewer, or throws UnauthenticatedError / ServiceUnavailableError. */
  verify(token: string): Promise<Verified>;
}

/** Longer than any real JWT: refused before any parsing. */
const maxTokenLength = 8192;

/**
 * Verifies bearer tokens the way the configuration says (JWKS or a shared
 * secret), never the way the token's header suggests. Verified tokens are
 * remembered until they expire, so a repeated token costs a Map lookup.
 */
export function createTokenVerifier(auth: AuthConfig, secret?: Uint8Array): TokenVerifier {
  const options: JWTVerifyOptions = {
    algorithms: auth.kind === "jwks" ? auth.algorithms : ["HS256"],
    requiredClaims: ["sub", "exp"],
    clockTolerance: auth.clockToleranceSeconds,
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience }),
  };
  const verifyJwt = (() => {
    if (auth.kind === "jwks") {
      // Created once: it caches the key set and refetches on an unknown `kid`
      // at most once per cooldown, so unknown kids cannot hammer the endpoint.
      const jwks = createRemoteJWKSet(new URL(auth.jwksUrl), {
        timeoutDuration: auth.timeoutMs,
        cooldownDuration: auth.cooldownMs,
      });
      return (token: string) => jwtVerify(token, jwks, options);
    }
    const key = secret ?? (auth.kind === "secret" ? new TextEncoder().encode(auth.secret) : undefined);
    if (key === undefined) throw new Error("The local development secret must be loaded before verifying tokens.");
    return (token: string) => jwtVerify(token, key, options);
  })();

  const cache = new Map<string, { viewer: Viewer; expiresAt: number }>();

  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached !== undefined) {
        if (cached.expiresAt > Date.now()) return { viewer: cached.viewer, fresh: false, remember: () => {} };
        cache.delete(token);
      }
      if (token.length > maxTokenLength) throw new UnauthenticatedError("The bearer token is too large.");

      let payload: JWTPayload;
      try {
        ({ payload } = await verifyJwt(token));
      } catch (error) {
        throw toAuthError(error);
      }
      const viewer = viewerFrom(payload);
      const { exp } = payload;
      const remember = () => {
        if (auth.cacheSize === 0 || exp === undefined) return;
        if (cache.size >= auth.cacheSize) {
          // Evict the oldest entry: Map keeps insertion order.
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
        cache.set(token, { viewer, expiresAt: exp * 1000 });
      };
      return { viewer, fresh: true, remember };
    },
  };
}

function viewerFrom(payload: JWTPayload): Viewer {
  const { sub } = payload;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > 255 || !isStorableText(sub)) {
    throw new UnauthenticatedError("The token's subject is not a valid user id.");
  }
  const text = (value: unknown) =>
    typeof value === "string" && value.length <= 320 && isStorableText(value) ? value : null;
  // `exp` is a required claim: jose has checked that it is there and a number.
  return { id: sub, email: text(payload.email), name: text(payload.name), expiresAt: Number(payload.exp) * 1000 };
}

/**
 * A bad token is the caller's problem (401); a key set that cannot be fetched
 * is ours (503), and must not look like a bad token.
 */
function toAuthError(error: unknown): Error {
  if (error instanceof UnauthenticatedError) return error;
  if (error instanceof errors.JWTExpired) return new UnauthenticatedError("The bearer token has expired.");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new ServiceUnavailableError("The auth service's keys cannot be fetched. Try again shortly.");
  }
  if (error instanceof errors.JOSEError && error.code !== "ERR_JOSE_GENERIC") {
    return new UnauthenticatedError("The bearer token is not valid.");
  }
  // A failed fetch of the key set (connection refused, non-200 answer).
  return new ServiceUnavailableError("The auth service's keys cannot be fetched. Try again shortly.");
}
