import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * The one codegen configuration. schema.graphql (printed from the Pothos
 * schema) plus the operations written next to their callers become typed
 * documents; a schema change that breaks an operation breaks the typecheck.
 *
 * - client/gql/: the browser client's canonical operations (client/operations.ts),
 *   with a persisted-documents manifest (sha256 -> text).
 * - src/gql/: the REST layer's operations (src/rest/operations.ts), with its
 *   manifest. The two manifests are the trusted documents (TRUSTED_DOCUMENTS=on).
 * - test/gql/: the tests' own operations, typed but never trusted.
 */
const shared = {
  documentMode: "string",
  enumsAsTypes: true,
  useTypeImports: true,
  strictScalars: true,
  scalars: { DateTime: "string", Date: "string" },
} as const;

const manifest = { persistedDocuments: { hashAlgorithm: "sha256" } } as const;

const config: CodegenConfig = {
  schema: "schema.graphql",
  ignoreNoDocuments: true,
  // ESM imports with .js extensions, as NodeNext resolution (and Node itself) requires.
  importExtension: ".js",
  generates: {
    "client/gql/": {
      documents: ["client/**/*.ts", "client/**/*.tsx", "!client/gql/**"],
      preset: "client",
      presetConfig: { fragmentMasking: false, ...manifest },
      config: shared,
    },
    "src/gql/": {
      documents: ["src/**/*.ts", "!src/gql/**", "!src/generated/**"],
      preset: "client",
      presetConfig: { fragmentMasking: false, ...manifest },
      config: shared,
    },
    "test/gql/": {
      documents: ["src/rest/**/*.ts", "test/**/*.ts", "!test/gql/**"],
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: shared,
    },
  },
};

export default config;
