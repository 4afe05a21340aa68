import { Repeater } from "graphql-yoga";
import { z } from "zod";
import type { Viewer } from "../auth/index.js";
import type { Context } from "../context.js";
import {
  type ChangeKind,
  type ChangeRow,
  formatChangeCursor,
  headOf,
  maxChangePage,
  parseChangeCursor,
  readChanges,
} from "../db/changes.js";
import { reviveTask, type StoredTask } from "../db/tasks.js";
import { AppError, UnauthenticatedError } from "../errors.js";
import type { Prisma } from "../generated/prisma/client.js";
import { builder } from "./builder.js";
import { Task } from "./task.js";

/**
 * The change feed: `taskChanges` pages through the caller's change log,
 * `taskEvents` streams it live (replaying from a cursor first). Both read
 * the same log, so what a live client sees is what a syncing one would.
 */

const TaskEventKind = builder.enumType("TaskEventKind", {
  description: "What happened to the task.",
  values: {
    CREATED: { description: "It was made; `task` is as made." },
    UPDATED: {
      description: "It changed (fields, completion, labels, or one of its labels was renamed); `task` is as after.",
    },
    DELETED: { description: "It was deleted; `task` is null and `version` is its last version." },
  } as const satisfies Record<ChangeKind, { description: string }>,
});

interface TaskEventShape {
  seq: bigint;
  kind: ChangeKind;
  taskId: string;
  version: number;
  occurredAt: Date;
  task: StoredTask | null;
}

export const TaskEvent = builder.objectRef<TaskEventShape>("TaskEvent").implement({
  description: "One change to one of the caller's tasks, in the order the changes committed.",
  fields: (t) => ({
    cursor: t.string({
      description: "This event's place in the change log: pass it as `after` to continue after it.",
      resolve: (event) => formatChangeCursor(event.seq),
    }),
    kind: t.field({ type: TaskEventKind, resolve: (event) => event.kind }),
    taskId: t.exposeID("taskId", { description: "The task's id (also for a deletion)." }),
    version: t.exposeInt("version", { description: "The task's version after the change (its last, for a deletion)." }),
    occurredAt: t.expose("occurredAt", { type: "DateTime", description: "When the change's transaction began." }),
    task: t.field({
      type: Task,
      nullable: true,
      description: "The whole task as it was right after this change, labels included; null for a deletion.",
      resolve: (event) => event.task,
    }),
  }),
});

const TaskChangeFeed = builder
  .objectRef<{ events: TaskEventShape[]; endCursor: string; hasMore: boolean }>("TaskChangeFeed")
  .implement({
    description: "A page of the caller's change log.",
    fields: (t) => ({
      events: t.field({ type: [TaskEvent], resolve: (feed) => feed.events }),
      endCursor: t.exposeString("endCursor", {
        description: "Where to continue: the last event's cursor, or `after` when there were none.",
      }),
      hasMore: t.exposeBoolean("hasMore", { description: "More events follow: ask again from `endCursor`." }),
    }),
  });

/** Events as the schema serves them, each task revived from its JSON. */
function shapeEvents(rows: ChangeRow[]): TaskEventShape[] {
  return rows.map((row) => ({
    seq: row.seq,
    kind: row.kind,
    taskId: row.taskId,
    version: row.version,
    occurredAt: row.occurredAt,
    task: row.task === null ? null : reviveTask(row.task as Prisma.JsonValue),
  }));
}

const pageSize = {
  description: `How many events, 1 to ${maxChangePage} (100 unless given).`,
  validate: z
    .number()
    .int()
    .min(1, `Must be between 1 and ${maxChangePage}.`)
    .max(maxChangePage, `Must be between 1 and ${maxChangePage}.`),
};

