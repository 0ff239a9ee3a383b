import { gzipAsync } from '../../core/lazy-builtins.js'

// What one event becomes in a rolled file (written by the roller straight into its staging
// chunks, see roller.ts stage()):
//   body — the original line (the exact bytes when they were not UTF-8: body64), one per event;
//          a piece the codec cut from an oversize line ("cont") gets no newline, so the pieces
//          join back into the original line, like Flume's TEXT serializer.
//   json — the whole event as the stage received it (its ack-link cursor was already cut off).
export type RollFormat = 'body' | 'json'

export const defaultSuffix = (format: RollFormat): string => (format === 'json' ? '.ndjson' : '.log')

// One gzip member per committed write: concatenated members are a valid gzip file (gunzip, zcat
// and every gzip library read them all), and a cut back to the last commit lands on a member
// boundary, so a crash never leaves an unreadable file. Uncompressed parts are written as they are
// (one writev), without joining them first.
export const encodeChunk = async (parts: Buffer[], bytes: number, compress: boolean): Promise<{ parts: Buffer[]; length: number }> => {
  if (!compress) return { parts, length: bytes }
  const data = await gzipAsync(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), { level: 6 })
  return { parts: [data], length: data.length }
}
