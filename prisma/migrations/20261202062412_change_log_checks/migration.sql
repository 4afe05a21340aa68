-- Rules for the change log that the database enforces itself. Prisma's schema
-- language cannot express CHECK constraints, so this draft migration (from
-- `npm run db:migration -- change_log_checks --draft`) was completed by hand.

-- Three kinds of change: a tombstone (DELETED) carries no task, the others carry the whole task.
ALTER TABLE "task_events" ADD CONSTRAINT "task_events_kind_valid"
  CHECK (("kind" IN ('CREATED', 'UPDATED') AND "task" IS NOT NULL) OR ("kind" = 'DELETED' AND "task" IS NULL));

-- Cursors start at 1 and never pass the user's latest.
ALTER TABLE "task_events" ADD CONSTRAINT "task_events_seq_positive" CHECK ("seq" > 0);
ALTER TABLE "users" ADD CONSTRAINT "users_change_seq_valid"
  CHECK ("change_seq" >= 0 AND "changes_purged_through" BETWEEN 0 AND "change_seq");