builder.queryField("taskChanges", (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: TaskChangeFeed,
    description:
      "What changed in the caller's tasks after a cursor (from a list's `changeCursor`, or an event's `cursor`), oldest first. Deletions are included (as tombstones). A cursor older than the log keeps is refused with CURSOR_EXPIRED: list afresh then.",
    args: {
      after: t.arg.string({ required: true, description: "Continue after this cursor." }),
      first: t.arg.int({ ...pageSize }),
    },
    resolve: async (_root, args, context) => {
      const after = parseChangeCursor(args.after, "after");
      const page = await readChanges(context.prisma, context.viewer.id, after, args.first ?? 100);
      const last = page.events.at(-1);
      return {
        events: shapeEvents(page.events),
        endCursor: formatChangeCursor(last?.seq ?? after),
        hasMore: page.hasMore,
      };
    },
  }),
);

export class TooManyStreamsError extends AppError {
  constructor(max: number) {
    super("RATE_LIMITED", `At most ${max} live streams may be open per user: close one first.`);
  }
}

/** How many events a stream reads from the log at a time. */
const streamBatch = 100;
/** setTimeout's limit (about 24.8 days). */
const maxTimer = 2 ** 31 - 1;

builder.subscriptionType({
  description:
    "Live updates, over Server-Sent Events (POST or GET /graphql with Accept: text/event-stream) or WebSocket (graphql-ws) on /graphql.",
});

builder.subscriptionField("taskEvents", (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: TaskEvent,
    description:
      "Every change to the caller's tasks as it commits. With `after`, first replays what happened after that cursor, then goes on live, with no gap and no repeat. The stream ends with UNAUTHENTICATED when the token expires: subscribe again with a new token and the last cursor seen.",
    args: { after: t.arg.string({ description: "Replay the changes after this cursor first." }) },
    subscribe: async (_root, args, context) => {
      const { viewer, prisma, live } = context;
      const release = live.hub.reserve(viewer.id, live.maxStreamsPerUser);
      if (release === undefined) throw new TooManyStreamsError(live.maxStreamsPerUser);
      try {
        // A bad or expired cursor is refused now, before any stream opens.
        const start = args.after == null ? undefined : parseChangeCursor(args.after, "after");
        if (start !== undefined) await readChanges(prisma, viewer.id, start, 1);
        return streamChanges(context, start, release);
      } catch (error) {
        release();
        throw error;
      }
    },
    resolve: (event) => event,
  }),
);

/**
 * The stream: watch the bell first, then read the log from the cursor (or
 * from now), and read again whenever the bell rings or the poll says the log
 * moved. Everything comes from the log in cursor order, so a reconnect with
 * the last cursor seen resumes exactly.
 */
function streamChanges(context: Context & { viewer: Viewer }, start: bigint | undefined, release: () => void) {
  const { viewer, prisma, live } = context;
  return new Repeater<TaskEventShape>(async (push, stop) => {
    let dirty = true;
    let wake = () => {};
    const unwatch = live.hub.watch(viewer.id, () => {
      dirty = true;
      wake();
    });
    const unregister = live.hub.onEnd(() => stop());
    // Re-armed in steps: a token valid for longer than a timer can wait still ends its stream on time.
    let expiry: NodeJS.Timeout | undefined;
    const armExpiry = () => {
      const left = viewer.expiresAt - Date.now();
      expiry =
        left > maxTimer
          ? setTimeout(armExpiry, maxTimer)
          : setTimeout(
              () => stop(new UnauthenticatedError("The token has expired: subscribe again with a new token.")),
              Math.max(0, left),
            );
    };
    armExpiry();
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      wake();
    });
    try {
      let position = start ?? (await headOf(prisma, viewer.id));
      while (!stopped) {
        if (!dirty) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        dirty = false;
        // The user's other streams here, woken by the same ring at the same place, share the read.
        const page = await live.hub.shareRead(`${viewer.id}\u0000${position}`, () =>
          readChanges(prisma, viewer.id, position, streamBatch),
        );
        for (const event of shapeEvents(page.events)) {
          if (stopped) break;
          await push(event);
          position = event.seq;
        }
        if (page.hasMore) dirty = true;
      }
    } catch (error) {
      stop(error);
    } finally {
      clearTimeout(expiry);
      unwatch();
      unregister();
      release();
    }
  });
}
