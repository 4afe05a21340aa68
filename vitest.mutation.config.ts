import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

/**
 * The suite as mutation testing runs it (stryker.config.json): without the
 * random model and fuzz tests, which take a minute per mutant, and whose
 * kills would depend on the draw. What they find gets a fixed test.
 */
export default mergeConfig(
  base,
  defineConfig({ test: { exclude: ["test/model.test.ts", "test/fuzz.test.ts", "**/node_modules/**"] } }),
);
