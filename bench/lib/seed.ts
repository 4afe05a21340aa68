/**
 * The benchmark's data: 100 users x 1000 tasks, made with set-based SQL that
 * runs the same on PostgreSQL and on PGlite. Titles are drawn from word lists
 * (4000 combinations), descriptions from sentences (a fifth
 * have none), a third of the tasks are completed, and creation times spread
 * over a year with deterministic jitter and some exact ties, inserted in time
 * order across users as real traffic would write them.
 */

export const userCount = 100;
export const tasksPerUser = 1000;

export function userId(n: number): string {
  return `user-${String(n).padStart(3, "0")}`;
}

export const users: string[] = Array.from({ length: userCount }, (_, i) => userId(i + 1));

/** The token claims that match each seeded user row (so the first request's upsert changes nothing). */
export function userClaims(id: string): { email: string; name: string } {
  const n = Number(id.slice(5));
  return { email: `user${n}@example.com`, name: `User ${n}` };
}

export const seedStatements: string[] = [
  `INSERT INTO users (id, email, name, created_at, updated_at)
   SELECT format('user-%s', lpad(u::text, 3, '0')), format('user%s@example.com', u), format('User %s', u),
          timestamptz '2025-01-01 00:00:00+00', timestamptz '2025-01-01 00:00:00+00'
   FROM generate_series(1, ${userCount}) AS u`,
  "SELECT setseed(0.42)",
  `WITH words AS (
     SELECT ARRAY['write', 'review', 'fix', 'plan', 'call', 'email', 'update', 'book', 'order', 'clean',
                  'prepare', 'send', 'check', 'draft', 'schedule', 'pay', 'buy', 'renew', 'test', 'ship'] AS verbs,
            ARRAY['report', 'invoice', 'meeting notes', 'budget', 'slides', 'garden', 'car service', 'dentist',
                  'groceries', 'release', 'newsletter', 'taxes', 'flights', 'onboarding doc', 'backlog',
                  'contract', 'roadmap', 'kitchen', 'insurance', 'birthday gift'] AS nouns,
            ARRAY['before Friday', 'for the team', 'with Alex', 'ASAP', 'this week', 'for Q3', 'again',
                  'if time allows', 'for the client', 'at home'] AS tails,
            ARRAY['Remember to attach the latest numbers.', 'Blocked on feedback from legal.',
                  'See the thread in the shared inbox for context.', 'Needs a second pair of eyes.',
                  'Low priority but keeps slipping.', 'Ask finance about the quarterly figures first.',
                  'Bring the printed copy.', 'Follow up if there is no answer by Monday.',
                  'Split into smaller steps once scoped.', 'Linked to the annual planning effort.'] AS sentences
   ),
   slots AS (
     SELECT u, n,
            CASE WHEN n % 50 IN (48, 49) THEN n - n % 50 + 47
                 WHEN n % 10 = 0 THEN n - 1
                 ELSE n END AS k
     FROM generate_series(1, ${userCount}) AS u, generate_series(1, ${tasksPerUser}) AS n
   ),
   drafted AS (
     SELECT s.u, s.n,
            format('user-%s', lpad(s.u::text, 3, '0')) AS user_id,
            timestamptz '2025-01-01 00:00:00+00'
              + s.k * interval '8 hours 45 minutes'
              + (abs(hashint8(s.u::bigint * 100000 + s.k)) % 28800000) * interval '1 millisecond' AS created_at,
            random() < 1.0 / 3 AS is_completed,
            random() AS r1, random() AS r2, random() AS r3
     FROM slots AS s
   )
   INSERT INTO tasks (user_id, title, description, is_completed, completed_at, created_at, updated_at, version)
   SELECT d.user_id,
          initcap(w.verbs[1 + abs(hashint8(d.u::bigint * 1000003 + d.n)::bigint) % 20])
            || ' ' || w.nouns[1 + abs(hashint8(d.u::bigint * 1000033 + d.n * 7)::bigint) % 20]
            || ' ' || w.tails[1 + abs(hashint8(d.u::bigint * 1000037 + d.n * 13)::bigint) % 10],
          CASE WHEN d.r1 < 0.2 THEN NULL
               ELSE (SELECT string_agg(w.sentences[1 + (d.n * 11 + d.u * 5 + i * 7) % 10], ' ')
                     FROM generate_series(1, 1 + (d.n + d.u) % 8) AS i) END,
          d.is_completed,
          CASE WHEN d.is_completed THEN d.created_at + d.r2 * interval '30 days' END,
          d.created_at,
          CASE WHEN d.is_completed THEN d.created_at + d.r2 * interval '30 days' + interval '1 second'
               WHEN d.r3 < 0.5 THEN d.created_at + d.r3 * interval '20 days'
               ELSE d.created_at END,
          1 + floor(d.r3 * 4)::int
   FROM drafted AS d CROSS JOIN words AS w
   ORDER BY d.created_at`,
  // As autovacuum would have left a table of this age: statistics and the visibility map.
  "VACUUM ANALYZE users",
  "VACUUM ANALYZE tasks",
];

/** Per user, up to `perUser` of their task ids (for W2's random reads), in a stable random order. */
export const sampleIdsSql = (perUser: number) => `
  SELECT user_id, id::text AS id FROM (
    SELECT user_id, id, row_number() OVER (PARTITION BY user_id ORDER BY md5(id::text)) AS r FROM tasks
  ) AS t WHERE r <= ${perUser} ORDER BY user_id, r`;

export const describeSql = `
  SELECT (SELECT count(*) FROM users)::int AS users,
         (SELECT count(*) FROM tasks)::int AS tasks,
         (SELECT count(*) FROM tasks WHERE is_completed)::int AS completed,
         (SELECT count(DISTINCT title) FROM tasks)::int AS titles`;

export interface DataSummary {
  users: number;
  tasks: number;
  completed: number;
  titles: number;
}

export function groupIds(rows: { user_id: string; id: string }[]): Record<string, string[]> {
  const byUser: Record<string, string[]> = {};
  for (const row of rows) {
    const ids = byUser[row.user_id] ?? [];
    ids.push(row.id);
    byUser[row.user_id] = ids;
  }
  return byUser;
}
