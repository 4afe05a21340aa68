/**
 * Text the databases store and give back as given: no U+0000 (PostgreSQL
 * text cannot hold it), no unpaired UTF-16 surrogates (they would be stored
 * as U+FFFD), and no leading U+FEFF (PGlite reads text back through a
 * TextDecoder that drops a leading byte-order mark).
 */
export function isStorableText(value: string): boolean {
  return (
    !value.includes("\u0000") &&
    !value.startsWith("\uFEFF") &&
    !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)
  );
}
