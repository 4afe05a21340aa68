/**
 * Text PostgreSQL stores as given: no U+0000 (text cannot hold it) and no
 * unpaired UTF-16 surrogates (they would be stored as U+FFFD).
 */
export function isStorableText(value: string): boolean {
  return (
    !value.includes("\u0000") && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)
  );
}
