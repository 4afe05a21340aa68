/**
 * The requests each workload sends. Every request uses a random user's real
 * token (W5: a forged one). The same generators feed autocannon (closed
 * loop), the open-loop sender and the statement-count pass, so all three send
 * exactly the same traffic.
 */

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type WorkloadId =
  | "w1-rest"
  | "w1-graphql"
  | "w1-peer"
  | "w2-rest"
  | "w2-graphql"
  | "w3-rest"
  | "w4-rest"
  | "w5-rest";

export interface Fixtures {
  users: string[];
  /** A valid HS256 token per user. */
  tokens: Record<string, string>;
  /** Per user, a token with the right shape and claims but the wrong signature. */
  badTokens: Record<string, string>;
  /** Per user, some of their seeded task ids. */
  taskIds: Record<string, string[]>;
}

export interface Outgoing {
  method: Method;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The one status this request must get; anything else is an error. */
  expect: number;
  /** A GraphQL response: an `errors` member is an error even with the expected status. */
  graphql: boolean;
  /** Bookkeeping once the response is in (the write mix's state). */
  done?: (status: number, body: string) => void;
  /** A deeper check of the body, used by the (untimed) statement-count pass. */
  validate?: (body: string) => string | undefined;
}

export interface Workload {
  next(): Outgoing;
}

const taskFields = "id title description isCompleted completedAt createdAt updatedAt version";

export const graphqlListQuery = `query W1 { tasks(first: 50) { edges { node { ${taskFields} } } pageInfo { hasNextPage endCursor } } }`;
export const graphqlGetQuery = `query W2($id: ID!) { task(id: $id) { ${taskFields} } }`;
/** The same page from PostGraphile: its column `id` is `rowId` (its `id` is the global node id). */
export const peerListQuery = `query W1 { allTasks(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { edges { node { rowId title description isCompleted completedAt createdAt updatedAt version } } pageInfo { hasNextPage endCursor } } }`;

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error("Nothing to pick from.");
  return item;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Walks `path` through parsed JSON objects. */
function dig(body: string, path: string[]): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const key of path) value = record(value)?.[key];
  return value;
}

function expectList(
  body: string,
  path: string[],
  owner: (item: Record<string, unknown>) => boolean,
  label: string,
): string | undefined {
  const items = dig(body, path);
  if (!Array.isArray(items)) return `${label}: no list at ${path.join(".")}`;
  if (items.length !== 50) return `${label}: ${items.length} items, not 50`;
  if (!items.every((item) => owner(record(item) ?? {}))) return `${label}: an item of another user`;
  return undefined;
}

export class Requests {
  private serial = 0;
  /** The owner of every sampled task id. */
  private readonly owners: Map<string, string> = new Map();

  /** `owners`: every task's owner, for the checks of the statement-count pass; else the sampled ids'. */
  constructor(
    private readonly fixtures: Fixtures,
    owners?: ReadonlyMap<string, string>,
  ) {
    if (owners) this.owners = new Map(owners);
    else for (const [user, ids] of Object.entries(fixtures.taskIds)) for (const id of ids) this.owners.set(id, user);
  }

  /** False for a task known to be another user's. */
  private owns(user: string, id: unknown): boolean {
    if (typeof id !== "string") return false;
    const owner = this.owners.get(id);
    return owner === undefined || owner === user;
  }

  user(): string {
    return pick(this.fixtures.users);
  }

  auth(user: string): Record<string, string> {
    const token = this.fixtures.tokens[user];
    if (token === undefined) throw new Error(`No token for ${user}`);
    return { authorization: `Bearer ${token}` };
  }

  taskId(user: string): string {
    return pick(this.fixtures.taskIds[user] ?? []);
  }

  listRest(user = this.user()): Outgoing {
    return {
      method: "GET",
      path: `/api/${user}/tasks?limit=50`,
      headers: this.auth(user),
      expect: 200,
      graphql: false,
      validate: (body) => expectList(body, ["data"], (item) => item.user_id === user, "list"),
    };
  }

  listGraphql(user = this.user()): Outgoing {
    return {
      method: "POST",
      path: "/graphql",
      headers: { ...this.auth(user), "content-type": "application/json" },
      body: JSON.stringify({ query: graphqlListQuery }),
      expect: 200,
      graphql: true,
      validate: (body) =>
        expectList(body, ["data", "tasks", "edges"], (edge) => this.owns(user, record(edge.node)?.id), "tasks"),
    };
  }

  listPeer(user = this.user()): Outgoing {
    return {
      method: "POST",
      path: "/graphql",
      headers: { ...this.auth(user), "content-type": "application/json" },
      body: JSON.stringify({ query: peerListQuery }),
      expect: 200,
      graphql: true,
      // Row-level security must have kept the page to this user.
      validate: (body) =>
        expectList(
          body,
          ["data", "allTasks", "edges"],
          (edge) => this.owns(user, record(edge.node)?.rowId),
          "allTasks",
        ),
    };
  }

  getRest(user = this.user()): Outgoing {
    const id = this.taskId(user);
    return {
      method: "GET",
      path: `/api/${user}/tasks/${id}`,
      headers: this.auth(user),
      expect: 200,
      graphql: false,
      validate: (body) => (dig(body, ["data", "id"]) === id ? undefined : "get: not the task asked for"),
    };
  }

  getGraphql(user = this.user()): Outgoing {
    const id = this.taskId(user);
    return {
      method: "POST",
      path: "/graphql",
      headers: { ...this.auth(user), "content-type": "application/json" },
      body: JSON.stringify({ query: graphqlGetQuery, variables: { id } }),
      expect: 200,
      graphql: true,
      validate: (body) => (dig(body, ["data", "task", "id"]) === id ? undefined : "task: not the task asked for"),
    };
  }

