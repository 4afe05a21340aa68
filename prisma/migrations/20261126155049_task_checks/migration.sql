-- Rules the database enforces itself, whatever client writes. Prisma's schema
-- language cannot express CHECK constraints, so this draft migration (from
-- `npm run db:migration -- task_checks --draft`) was completed by hand.

-- A title is never blank (VARCHAR(200) already caps its length).
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_title_not_blank" CHECK (btrim("title") <> '');

-- completed_at is set exactly when the task is completed.
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_completed_at_matches" CHECK (("completed_at" IS NOT NULL) = "is_completed");

-- The optimistic-concurrency version starts at 1 and only grows.
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_version_positive" CHECK ("version" >= 1);
