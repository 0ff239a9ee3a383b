// escapeBytes (json-bytes.ts) as a small WebAssembly function with 16-byte SIMD steps: tail's
// hottest loop. JavaScript reaches about 1 byte per ns there; this copies plain runs 16 bytes at a
// time and escapes the rest through a table, several times cheaper (BENCHMARKS.md, session 4).
// The module is assembled from its instructions (wasm-asm.ts: no binary blob, no build step), once,
// on first use; where WebAssembly or its SIMD is missing, escaper() is undefined and callers keep
// the JavaScript path. The bytes it writes are escapeBytes' exactly (a test holds them to it).

import { copyPlainRun, BLOCK, ELSE, END, get, I32, IF, i32, inc, LOOP, OnFirstUse, load8, store8, tee, V128 } from './wasm-asm.js'

// Memory layout (one fixed memory, never grown, so views into it stay valid):
const TABLE = 0 // 256 bytes: 0 for a byte copied as it is, else the letter after the backslash ('u' for \u00XX)
const HEX = 256 // "0123456789abcdef"
const SRC = 1024 // the source bytes, copied in
const SRC_MAX = 1024 * 1024
const DST = SRC + SRC_MAX // the escaped bytes, when the output is not in this memory
const DST_SIZE = 3 * 1024 * 1024
const DST_MAX = DST_SIZE - 16 // a 16-byte store may reach 15 bytes past the last byte written
// Output buffers in this memory (the writer's chunks, see HeadBlock.chunk): escaped straight
// into them, no copy. Handed out once each; when all are out, chunks are ordinary Buffers.
const ARENA = DST + DST_SIZE
const SLOT = 128 * 1024
const SLOTS = 16
const PAGES = Math.ceil((ARENA + SLOT * SLOTS) / 65536)

// esc(s, e, d) -> d': writes bytes [s, e) escaped at d; returns the end of what it wrote.
// params s e d, locals c t (i32) and v (v128)
const [s, e, d, c, t, v] = [0, 1, 2, 3, 4, 5]
// biome-ignore format: laid out as the instructions nest
const body = [
  ...BLOCK, ...LOOP,
  // 16 bytes at a time: store them all, move past the plain ones (all 16, or up to the first to escape)
  ...copyPlainRun(s, e, d, v, t, [0x22, 0x5c], 0x20),
  // one byte
  ...get(s), ...get(e), 0x4f /* ge_u */, 0x0d, 1 /* br_if block */,
  ...get(s), ...load8(0), ...tee(c), ...load8(TABLE), ...tee(t), 0x45, ...inc(s, 1),
  ...IF,
    ...get(d), ...get(c), ...store8(0), ...inc(d, 1),
  ELSE,
    ...get(d), ...i32(0x5c), ...store8(0),
    ...get(d), ...get(t), ...store8(1),
    ...get(t), ...i32(0x75), 0x46 /* eq */, ...IF,
      ...get(d), ...i32(0x30), ...store8(2),
      ...get(d), ...i32(0x30), ...store8(3),
      ...get(d), ...get(c), ...i32(4), 0x76 /* shr_u */, ...load8(HEX), ...store8(4),
      ...get(d), ...get(c), ...i32(15), 0x71 /* and */, ...load8(HEX), ...store8(5),
      ...inc(d, 6),
    ELSE,
      ...inc(d, 2),
    END,
  END,
  0x0c, 0 /* br loop */,
  END, END,
  ...get(d),
]

export class WasmEscaper {
  // the longest source (all of it copied in at once) and the most escaped bytes of one call
  static readonly srcMax = SRC_MAX
  static readonly dstMax = DST_MAX
  private loaded?: Uint8Array
  private lastOut?: Uint8Array
  private lastOffset = -1

  constructor(
    private readonly fn: (s: number, e: number, d: number) => number,
    private readonly u8: Uint8Array,
  ) {}

  // Copies `src` (at most srcMax bytes) into the module's memory unless it is there already: the
  // lines of one read region share one copy. The caller must not change src's bytes meanwhile.
  load(src: Uint8Array): void {
    if (this.loaded === src) return
    this.u8.set(src, SRC)
    this.loaded = src
  }

  // Forgets what load() copied in: the next load() copies again (a caller whose buffers may be
  // reused with other bytes calls this when they may have changed).
  unload(): void {
    this.loaded = undefined
  }

  // Writes loaded bytes [start, end) escaped into out at `at`; returns the offset after them. out
  // must have room for escapedBound(end - start) bytes there (a 16-byte store may fill them), and
  // that bound must be at most dstMax.
  escape(start: number, end: number, out: Uint8Array, at: number): number {
    // where `out` lies in our memory (-1: elsewhere), looked up once per output chunk: reading
    // .buffer and .byteOffset of a typed array for every line cost more than escaping a short one
    if (out !== this.lastOut) {
      this.lastOut = out
      this.lastOffset = out.buffer === this.u8.buffer ? out.byteOffset : -1
    }
    const offset = this.lastOffset
    if (offset >= 0) return this.fn(SRC + start, SRC + end, offset + at) - offset
    const n = this.fn(SRC + start, SRC + end, DST) - DST
    out.set(this.u8.subarray(DST, DST + n), at)
    return at + n
  }

  // Writes src[start, end) escaped into out at `at` (as escape() does), copying those bytes alone
  // into the module's memory: for sources whose bytes are scattered over a larger buffer (Kafka
  // record values among their batch's framing). At most srcMax bytes.
  escapeFrom(src: Buffer, start: number, end: number, out: Uint8Array, at: number): number {
    this.mem ??= Buffer.from(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength)
    src.copy(this.mem, SRC, start, end)
    this.loaded = undefined
    return this.escape(0, end - start, out, at)
  }

  private mem?: Buffer
  private slots = 0

  // A buffer of `size` bytes in this memory, which escape() writes into without a copy; undefined
  // when none is left (or size is not the slot size).
  chunk(size: number): Buffer | undefined {
    if (size !== SLOT || this.slots === SLOTS) return undefined
    return Buffer.from(this.u8.buffer, ARENA + SLOT * this.slots++, SLOT)
  }
}

// The escaper, made on first use; undefined where WebAssembly SIMD is not available.
const wasm = new OnFirstUse(
  { name: 'esc', params: 3, locals: [I32, I32, V128], body, pages: PAGES },
  (fn: (s: number, e: number, d: number) => number, mem) => {
    const u8 = new Uint8Array(mem)
    const short: Record<number, number> = { 0x08: 0x62, 0x09: 0x74, 0x0a: 0x6e, 0x0c: 0x66, 0x0d: 0x72, 0x22: 0x22, 0x5c: 0x5c }
    for (let b = 0; b < 0x20; b++) u8[TABLE + b] = short[b] ?? 0x75
    u8[TABLE + 0x22] = 0x22
    u8[TABLE + 0x5c] = 0x5c
    u8.set(Buffer.from('0123456789abcdef'), HEX)
    return new WasmEscaper(fn, u8)
  },
)
export const escaper = (): WasmEscaper | undefined => wasm.get()
