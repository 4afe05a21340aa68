import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * The package entry points a frontend imports, tasks-api/client and
 * tasks-api/react, as `npm run build` makes them: ES modules with types,
 * importing nothing of the server (and nothing of Node.js).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "dist/client");

beforeAll(() => {
  execFileSync(
    process.execPath,
    [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "client/tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}, 120_000);

describe("tasks-api/client and tasks-api/react", () => {
  it("are built with their types, and import only the browser packages they name", async () => {
    const files = (await readdir(out, { recursive: true })).map(String);
    for (const entry of ["index.js", "index.d.ts", "react.js", "react.d.ts", "gql/graphql.js"]) {
      expect(files).toContain(entry);
    }
    const imported = new Set<string>();
    for (const file of files.filter((name) => name.endsWith(".js"))) {
      const source = await readFile(path.join(out, file), "utf8");
      for (const match of source.matchAll(/(?:import|export)[^'"]*?from\s*["']([^"']+)["']/g)) {
        const specifier = String(match[1]);
        if (!specifier.startsWith(".")) imported.add(specifier);
        else expect(path.resolve(path.dirname(path.join(out, file)), specifier).startsWith(out)).toBe(true);
      }
    }
    expect([...imported].sort()).toEqual(["@tanstack/react-query", "graphql-ws/client", "react"]);
  });

  it("bundle for a browser, and the hooks' libraries stay out of a bundle that does not use them", async () => {
    const { build } = await import("esbuild");
    const bundle = async (contents: string) => {
      const result = await build({
        stdin: { contents, resolveDir: root, loader: "ts" },
        bundle: true,
        write: false,
        platform: "browser",
        format: "esm",
        minify: true,
        logLevel: "silent",
      });
      return result.outputFiles[0]?.text ?? "";
    };
    const clientOnly = await bundle(
      'import { createTasksClient, TasksDocument } from "tasks-api/client"; console.log(createTasksClient, TasksDocument);',
    );
    // Neither React nor TanStack Query comes along. (The documents all do: codegen writes each as a
    // `new TypedDocumentString(...)`, which a bundler must keep; together they are a few KiB.)
    const tanstack = "No QueryClient set";
    expect(clientOnly).not.toMatch(/react\.(transitional\.)?element/);
    expect(clientOnly).not.toContain(tanstack);
    expect(clientOnly).toContain("query Tasks");
    const withHooks = await bundle('import { useTaskList } from "tasks-api/react"; console.log(useTaskList);');
    expect(withHooks).toContain(tanstack);
    expect(withHooks).toMatch(/react\.(transitional\.)?element/);
  });

  describe("imported by name, as a frontend would", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it("runs a typed operation by its documentId, and turns a refusal into a typed error", async () => {
      // By the package's own name (its "exports"), so the built files run; typed by their sources,
      // since the typecheck runs before anything is built.
      const entry = (name: string) => `tasks-api/${name}`;
      const client = (await import(entry("client"))) as typeof import("../client/index.js");
      const react = (await import(entry("react"))) as typeof import("../client/react.js");
      expect(typeof react.useTaskList).toBe("function");
      const token = await mintToken("package-user");
      const sent: unknown[] = [];
      const api = client.createTasksClient({
        url: "http://tasks.test",
        token: () => token,
        fetch: async (input, init) => {
          sent.push(JSON.parse(String(init?.body)));
          return t.app.fetch(new Request(String(input), init));
        },
      });
      const { createTask } = await api.execute(client.CreateTaskDocument, { input: { title: "from the package" } });
      expect(createTask).toMatchObject({ title: "from the package", version: 1 });
      expect(sent[0]).toEqual({
        documentId: client.CreateTaskDocument.__meta__?.hash,
        variables: { input: { title: "from the package" } },
      });

      const failure = await api
        .execute(client.UpdateTaskDocument, { id: createTask.id, input: { title: "x", expectedVersion: 7 } })
        .catch((error: unknown) => error);
      expect(client.isVersionConflict(failure)).toBe(true);
      expect(failure).toMatchObject({ code: "CONFLICT", status: 409 });
      const invalid = await api
        .execute(client.CreateTaskDocument, { input: { title: " " } })
        .catch((error: unknown) => error);
      expect(invalid).toBeInstanceOf(client.TasksApiError);
      expect(invalid).toMatchObject({ code: "BAD_USER_INPUT", details: [{ field: "input.title" }] });
    });
  });
});
