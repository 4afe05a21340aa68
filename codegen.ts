import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * schema.graphql (printed from the Pothos schema) + the operations written in
 * src/ and test/ -> typed documents in src/gql/. A schema change that breaks an
 * operation breaks the typecheck.
 */
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["src/**/*.ts", "test/**/*.ts", "!src/gql/**", "!src/generated/**"],
  ignoreNoDocuments: true,
  // ESM imports with .js extensions, as NodeNext resolution requires.
  importExtension: ".js",
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: "string",
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: "string", Date: "string" },
      },
    },
  },
};

export default config;