  invalidToken(user = this.user()): Outgoing {
    const token = this.fixtures.badTokens[user];
    if (token === undefined) throw new Error(`No forged token for ${user}`);
    return {
      method: "GET",
      path: `/api/${user}/tasks?limit=50`,
      headers: { authorization: `Bearer ${token}` },
      expect: 401,
      graphql: false,
      validate: (body) => (dig(body, ["error", "code"]) === "UNAUTHENTICATED" ? undefined : "not UNAUTHENTICATED"),
    };
  }

  nextSerial(): number {
    this.serial += 1;
    return this.serial;
  }
}

interface WriteItem {
  user: string;
  id: string;
}

type WriteKind = "create" | "update" | "toggle" | "delete";
const writeCycle: WriteKind[] = ["create", "update", "toggle", "delete"];

/**
 * W3: create, update (PUT), toggle (PATCH /complete) and delete, a quarter
 * each. Every task the mix creates goes through the four steps in order and
 * is gone at the end, so the seeded data stays as it is. A task is in at
 * most one queue, and out of all of them while a request on it is in
 * flight, so no two requests ever race on one task (no 404s, no 412s).
 * When the step due has nothing to work on, the one before it runs instead.
 */
export class WriteMix implements Workload {
  private readonly created: WriteItem[] = [];
  private readonly updated: WriteItem[] = [];
  private readonly toggled: WriteItem[] = [];
  private turn = 0;

  constructor(private readonly requests: Requests) {}

  next(): Outgoing {
    let kind = writeCycle[this.turn % writeCycle.length] ?? "create";
    this.turn += 1;
    if (kind === "delete" && this.toggled.length === 0) kind = "toggle";
    if (kind === "toggle" && this.updated.length === 0) kind = "update";
    if (kind === "update" && this.created.length === 0) kind = "create";
    switch (kind) {
      case "create":
        return this.create();
      case "update":
        return this.update(this.take(this.created));
      case "toggle":
        return this.toggle(this.take(this.updated));
      case "delete":
        return this.remove(this.take(this.toggled));
    }
  }

  private take(queue: WriteItem[]): WriteItem {
    const item = queue.shift();
    if (item === undefined) throw new Error("empty write queue");
    return item;
  }

  private create(): Outgoing {
    const user = this.requests.user();
    const n = this.requests.nextSerial();
    return {
      method: "POST",
      path: `/api/${user}/tasks`,
      headers: { ...this.requests.auth(user), "content-type": "application/json" },
      body: JSON.stringify({ title: `Benchmark task ${n}`, description: "Made by the write mix; deleted by it too." }),
      expect: 201,
      graphql: false,
      done: (status, body) => {
        const id = dig(body, ["data", "id"]);
        if (status === 201 && typeof id === "string") this.created.push({ user, id });
      },
      validate: (body) => (typeof dig(body, ["data", "id"]) === "string" ? undefined : "create: no id"),
    };
  }

  private update(item: WriteItem): Outgoing {
    return {
      method: "PUT",
      path: `/api/${item.user}/tasks/${item.id}`,
      headers: { ...this.requests.auth(item.user), "content-type": "application/json" },
      body: JSON.stringify({ title: `Benchmark task ${this.requests.nextSerial()} (edited)`, description: null }),
      expect: 200,
      graphql: false,
      done: (status) => {
        if (status === 200) this.updated.push(item);
      },
      validate: (body) => (dig(body, ["data", "version"]) === 2 ? undefined : "update: version is not 2"),
    };
  }

  private toggle(item: WriteItem): Outgoing {
    return {
      method: "PATCH",
      path: `/api/${item.user}/tasks/${item.id}/complete`,
      headers: this.requests.auth(item.user),
      expect: 200,
      graphql: false,
      done: (status) => {
        if (status === 200) this.toggled.push(item);
      },
      validate: (body) => (dig(body, ["data", "is_completed"]) === true ? undefined : "toggle: not completed"),
    };
  }

  private remove(item: WriteItem): Outgoing {
    return {
      method: "DELETE",
      path: `/api/${item.user}/tasks/${item.id}`,
      headers: this.requests.auth(item.user),
      expect: 204,
      graphql: false,
    };
  }
}

/** W4: 80 % reads (half lists of 50, half single tasks), 20 % the write mix. */
class ReadWriteMix implements Workload {
  constructor(
    private readonly requests: Requests,
    private readonly writes: WriteMix,
  ) {}

  next(): Outgoing {
    const roll = Math.random();
    if (roll < 0.4) return this.requests.listRest();
    if (roll < 0.8) return this.requests.getRest();
    return this.writes.next();
  }
}

/** One workload generator per target and workload, kept for the whole benchmark (the write mix's queues). */
export function makeWorkload(id: WorkloadId, fixtures: Fixtures, owners?: ReadonlyMap<string, string>): Workload {
  const requests = new Requests(fixtures, owners);
  switch (id) {
    case "w1-rest":
      return { next: () => requests.listRest() };
    case "w1-graphql":
      return { next: () => requests.listGraphql() };
    case "w1-peer":
      return { next: () => requests.listPeer() };
    case "w2-rest":
      return { next: () => requests.getRest() };
    case "w2-graphql":
      return { next: () => requests.getGraphql() };
    case "w3-rest":
      return new WriteMix(requests);
    case "w4-rest":
      return new ReadWriteMix(requests, new WriteMix(requests));
    case "w5-rest":
      return { next: () => requests.invalidToken() };
  }
}

/** Whether a response is what the request expected. */
export function isExpected(request: Outgoing, status: number, body: string): boolean {
  if (status !== request.expect) return false;
  return !(request.graphql && body.includes('"errors"'));
}
