-- Rules for due dates and labels that the database enforces itself. Prisma's
-- schema language cannot express CHECK constraints, so this draft migration
-- (from `npm run db:migration -- task_planning_checks --draft`) was completed by hand.

-- An all-day task is due on a calendar date, kept as midnight UTC of that date.
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_due_all_day_is_a_date"
  CHECK (NOT "due_all_day" OR ("due_at" IS NOT NULL AND ("due_at" AT TIME ZONE 'UTC')::time = '00:00'));

-- A label's name is never blank and has no comma (REST filters list names with commas).
ALTER TABLE "labels" ADD CONSTRAINT "labels_name_valid" CHECK (btrim("name") <> '' AND strpos("name", ',') = 0);

-- The case-folded key is never blank either.
ALTER TABLE "labels" ADD CONSTRAINT "labels_name_key_not_blank" CHECK (btrim("name_key") <> '');

-- Colors are "#rrggbb" in lower case.
ALTER TABLE "labels" ADD CONSTRAINT "labels_color_hex" CHECK ("color" IS NULL OR "color" ~ '^#[0-9a-f]{6}$');

-- Priorities are 0 (none) to 4 (urgent).
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_priority_range" CHECK ("priority" BETWEEN 0 AND 4);

-- A label's task_labels rows all have its user's id: tell the planner, which
-- would otherwise take label_id and user_id as independent and expect a
-- label's tasks of one user to be a handful.
CREATE STATISTICS "task_labels_label_user_stats" (dependencies) ON "label_id", "user_id" FROM "task_labels";

-- tasks.label_count is how many task_labels rows the task has (kept by the
-- data layer in the transaction that changes them. No statement of a
-- migration may hold a semicolon, as the driver adapters split scripts on them).
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_label_count_not_negative" CHECK ("label_count" >= 0);
