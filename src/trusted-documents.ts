import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { printExecutableGraphQLDocument } from "@graphql-tools/documents";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import { parse } from "graphql";
import type { GraphQLParams, Plugin } from "graphql-yoga";
import { AppError, graphqlErrorOf } from "./errors.js";

/**
 * Trusted documents: the operations this service's own clients were built
 * with. Codegen writes each client's manifest (`"sha256:<hex>": text`, the
 * text normalized by printExecutableGraphQLDocument); the web client's and
 * the REST layer's are built in, operators add others' (TRUSTED_DOCUMENTS_FILES).
 *
 * A request may name a document by its hash (`documentId`, or Apollo's
 * `extensions.persistedQuery.sha256Hash`) instead of sending its text, in
 * every mode. With TRUSTED_DOCUMENTS on, a request that sends text runs only
 * if that text, normalized the same way, is one of them.
 */
export interface TrustedDocuments {
  /** The text of a known document, by `sha256:<hex>` (or bare hex). */
  textOf(hash: string): string | undefined;
  /** Whether `query` is, once normalized, one of the known documents. */
  trusts(query: string): boolean;
  readonly size: number;
}

/** The built-in manifests, relative to this file: the same from src/ (tsx) and dist/ (built). */
export const builtInManifests = [
  new URL("../client/gql/persisted-documents.json", import.meta.url),
  new URL("../src/gql/persisted-documents.json", import.meta.url),
];

export async function loadTrustedDocuments(files: readonly (string | URL)[]): Promise<TrustedDocuments> {
  const byHash = new Map<string, string>();
  for (const file of files) {
    const manifest: unknown = JSON.parse(await readFile(file, "utf8"));
    if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
      throw new Error(`${String(file)}: expected a persisted-documents manifest, an object of hash -> document`);
    }
    for (const [hash, text] of Object.entries(manifest)) {
      if (typeof text !== "string") throw new Error(`${String(file)}: the document for ${hash} is not a string`);
      byHash.set(hash.startsWith("sha256:") ? hash : `sha256:${hash}`, text);
    }
  }
  const texts = new Set(byHash.values());
  // Normalizing is a parse and a print (about 100 µs for a small document): a client sends the same
  // few texts again and again, so verdicts on recent texts are remembered (a bounded number).
  const verdicts = new Map<string, boolean>();
  return {
    size: byHash.size,
    textOf: (hash) => byHash.get(hash.startsWith("sha256:") ? hash : `sha256:${hash}`),
    trusts(query) {
      if (texts.has(query)) return true;
      let verdict = verdicts.get(query);
      if (verdict === undefined) {
        const normalized = normalize(query);
        verdict = normalized !== undefined && texts.has(normalized);
        // (Long texts are not kept: no known document is one, and 1000 of them would be a lot of memory.)
        if (query.length <= 20_000) {
          if (verdicts.size >= maxVerdicts) verdicts.delete(verdicts.keys().next().value as string);
          verdicts.set(query, verdict);
        }
      }
      return verdict;
    },
  };
}

const maxVerdicts = 1000;

/** The manifest form of a document (and so its hash's input), or undefined if it does not parse. */
function normalize(query: string): string | undefined {
  try {
    // A known document is small: a long text is not one, and is not worth parsing to find out.
    return printExecutableGraphQLDocument(parse(query, { noLocation: true, maxTokens: 5000 }));
  } catch {
    return undefined;
  }
}

/** The sha256 id of a document's text as codegen computes it (for tests and tools). */
export function documentIdOf(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** The document id a request names: `documentId` (GraphQL over HTTP), or Apollo's persisted-query extension. */
function documentIdIn(params: GraphQLParams & { documentId?: unknown }, request: Request): string | null {
  if (typeof params.documentId === "string") return params.documentId;
  const fromUrl = request.method === "GET" ? new URL(request.url).searchParams.get("documentId") : null;
  if (fromUrl) return fromUrl;
  const persisted = params.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
  return persisted?.version === 1 && typeof persisted.sha256Hash === "string" ? persisted.sha256Hash : null;
}

const refusal =
  (code: "BAD_REQUEST" | "PERSISTED_DOCUMENT_NOT_FOUND" | "DOCUMENT_NOT_TRUSTED", message: string) => () =>
    graphqlErrorOf(new AppError(code, message));

/** Yoga plugins: resolve documents by id always; with `only`, refuse text that is not a trusted document. */
export function trustedDocumentPlugins(documents: TrustedDocuments, { only }: { only: boolean }): Plugin[] {
  const refuseUntrusted: Plugin = {
    onParams({ params }) {
      if (typeof params.query === "string" && params.query !== "" && !documents.trusts(params.query)) {
        throw graphqlErrorOf(
          new AppError(
            "DOCUMENT_NOT_TRUSTED",
            "This service runs only its clients' known operations (trusted documents): send a documentId from a persisted-documents manifest, or the text of one of its documents.",
          ),
        );
      }
    },
  };
  return [
    ...(only ? [refuseUntrusted] : []),
    usePersistedOperations({
      allowArbitraryOperations: true,
      extractPersistedOperationId: documentIdIn,
      getPersistedOperation: (hash) => documents.textOf(hash) ?? null,
      customErrors: {
        notFound: refusal(
          "PERSISTED_DOCUMENT_NOT_FOUND",
          only
            ? "No document has this documentId here, and this service runs only its trusted documents: regenerate the client against this service, or have its manifest added (TRUSTED_DOCUMENTS_FILES)."
            : "No document has this documentId here: send the operation's text, or regenerate the client against this service.",
        ),
        keyNotFound: refusal("BAD_REQUEST", "A GraphQL request needs a `query` (its text) or a `documentId`."),
      },
    }),
  ];
}
