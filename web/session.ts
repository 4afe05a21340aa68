/**
 * Who is signed in, kept in this tab's sessionStorage. Two ways in:
 * - development: any user name, through the service's development sign-in
 *   (POST /auth/dev-token), which exists only while it runs on its local
 *   development secret;
 * - otherwise: a bearer token from the auth service, pasted (a host app
 *   would pass its auth client's token provider instead, see the README).
 */
export interface Session {
  /** The user name for development sign-in, which can be asked again when the token runs out. */
  user?: string;
  token: string;
}

const storageKey = "tasks-api.session";

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(storageKey);
    const parsed = raw ? (JSON.parse(raw) as Partial<Session>) : null;
    return parsed && typeof parsed.token === "string" ? { ...parsed, token: parsed.token } : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(storageKey, JSON.stringify(session));
  else sessionStorage.removeItem(storageKey);
}

/** A development token for `user`, or an error a person can act on. */
export async function devSignIn(user: string): Promise<Session> {
  const response = await fetch("/auth/dev-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
  });
  if (response.status === 404) {
    throw new Error("This server has no development sign-in (it uses a real auth service): paste a token instead.");
  }
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!response.ok || !body.token) throw new Error(body.error?.message ?? `Sign-in failed (${response.status}).`);
  return { user, token: body.token };
}
