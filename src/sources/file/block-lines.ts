import { isAscii } from 'node:buffer'

// The hot path of tail: most log blocks are plain ASCII, so a whole block of complete lines is
// checked, decoded and escaped in a handful of native calls instead of line by line. Anything
// else (UTF-8 or invalid bytes, a line over maxLine) returns undefined and takes the careful
// per-line path (core sourceEventHead). JSON.stringify escapes exactly as it would per line:
// its escapes depend on one character only, and ASCII has no surrogates.

export interface Block {
  // the lines as they are (their lengths are their byte lengths: ASCII)
  lines: string[]
  // the same lines escaped for the inside of a JSON string
  escaped: string[]
}

// `region` holds complete lines separated by "\n", without the final newline.
export const blockLines = (region: Buffer, maxLine: number): Block | undefined => {
  if (!isAscii(region)) return undefined
  const text = region.toString('latin1')
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) if (lines[i]!.length > maxLine) return undefined
  // Without a backslash in the text, every \n in the escaped block is an escaped newline.
  if (!text.includes('\\')) {
    const escaped = JSON.stringify(text)
    return { lines, escaped: escaped.length === text.length + 2 ? lines : escaped.slice(1, -1).split('\\n') }
  }
  return { lines, escaped: lines.map((l) => JSON.stringify(l).slice(1, -1)) }
}

// A region of complete lines (each with its newline) through blockLines: calls `emit` and returns
// the region's length, or returns 0 when the careful path must take it.
export const blockRegion = (region: Buffer, maxLine: number, emit: (lines: string[], escaped: string[]) => void): number => {
  if (region.length < 2) return 0
  const block = blockLines(region.subarray(0, region.length - 1), maxLine)
  if (!block) return 0
  emit(block.lines, block.escaped)
  return region.length
}
