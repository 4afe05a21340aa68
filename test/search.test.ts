import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { dataOf, execute } from "./helpers/graphql.js";
import { CreateTask, ListTasks } from "./helpers/operations.js";
import { listOf, rest } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * Search is a plain substring match: LIKE's wildcards (`%`, `_`) and its
 * escape character (`\`) in what a user types are literal characters.
 * Fixed cases, each with a near miss that a wildcard would wrongly match.
 */
const titles = ["back\\slash", "100\\% odd", "100% done", "1000 done", "a_b", "axb", "plain"];
const cases: [search: string, expected: string[]][] = [
  ["\\", ["100\\% odd", "back\\slash"]],
  ["\\%", ["100\\% odd"]],
  ["100%", ["100% done"]],
  ["a_b", ["a_b"]],
  ["%", ["100% done", "100\\% odd"]],
  ["_", ["a_b"]],
];

describe("search with LIKE's special characters", () => {
  const user = "search-user";
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    token = await mintToken(user);
    for (const title of titles) dataOf(await execute(t, CreateTask, { input: { title } }, token));
  });
  afterAll(() => t.close());

  it.each(cases)("GraphQL search %j finds exactly %j", async (search, expected) => {
    const { tasks } = dataOf(await execute(t, ListTasks, { first: 100, filter: { search } }, token));
    expect(tasks.edges.map((edge) => edge.node.title).sort()).toEqual([...expected].sort());
    expect(tasks.totalCount).toBe(expected.length);
  });

  it.each(cases)("REST ?q=%j finds exactly %j", async (search, expected) => {
    const list = listOf(await rest(t, "GET", `/api/${user}/tasks?q=${encodeURIComponent(search)}`, { token }));
    expect(list.data.map((task) => task.title).sort()).toEqual([...expected].sort());
    expect(list.meta.total).toBe(expected.length);
  });
});
