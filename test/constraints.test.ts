import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../src/db/database.js";
import { createTestDatabase, openOptions, type TestDatabase } from "./helpers/database.js";

/** The database itself refuses bad rows, whatever client writes them. */
describe("database constraints", () => {
  let database: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = await openDatabase(database.config, openOptions(database));
    await db.prisma.user.create({ data: { id: "owner" } });
  });
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  const insert = (title: string, isCompleted: boolean, completedAt: string | null, description: string | null = null) =>
    db.prisma.$executeRaw`
      INSERT INTO tasks (user_id, title, description, is_completed, completed_at)
      VALUES ('owner', ${title}, ${description}, ${isCompleted}, ${completedAt}::timestamptz)`;

  it("accepts a valid task and fills in id, version and timestamps", async () => {
    const task = await db.prisma.task.create({ data: { userId: "owner", title: "Buy milk" } });
    expect(task.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(task.version).toBe(1);
    expect(task.isCompleted).toBe(false);
    expect(task.completedAt).toBeNull();
    expect(task.createdAt.getTime()).toBe(task.updatedAt.getTime());
  });

  it("refuses completed_at without is_completed, and is_completed without completed_at", async () => {
    await expect(insert("a", false, "2026-01-01T00:00:00Z")).rejects.toThrow(/tasks_completed_at_matches/);
    await expect(insert("b", true, null)).rejects.toThrow(/tasks_completed_at_matches/);
    await expect(insert("c", true, "2026-01-01T00:00:00Z")).resolves.toBe(1);
  });

  it("refuses a blank title, a title over 200 characters and a description over 1000", async () => {
    await expect(insert("   ", false, null)).rejects.toThrow(/tasks_title_not_blank/);
    await expect(insert("x".repeat(201), false, null)).rejects.toThrow();
    await expect(insert("x".repeat(200), false, null)).resolves.toBe(1);
    await expect(insert("ok", false, null, "d".repeat(1001))).rejects.toThrow();
    await expect(insert("ok", false, null, "d".repeat(1000))).resolves.toBe(1);
  });

  it("refuses a version below 1 and a task of an unknown user", async () => {
    await expect(db.prisma.$executeRaw`UPDATE tasks SET version = 0`).rejects.toThrow(/tasks_version_positive/);
    await expect(db.prisma.task.create({ data: { userId: "nobody", title: "orphan" } })).rejects.toThrow();
  });

  it("keeps timestamps with time zone at millisecond precision", async () => {
    const at = new Date("2026-03-04T05:06:07.891Z");
    const task = await db.prisma.task.create({
      data: { userId: "owner", title: "precise", isCompleted: true, completedAt: at },
    });
    expect(task.completedAt?.toISOString()).toBe("2026-03-04T05:06:07.891Z");
  });

  it("deleting a user deletes their tasks", async () => {
    await db.prisma.user.create({ data: { id: "leaver", tasks: { create: [{ title: "one" }, { title: "two" }] } } });
    expect(await db.prisma.task.count({ where: { userId: "leaver" } })).toBe(2);
    await db.prisma.user.delete({ where: { id: "leaver" } });
    expect(await db.prisma.task.count({ where: { userId: "leaver" } })).toBe(0);
  });

  it("an all-day due date is midnight UTC, and a priority is 0 to 4", async () => {
    const task = await db.prisma.task.create({ data: { userId: "owner", title: "due" } });
    const set = (dueAt: string | null, allDay: boolean) =>
      db.prisma.$executeRaw`UPDATE tasks SET due_at = ${dueAt}::timestamptz, due_all_day = ${allDay}
        WHERE id = ${task.id}::uuid`;
    await expect(set("2026-12-24T00:00:00Z", true)).resolves.toBe(1);
    await expect(set("2026-12-24T00:00:01Z", true)).rejects.toThrow(/tasks_due_all_day_is_a_date/);
    await expect(set(null, true)).rejects.toThrow(/tasks_due_all_day_is_a_date/);
    await expect(set("2026-12-24T10:00:00Z", false)).resolves.toBe(1);
    const priority = (value: number) =>
      db.prisma.$executeRaw`UPDATE tasks SET priority = ${value}::smallint WHERE id = ${task.id}::uuid`;
    await expect(priority(5)).rejects.toThrow(/tasks_priority_range/);
    await expect(priority(-1)).rejects.toThrow(/tasks_priority_range/);
    await expect(priority(4)).resolves.toBe(1);
  });

  it("label names are unique per user ignoring case (by their key), never blank, without commas; colors are #rrggbb", async () => {
    await db.prisma.user.create({ data: { id: "labeller" } });
    const label = (userId: string, name: string, color: string | null = null) =>
      db.prisma.$executeRaw`INSERT INTO labels (user_id, name, name_key, color)
        VALUES (${userId}, ${name}, ${name.toLowerCase()}, ${color})`;
    await expect(label("owner", "Home", "#00ff00")).resolves.toBe(1);
    await expect(label("owner", "HOME")).rejects.toThrow(/labels_user_name_key|unique/i);
    await expect(label("labeller", "home")).resolves.toBe(1);
    await expect(label("owner", " ")).rejects.toThrow(/labels_name_(valid|key_not_blank)/);
    await expect(label("owner", "a,b")).rejects.toThrow(/labels_name_valid/);
    await expect(label("owner", "red", "red")).rejects.toThrow(/labels_color_hex/);
    await expect(label("owner", "upper", "#00FF00")).rejects.toThrow(/labels_color_hex/);
  });

  it("a task carries only labels of its own user", async () => {
    const task = await db.prisma.task.create({ data: { userId: "owner", title: "labelled" } });
    const own = await db.prisma.label.create({ data: { userId: "owner", name: "mine", nameKey: "mine" } });
    const foreign = await db.prisma.label.create({ data: { userId: "labeller", name: "theirs", nameKey: "theirs" } });
    const link = (userId: string, labelId: string) =>
      db.prisma.$executeRaw`INSERT INTO task_labels (user_id, task_id, label_id)
        VALUES (${userId}, ${task.id}::uuid, ${labelId}::uuid)`;
    await expect(link("labeller", foreign.id)).rejects.toThrow(/task_labels_task_id_user_id_fkey/);
    await expect(link("owner", foreign.id)).rejects.toThrow(/task_labels_label_id_user_id_fkey/);
    await expect(link("owner", own.id)).resolves.toBe(1);
    // Deleting the label or the task takes the link with it.
    await db.prisma.label.delete({ where: { id: own.id } });
    expect(await db.prisma.taskLabel.count({ where: { taskId: task.id } })).toBe(0);
  });

  it("a task's label_count is never negative", async () => {
    const task = await db.prisma.task.create({ data: { userId: "owner", title: "counted" } });
    await expect(db.prisma.$executeRaw`UPDATE tasks SET label_count = -1 WHERE id = ${task.id}::uuid`).rejects.toThrow(
      /tasks_label_count_not_negative/,
    );
    // Deleting the task with its labels still on it is fine.
    await db.prisma.task.delete({ where: { id: task.id } });
    expect(await db.prisma.taskLabel.count({ where: { taskId: task.id } })).toBe(0);
  });
});
