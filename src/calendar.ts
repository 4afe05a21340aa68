/**
 * Calendar days in IANA time zones, for due dates: which instant a day starts
 * at in a zone, and which day an instant falls on. Built on Intl (Node ships
 * the full time-zone database), so daylight-saving changes, zones that skip
 * or repeat midnight, and offsets such as +14:00 come out right.
 *
 * A calendar date is a "YYYY-MM-DD" string, years 1000 to 9999; as a Date it
 * is midnight UTC of that day, which is how an all-day due date is stored.
 */

const dayMs = 86_400_000;
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The Date at midnight UTC of a valid "YYYY-MM-DD", or undefined. */
export function parseCalendarDate(text: string): Date | undefined {
  const match = datePattern.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1000 || month < 1 || month > 12 || day < 1) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // 2026-02-30 rolls over into March: not a date.
  return date.getUTCDate() === day && date.getUTCMonth() === month - 1 ? date : undefined;
}

/** An ISO-8601 date and time with its offset: 2026-12-24T17:00:00+01:00, 2026-12-24T16:00Z. */
const instantPattern = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}:[0-5]\d)$/i;

/** The instant of a valid ISO-8601 date-time with an offset (years 1000 to 9999), or undefined. */
export function parseInstant(text: string): Date | undefined {
  const match = instantPattern.exec(text);
  // The date part must be a real date: Date would roll 2026-02-30 over into March.
  if (!match?.[1] || parseCalendarDate(match[1]) === undefined) return undefined;
  const instant = new Date(text);
  if (Number.isNaN(instant.getTime())) return undefined;
  const year = instant.getUTCFullYear();
  return year >= 1000 && year <= 9999 ? instant : undefined;
}

/** "YYYY-MM-DD" of a Date at midnight UTC (or of any instant, read in UTC). */
export function formatCalendarDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * dayMs);
}

/**
 * One formatter per zone name as given. Intl accepts names in any case
 * ("europe/berlin"), so the names a client can send are unbounded: the cache
 * starts over past a bound rather than grow with them.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const maxFormatters = 1000;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    if (formatters.size >= maxFormatters) formatters.clear();
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether `name` is an IANA time zone this runtime knows, such as "Europe/Berlin" or "UTC". */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64) return false;
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock reading of `instant` in `timeZone`, as if it were UTC (milliseconds dropped). */
function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const wall = new Date(0);
  wall.setUTCFullYear(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1);
  wall.setUTCHours(parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, 0);
  return wall.getTime();
}

/** The zone's offset from UTC at `instant`, in milliseconds (positive east of Greenwich). */
function offsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return wallClock(whole, timeZone) - whole;
}

/** The calendar date (midnight UTC) that `instant` falls on in `timeZone`. */
export function dayOf(instant: Date, timeZone: string): Date {
  const wall = instant.getTime() + offsetAt(instant.getTime(), timeZone);
  return new Date(Math.floor(wall / dayMs) * dayMs);
}

/**
 * The first instant of `day` (a calendar date) in `timeZone`. Where the
 * clocks skip midnight, the day starts when they jump; where midnight comes
 * twice, at the first one.
 */
export function startOfDay(day: Date, timeZone: string): Date {
  const midnight = day.getTime();
  // Offsets change at most once around a given midnight: try the one in
  // force a day before and a day after, and keep the earliest instant that
  // already falls on the day.
  const candidates = [offsetAt(midnight - dayMs, timeZone), offsetAt(midnight + dayMs, timeZone)]
    .map((offset) => midnight - offset)
    .filter((instant) => dayOf(new Date(instant), timeZone).getTime() >= midnight);
  return new Date(Math.min(...candidates));
}
