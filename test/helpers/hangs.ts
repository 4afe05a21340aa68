/** Something a request can end with, or "hung" if it did not end in `hangAfterMs`. */
export type Outcome<T> = T | "hung";

/**
 * A generous bound that only tells a hang from an answer (every timeout in
 * these apps is a second or two); not a timing assertion.
 */
export const hangAfterMs = 15_000;

/** The promise's value, or "hung" if it takes longer than `hangAfterMs`. */
export async function within<T>(promise: Promise<T>): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), hangAfterMs);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}
