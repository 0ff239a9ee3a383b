// The string check of collect's JSON check (json-scan.ts, checkedStringEnd) as a small WebAssembly
// function with 16-byte SIMD steps: the plain run of a string (no quote, backslash or control
// byte) is passed 16 bytes at a time, and only those bytes are looked at one by one. JavaScript
// manages about 1.5 ns per byte there (BENCHMARKS.md, "collect alone"); the structure between the
// strings stays in JavaScript (an event's strings are most of its bytes).
// Assembled from its instructions (wasm-asm.ts) on first use; where WebAssembly SIMD is missing,
// stringScanner() is undefined and scanObject keeps its JavaScript strings. It accepts and
// refuses exactly what the JavaScript check does (a differential test holds it to that).

import { ADD, BLOCK, ELSE, END, get, I32, IF, i32, inc, LOOP, OnFirstUse, load8, set, simd, stopsIn, tee, V128 } from './wasm-asm.js'

// Memory layout (one fixed memory, never grown, so views into it stay valid):
const ESCAPES = 0 // 256 bytes: 1 for the letter of a one-letter escape (\" \\ \/ \b \f \n \r \t), 2 for u
const HEX = 256 // 256 bytes: 1 for a hex digit
const SRC = 1024 // the lines, copied in
const SRC_MAX = 1024 * 1024
const PAGES = Math.ceil((SRC + SRC_MAX) / 65536)

// str(at, end) -> the index after the quote that closes the string whose content starts at `at`,
// or -1 when it is not valid JSON before `end` (bad escape, control byte, not closed). Never reads
// at or past `end`. params at end, locals c t (i32) and v (v128)
const [at, end, c, t, v] = [0, 1, 2, 3, 4]
const LE_U = 0x4d
const GE_U = 0x4f
const LT_U = 0x49
const EQ = 0x46
const EQZ = 0x45
const AND = 0x71
const BR = 0x0c
const BR_IF = 0x0d
const hexAt = (k: number): number[] => [...get(at), ...load8(k), ...load8(HEX)]
// biome-ignore format: laid out as the instructions nest
const body = [
  ...BLOCK, ...LOOP,
    // 16 bytes at a time while they are all before `end`: past the plain ones
    ...get(at), ...i32(16), ADD, ...get(end), LE_U, ...IF,
      ...get(at), ...simd(0) /* v128.load */, 0, 0, ...set(v),
      ...stopsIn(v, [0x22, 0x5c], 0x20), ...tee(t),
      EQZ, ...IF, ...inc(at, 16), BR, 2 /* loop */, END,
      ...get(t), 0x68 /* ctz */, ...get(at), ADD, ...set(at),
    ELSE,
      ...get(at), ...get(end), GE_U, BR_IF, 2 /* not closed */,
    END,
    ...get(at), ...load8(0), ...tee(c), ...i32(0x22), EQ, ...IF, ...get(at), ...i32(1), ADD, 0x0f /* return */, END,
    ...get(c), ...i32(0x20), LT_U, BR_IF, 1 /* a control byte */,
    ...get(c), ...i32(0x5c), EQ, ...IF,
      ...get(at), ...i32(1), ADD, ...get(end), GE_U, BR_IF, 2,
      ...get(at), ...load8(1), ...load8(ESCAPES), ...tee(t), EQZ, BR_IF, 2 /* not an escape */,
      ...get(t), ...i32(2), EQ, ...IF,
        // \u and four hex digits, all before `end`
        ...get(at), ...i32(5), ADD, ...get(end), GE_U, BR_IF, 3,
        ...hexAt(2), ...hexAt(3), AND, ...hexAt(4), AND, ...hexAt(5), AND, EQZ, BR_IF, 3,
        ...inc(at, 6),
      ELSE,
        ...inc(at, 2),
      END,
      BR, 1 /* loop */,
    END,
    // a plain byte of the last 15
    ...inc(at, 1),
    BR, 0 /* loop */,
  END, END,
  ...i32(-1),
]

export class StringScanner {
  // the most bytes load() takes at once
  static readonly max = SRC_MAX

  constructor(
    readonly str: (at: number, end: number) => number,
    private readonly u8: Uint8Array,
  ) {}

  // The memory's bytes: a view of this ArrayBuffer makes scanObject use str().
  get memory(): ArrayBufferLike {
    return this.u8.buffer
  }

  // Copies src[start, end) (at most max bytes) into the module's memory; returns them there, as a
  // Buffer for scanObject. Valid until the next load.
  load(src: Uint8Array, start: number, end: number): Buffer {
    this.u8.set(src.subarray(start, end), SRC)
    return Buffer.from(this.u8.buffer, SRC, end - start)
  }
}

const wasm = new OnFirstUse(
  { name: 'str', params: 2, locals: [I32, I32, V128], body, pages: PAGES },
  (fn: (at: number, end: number) => number, mem) => {
    const u8 = new Uint8Array(mem)
    for (const e of '"\\/bfnrt') u8[ESCAPES + e.charCodeAt(0)] = 1
    u8[ESCAPES + 0x75] = 2
    for (const h of '0123456789abcdefABCDEF') u8[HEX + h.charCodeAt(0)] = 1
    return new StringScanner(fn, u8)
  },
)

// The scanner if it was made (viewOf then knows its memory), without making it.
export const madeScanner = (): StringScanner | undefined => wasm.made()

// The scanner, made on first use; undefined where WebAssembly SIMD is not available.
export const stringScanner = (): StringScanner | undefined => wasm.get()
