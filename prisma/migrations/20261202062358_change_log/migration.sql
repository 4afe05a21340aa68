-- AlterTable
ALTER TABLE "users" ADD COLUMN     "change_seq" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "changes_purged_through" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "task_events" (
    "user_id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "task_id" UUID NOT NULL,
    "kind" VARCHAR(7) NOT NULL,
    "version" INTEGER NOT NULL,
    "task" JSONB,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_events_pkey" PRIMARY KEY ("user_id","seq")
);

-- CreateIndex
CREATE INDEX "task_events_occurred_idx" ON "task_events"("occurred_at");

-- AddForeignKey
ALTER TABLE "task_events" ADD CONSTRAINT "task_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
