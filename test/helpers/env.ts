/** Knobs of the long-running property tests (runs, seeds), read from the environment. */

/** A whole number above 0 from `name`, or `fallback` when it is not set. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number above 0, got ${raw}`);
  return value;
}

/** A whole number from `name`, or undefined when it is not set. */
export function optionalInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got ${raw}`);
  return value;
}
