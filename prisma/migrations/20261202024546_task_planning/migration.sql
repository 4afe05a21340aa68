-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "due_all_day" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "due_at" TIMESTAMPTZ(3),
ADD COLUMN     "label_count" SMALLINT NOT NULL DEFAULT 0,
ADD COLUMN     "priority" SMALLINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "labels" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" TEXT NOT NULL,
    "name" VARCHAR(50) NOT NULL,
    "name_key" TEXT NOT NULL,
    "color" CHAR(7),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "labels_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_labels" (
    "user_id" TEXT NOT NULL,
    "task_id" UUID NOT NULL,
    "label_id" UUID NOT NULL,

    CONSTRAINT "task_labels_pkey" PRIMARY KEY ("task_id","label_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "labels_user_name_key" ON "labels"("user_id", "name_key");

-- CreateIndex
CREATE UNIQUE INDEX "labels_id_user_key" ON "labels"("id", "user_id");

-- CreateIndex
CREATE INDEX "task_labels_user_label_idx" ON "task_labels"("user_id", "label_id", "task_id");

-- CreateIndex
CREATE INDEX "tasks_user_due_idx" ON "tasks"("user_id", "due_at", "id");

-- CreateIndex
CREATE INDEX "tasks_user_status_due_idx" ON "tasks"("user_id", "is_completed", "due_at", "id");

-- CreateIndex
CREATE INDEX "tasks_user_priority_idx" ON "tasks"("user_id", "priority", "id");

-- CreateIndex
CREATE UNIQUE INDEX "tasks_id_user_key" ON "tasks"("id", "user_id");

-- AddForeignKey
ALTER TABLE "labels" ADD CONSTRAINT "labels_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_labels" ADD CONSTRAINT "task_labels_task_id_user_id_fkey" FOREIGN KEY ("task_id", "user_id") REFERENCES "tasks"("id", "user_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_labels" ADD CONSTRAINT "task_labels_label_id_user_id_fkey" FOREIGN KEY ("label_id", "user_id") REFERENCES "labels"("id", "user_id") ON DELETE CASCADE ON UPDATE CASCADE;
