/**
 * A migration's checksums. The ledger keeps two: `checksum`, sha256 of the file's bytes (what
 * every version has written, and what an older image deployed in a rollback still compares), and
 * `content_checksum`, sha256 of its content with line endings, trailing whitespace, final newlines
 * and a byte-order mark set aside, so that a Git `autocrlf` checkout or an editor's final newline
 * is not drift. Rows written before content checksums existed hold the raw one only: for those,
 * the raw checksums of the file's line-ending variants are compared instead.
 */
import { createHash } from 'node:crypto';

const sha256 = (content: string | Buffer): string => createHash('sha256').update(content).digest('hex');

export const rawChecksum = (bytes: Buffer): string => sha256(bytes);

/** Every line without trailing whitespace (CR included), LF between lines, no final newline. */
function normalisedContent(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/[ \t\r\f\v]+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
}

/** `text` is the file decoded, without its byte-order mark. */
export const contentChecksum = (text: string): string => sha256(normalisedContent(text));

/**
 * The raw checksums the file would have had with other line endings (LF or CRLF), with or without
 * a final newline and a byte-order mark, with its trailing whitespace kept or removed: what a row
 * holding only a raw checksum is compared with. Computed only when the raw checksums differ.
 */
export function lineEndingVariantChecksums(text: string): Set<string> {
  const asItIs = text.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  const checksums = new Set<string>();
  for (const base of new Set([asItIs, normalisedContent(text)])) {
    for (const newline of ['\n', '\r\n']) {
      const lines = base.replaceAll('\n', newline);
      for (const variant of [lines, lines + newline]) {
        checksums.add(sha256(variant));
        checksums.add(sha256(`\uFEFF${variant}`));
      }
    }
  }
  return checksums;
}

/** How a file compares with the checksums of its ledger row. */
export type ChecksumComparison = 'same' | 'whitespace only' | 'changed';

export function compareChecksums(
  file: { readonly checksum: string; readonly text: string },
  row: { readonly checksum: string; readonly contentChecksum: string | null },
): ChecksumComparison {
  if (row.checksum === file.checksum) return 'same';
  const sameContent =
    row.contentChecksum !== null
      ? row.contentChecksum === contentChecksum(file.text)
      : lineEndingVariantChecksums(file.text).has(row.checksum);
  return sameContent ? 'whitespace only' : 'changed';
}
