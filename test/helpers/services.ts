/**
 * Whether a test that needs an outside service (Redis) may run. Locally a
 * missing service skips the test with a note; in CI (`CI=true`), where every
 * service is started first, a missing one fails the run instead, so that a
 * test can never pass there by not running.
 */
export function serviceAvailable(service: string, reachable: boolean, where: string): boolean {
  if (reachable) return true;
  if (process.env.CI === "true") {
    throw new Error(`${service} is not reachable at ${where}, and CI=true: CI must start it before the tests.`);
  }
  console.info(`${service} is not reachable at ${where}: the tests that need it are skipped (they run in CI).`);
  return false;
}
