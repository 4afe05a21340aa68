import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAllServers, type RunningServer, startServer, waitReady } from "../helpers/server.js";
import { serviceAvailable } from "../helpers/services.js";

/**
 * The web app at / in a real browser (Debian's Chromium, driven by
 * playwright-core), against a real server process on the embedded
 * database with the development sign-in, as `npm install && npm start`
 * gives a new user. Screenshots of the main states go to
 * test-results/screenshots/ (not committed).
 */

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const available = serviceAvailable(
  "Chromium",
  existsSync(executablePath),
  `${executablePath} (apt-get install chromium)`,
);
const shots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test-results/screenshots");

let server: RunningServer;
let browser: Browser;
beforeAll(async () => {
  if (!available) return;
  const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-web-"));
  server = await startServer({
    LOCAL_SECRET_FILE: path.join(dir, "secret"),
    PGLITE_DATA_DIR: "memory://",
    RATE_LIMIT_IP: "0",
    RATE_LIMIT_USER: "0",
    LOG_LEVEL: "info",
  });
  await waitReady(server);
  browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  await mkdir(shots, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  killAllServers();
});

/** A new browser context (its own session storage: a separate tab's worth of state), signed in as `user`. */
async function signedIn(user: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByLabel("User name").fill(user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  await page.getByRole("status", { name: "Live updates: live" }).waitFor();
  return { context, page };
}

const item = (page: Page, title: string) => page.locator("li.task", { hasText: title });
const newTaskForm = (page: Page) => page.getByRole("form", { name: "New task" });

async function addTask(page: Page, task: { title: string; due?: string; priority?: string; labels?: string }) {
  const form = newTaskForm(page);
  await form.getByLabel("Title").fill(task.title);
  if (task.due) await form.getByLabel("Due date").fill(task.due);
  if (task.priority) await form.getByLabel("Priority").selectOption(task.priority);
  if (task.labels) await form.getByLabel("Labels (comma-separated)").fill(task.labels);
  await form.getByRole("button", { name: "Add task" }).click();
  await settled(page, task.title);
}

/**
 * The task titled `title` is in the list once, as the service's (no longer pending). The live event of a create
 * can bring the service's copy a moment before the create's answer replaces the pending one.
 */
async function settled(page: Page, title: string) {
  const withTitle = page.locator("li.task .title", { hasText: title });
  await expect.poll(() => withTitle.allTextContents()).toEqual([title]);
  await expect.poll(() => page.locator('li.task[data-task-id^="pending:"]').count()).toBe(0);
}

describe.runIf(available)("the web app at /", () => {
  it("signs in, creates with due date, priority and label, filters, edits, completes and deletes", async () => {
    const user = `web-${randomUUID().slice(0, 8)}`;
    const { context, page } = await signedIn(user);
    try {
      await page.getByText("No tasks here yet.").waitFor();
      await page.screenshot({ path: path.join(shots, "empty.png") });

      await addTask(page, { title: "File taxes", due: "2026-12-24", priority: "HIGH", labels: "home, money" });
      await addTask(page, { title: "Water plants" });
      const taxes = item(page, "File taxes");
      expect(await taxes.textContent()).toContain("due 2026-12-24");
      expect(await taxes.locator(".priority").textContent()).toBe("high");
      expect(await taxes.locator(".label").allTextContents()).toEqual(["home", "money"]);
      await page.screenshot({ path: path.join(shots, "list.png") });

      // Filters: by priority, by label, by search, by status.
      const titles = () => page.locator("li.task .title").allTextContents();
      const filters = page.getByRole("region", { name: "Filters" });
      const filter = (name: string) => filters.getByLabel(name, { exact: true });
      await filter("Priority").selectOption("HIGH");
      await expect.poll(titles).toEqual(["File taxes"]);
      await filter("Priority").selectOption("any");
      await expect.poll(titles).toEqual(["Water plants", "File taxes"]);
      await filter("Label").selectOption("money");
      await expect.poll(titles).toEqual(["File taxes"]);
      await filter("Label").selectOption("");
      // Renaming a label shows on every task carrying it.
      const labelsPanel = page.getByRole("region", { name: "Labels" });
      await labelsPanel.getByRole("button", { name: "Rename label money" }).click();
      await labelsPanel.getByLabel("Label name").fill("finance");
      await page.keyboard.press("Enter");
      await expect
        .poll(() => taxes.locator(".label").allTextContents(), { timeout: 10_000 })
        .toEqual(["finance", "home"]);
      await filter("Search").fill("plant");
      await expect.poll(titles).toEqual(["Water plants"]);
      await filter("Search").fill("");
      await expect.poll(titles).toEqual(["Water plants", "File taxes"]);

      // Edit.
      await page.getByRole("button", { name: "Edit Water plants" }).click();
      const editor = page.getByRole("form", { name: "Edit Water plants" });
      await editor.getByLabel("Title").fill("Water the plants");
      await editor.getByLabel("Priority").selectOption("LOW");
      await editor.getByRole("button", { name: "Save" }).click();
      await item(page, "Water the plants").waitFor();
      expect(await item(page, "Water the plants").locator(".priority").textContent()).toBe("low");

      // Complete, then the status filters.
      await page.getByRole("checkbox", { name: "Done: Water the plants" }).check();
      await expect.poll(() => item(page, "Water the plants").getAttribute("class")).toBe("task done");
      await filter("Status").selectOption("OPEN");
      await expect.poll(titles).toEqual(["File taxes"]);
      await filter("Status").selectOption("COMPLETED");
      await expect.poll(titles).toEqual(["Water the plants"]);
      await filter("Status").selectOption("ALL");

      // Delete, and it stays deleted after a reload.
      await page.getByRole("button", { name: "Delete File taxes" }).click();
      await expect.poll(titles).toEqual(["Water the plants"]);
      await page.reload();
      await page.getByRole("heading", { name: "Tasks" }).waitFor();
      await expect.poll(titles).toEqual(["Water the plants"]);

      // Keyboard: the form is reachable and submits with Enter.
      await newTaskForm(page).getByLabel("Title").focus();
      await page.keyboard.type("Typed task");
      await page.keyboard.press("Enter");
      await settled(page, "Typed task");
      expect(await titles()).toEqual(["Typed task", "Water the plants"]);
      await page.screenshot({ path: path.join(shots, "after-edits.png") });
    } finally {
      await context.close();
    }
  }, 90_000);

  it("shows another tab's changes and REST calls live, keeps other users out, and shows a version conflict", async () => {
    const user = `web-live-${randomUUID().slice(0, 8)}`;
    const one = await signedIn(user);
    const two = await signedIn(user);
    const stranger = await signedIn(`web-other-${randomUUID().slice(0, 8)}`);
    try {
      await addTask(one.page, { title: "Made in tab one" });
      // Tab two sees it without reloading.
      await item(two.page, "Made in tab one").waitFor({ timeout: 10_000 });

      // A change through REST (with a token from the same sign-in) appears in both.
      const { token } = (await (
        await fetch(`${server.url}/auth/dev-token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user }),
        })
      ).json()) as { token: string };
      const created = await fetch(`${server.url}/api/${user}/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ title: "Made over REST" }),
      });
      expect(created.status).toBe(201);
      await item(one.page, "Made over REST").waitFor({ timeout: 10_000 });
      await item(two.page, "Made over REST").waitFor({ timeout: 10_000 });

      // Completing in tab two shows in tab one.
      await two.page.getByRole("checkbox", { name: "Done: Made in tab one" }).check();
      await expect.poll(() => item(one.page, "Made in tab one").getAttribute("class")).toBe("task done");

      // A conflict: tab one starts editing, tab two renames meanwhile, tab one saves.
      await one.page.getByRole("button", { name: "Edit Made over REST" }).click();
      // (Its name follows the task's title, which tab two's rename changes live: found by class.)
      const stale = one.page.locator("form.edit-task");
      await stale.getByLabel("Title").fill("Tab one's title");
      await two.page.getByRole("button", { name: "Edit Made over REST" }).click();
      const fresh = two.page.getByRole("form", { name: "Edit Made over REST" });
      await fresh.getByLabel("Title").fill("Tab two's title");
      await fresh.getByRole("button", { name: "Save" }).click();
      await item(two.page, "Tab two's title").waitFor();
      await stale.getByRole("button", { name: "Save" }).click();
      await stale.getByRole("alert").waitFor();
      expect(await stale.getByRole("alert").textContent()).toContain("Someone changed this task");
      await one.page.screenshot({ path: path.join(shots, "conflict.png") });
      await stale.getByRole("button", { name: "Cancel" }).click();
      await item(one.page, "Tab two's title").waitFor({ timeout: 10_000 });

      // Deleting in tab one removes it from tab two.
      await one.page.getByRole("button", { name: "Delete Tab two's title" }).click();
      await expect.poll(() => item(two.page, "Tab two's title").count(), { timeout: 10_000 }).toBe(0);

      // The other user saw none of it.
      await stranger.page.reload();
      await stranger.page.getByText("No tasks here yet.").waitFor();
      expect(await stranger.page.locator("li.task").count()).toBe(0);
    } finally {
      await Promise.all([one.context.close(), two.context.close(), stranger.context.close()]);
    }
  }, 90_000);
});
