import {
  ADD,
  copyPlainRun,
  ELSE,
  I64,
  uleb,
  BLOCK,
  END,
  get,
  I32,
  i32,
  IF,
  inc,
  load8,
  LOOP,
  set,
  simd,
  stopsIn,
  store8,
  store32,
  tee,
  V128,
  OnFirstUse,
} from './wasm-asm.js'
import { SIMPLE_ESCAPES } from './json-scan.js'

// A JSON string's contents unescaped by a small WebAssembly function with 16-byte SIMD steps:
// roll's hottest loop (every event's body). Plain runs are copied 16 bytes at a time, the simple
// escapes (\" \\ \/ \b \f \n \r \t) through a table; at anything else (\u, a malformed escape)
// it stops and says so, and the caller takes the JavaScript path for that string. Like tail's
// escaper (json-escape-wasm.ts) it is assembled here and made on first use; undefined where
// WebAssembly SIMD is missing. The bytes are unescapeBody's exactly (a test holds them to it).

// Memory layout (one fixed memory, never grown, so views into it stay valid):
const TABLE = 0 // 256 bytes: the byte a simple escape stands for, 0 for any other letter
const STOP = 256 // i32: where the last call stopped
// after a body: where the members it read end (i32), src and host (i32 start and end of their
// contents, -1: not read), ts and seq (f64, NaN: not read)
const MEND = 260
const SRC_S = 264
const HOST_S = 272
const TS = 280
const SEQ = 288
const HEAD_S = 296 // the whole headers value (i32 start and end)
// 1 when the src read equals the bytes at [REF_S, REF_E) (the event before's src, set by the caller)
const SAME = 304
const REF_S = 308
const REF_E = 312
const SRC = 1024 // the source bytes, copied in (a batch of event lines)
const SRC_MAX = 2 * 1024 * 1024
const DST = SRC + SRC_MAX // the unescaped bytes, when the output is not in this memory
const DST_SIZE = SRC_MAX + 64 // unescaping only shrinks; a 16-byte store may reach past the end
// Output buffers in this memory (roll's staging chunks, see ByteChunks): unescaped straight into
// them, no copy. Given back when a group is committed; when all are out, chunks are ordinary.
const ARENA = DST + DST_SIZE + 64
const SLOT = 1024 * 1024
const SLOTS = 32
const PAGES = Math.ceil((ARENA + SLOT * SLOTS) / 65536)

// unesc(s, e, d) -> d': unescapes bytes from s (after the opening quote) at d until the closing
// quote, e, or an escape it does not do; stores where it stopped at STOP, returns the output end.
// After a closing quote it reads the members that follow in tsf's compact form as roll's
// compactMembers does (event-fields.ts), as far as they are plain: ts and seq as integers of at
// most 15 digits, src and host as strings, headers as an object or a string (brackets counted,
// strings skipped), other keys skipped when their value is a string, an integer or an object. At
// anything else (body, body64, cont, a value of another kind) it stops at that member's comma
// and JavaScript reads on from there (MEND).
// params s e d, locals c t (i32), v (v128), m k vs j key4 klen (i32), acc (i64), u (i32)
const [s, e, d, c, t, v, m, k, vs, j, key4, klen, acc, u] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
// the first four bytes of a key (little-endian), with what follows it in `"key":`
const TS4 = 0x3a227374 // ts":
const SRC4 = 0x22637273 // src"
const SEQ4 = 0x22716573 // seq"
const HOST4 = 0x74736f68 // host
const BODY4 = 0x79646f62 // body (and body64)
const CONT4 = 0x746e6f63 // cont
const HEAD4 = 0x64616568 // head(ers)
const [EQ, NE, LT_S, LT_U, GT_U, GE_U, SUB, AND, OR] = [0x46, 0x47, 0x48, 0x49, 0x4b, 0x4f, 0x6b, 0x71, 0x72]
const load32 = (offset: number): number[] => [0x28, 2, ...uleb(offset)]
const f64Store = (offset: number): number[] => [0x39, 3, ...uleb(offset)]
const F64_NAN = [0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f]
const I64_0 = [0x42, 0]
const I64_10 = [0x42, 10]
// the member's value is a number: stored as f64 (exact: at most 15 digits)
const numberTo = (slot: number): number[] => [...i32(0), ...get(acc), 0xba /* f64.convert_i64_u */, ...f64Store(slot)]
// Moves j past the plain bytes of a string (no quote, no backslash) 16 at a time while 16 bytes
// from j lie before e, to the first quote or backslash: the byte loop after it goes on from there.
// The members' strings (the headers' file path, src) were walked byte by byte. Scratch: v, u.
// biome-ignore format: laid out as the instructions nest
const skipPlain = [
  ...BLOCK, ...LOOP,
    ...get(j), ...i32(16), ADD, ...get(e), GT_U, 0x0d, 1,
    ...get(j), ...simd(0) /* v128.load */, 0, 0, ...set(v),
    ...stopsIn(v, [0x22, 0x5c]), ...tee(u),
    0x45 /* eqz */, ...IF, ...inc(j, 16), 0x0c, 1 /* br loop */, END,
    ...get(j), ...get(u), 0x68 /* ctz */, ADD, ...set(j),
  END, END,
]
// Moves m and k past the first bytes where [m, j) equals the bytes at k, 16 at a time (the src
// compared with the reference); the byte loop after it finds the first that differs, if any.
// biome-ignore format: laid out as the instructions nest
const sameRun = [
  ...BLOCK, ...LOOP,
    ...get(m), ...i32(16), ADD, ...get(j), GT_U, 0x0d, 1,
    ...get(m), ...simd(0), 0, 0, ...get(k), ...simd(0), 0, 0, ...simd(35) /* i8x16.eq */, ...simd(99) /* all_true */,
    0x45, 0x0d, 1,
    ...inc(m, 16), ...inc(k, 16), 0x0c, 0,
  END, END,
]
const isKey = (len: number, word: number): number[] => [...get(klen), ...i32(len), EQ, ...get(key4), ...i32(word), EQ, AND]
// biome-ignore format: laid out as the instructions nest
const members = [
  // not closed by a quote: nothing more here
  ...get(s), ...get(e), GE_U, ...IF, ...get(d), 0x0f /* return */, END,
  ...get(s), ...load8(0), ...i32(0x22), NE, ...IF, ...get(d), 0x0f, END,
  ...i32(0), ...i32(-1), ...store32(SRC_S), ...i32(0), ...i32(-1), ...store32(HOST_S), ...i32(0), ...i32(-1), ...store32(HEAD_S),
  ...i32(0), ...F64_NAN, ...f64Store(TS), ...i32(0), ...F64_NAN, ...f64Store(SEQ),
  ...get(s), ...i32(1), ADD, ...set(m),
  ...BLOCK, ...LOOP,
    // ,"key":
    ...get(m), ...i32(1), ADD, ...get(e), GE_U, 0x0d, 1,
    ...get(m), ...load8(0), ...i32(0x2c), NE, 0x0d, 1,
    ...get(m), ...load8(1), ...i32(0x22), NE, 0x0d, 1,
    ...get(m), ...i32(2), ADD, ...set(k),
    ...BLOCK, ...LOOP,
      ...get(k), ...get(e), GE_U, 0x0d, 1,
      ...get(k), ...load8(0), ...tee(c), ...i32(0x22), EQ, 0x0d, 1,
      ...get(c), ...i32(0x5c), EQ, 0x0d, 1,
      ...inc(k, 1), 0x0c, 0,
    END, END,
    ...get(k), ...i32(1), ADD, ...get(e), GE_U, 0x0d, 1,
    ...get(k), ...load8(0), ...i32(0x22), NE, 0x0d, 1,
    ...get(k), ...load8(1), ...i32(0x3a), NE, 0x0d, 1,
    ...get(k), ...get(m), SUB, ...i32(2), SUB, ...set(klen),
    ...get(m), 0x28 /* i32.load */, 0, 2, ...set(key4),
    ...get(k), ...i32(2), ADD, ...tee(vs), ...get(e), GE_U, 0x0d, 1,
    ...get(vs), ...load8(0), ...set(c),
    // t: 1 ts, 2 src, 3 seq, 4 host, 5 headers, 9 left to JavaScript, 0 skipped
    ...i32(0), ...set(t),
    ...isKey(2, TS4), ...IF, ...i32(1), ...set(t), END,
    ...isKey(3, SRC4), ...IF, ...i32(2), ...set(t), END,
    ...isKey(3, SEQ4), ...IF, ...i32(3), ...set(t), END,
    ...isKey(4, HOST4), ...IF, ...i32(4), ...set(t), END,
    ...isKey(7, HEAD4), ...IF, ...i32(5), ...set(t), END,
    ...isKey(4, BODY4), ...isKey(4, CONT4), OR, ...isKey(6, BODY4), OR, ...IF, ...i32(9), ...set(t), END,
    ...get(t), ...i32(9), EQ, 0x0d, 1,
    ...get(c), ...i32(0x22), EQ, ...IF,
      // a string: to its closing quote, escapes skipped
      ...get(vs), ...i32(1), ADD, ...set(j),
      ...BLOCK, ...LOOP,
        ...skipPlain,
        ...get(j), ...get(e), GE_U, 0x0d, 4,
        ...get(j), ...load8(0), ...tee(c), ...i32(0x22), EQ, 0x0d, 1,
        ...get(c), ...i32(0x5c), EQ, ...IF, ...inc(j, 1), END,
        ...inc(j, 1), 0x0c, 0,
      END, END,
      // ts or seq as a string: JavaScript's
      ...get(t), ...i32(1), EQ, ...get(t), ...i32(3), EQ, OR, 0x0d, 2,
      ...get(t), ...i32(2), EQ, ...IF,
        ...i32(0), ...get(vs), ...i32(1), ADD, ...store32(SRC_S), ...i32(0), ...get(j), ...store32(SRC_S + 4),
        // the same bytes as the reference (k and m are free here): SAME, else the caller compares
        ...i32(0), ...i32(0), ...store32(SAME),
        ...BLOCK,
          ...i32(0), ...load32(REF_S), ...tee(k), ...i32(0), LT_S, 0x0d, 0,
          ...i32(0), ...load32(REF_E), ...get(k), SUB, ...get(j), ...get(vs), SUB, ...i32(1), SUB, NE, 0x0d, 0,
          ...get(vs), ...i32(1), ADD, ...set(m),
          ...sameRun,
          ...LOOP,
            ...get(m), ...get(j), GE_U, ...IF, ...i32(0), ...i32(1), ...store32(SAME), 0x0c, 2, END,
            ...get(m), ...load8(0), ...get(k), ...load8(0), NE, 0x0d, 1,
            ...inc(m, 1), ...inc(k, 1), 0x0c, 0,
          END,
        END,
      END,
      ...get(t), ...i32(4), EQ, ...IF, ...i32(0), ...get(vs), ...i32(1), ADD, ...store32(HOST_S), ...i32(0), ...get(j), ...store32(HOST_S + 4), END,
      ...get(j), ...i32(1), ADD, ...set(m),
      ...get(t), ...i32(5), EQ, ...IF, ...i32(0), ...get(vs), ...store32(HEAD_S), ...i32(0), ...get(m), ...store32(HEAD_S + 4), END,
      0x0c, 1,
    END,
    ...get(c), ...i32(0x7b), EQ, ...IF,
      // an object: brackets counted (k), strings skipped; only headers and skipped keys take one
      ...get(t), ...i32(5), EQ, ...get(t), 0x45 /* eqz */, OR, 0x45, 0x0d, 2,
      ...i32(1), ...set(k),
      ...get(vs), ...i32(1), ADD, ...set(j),
      ...BLOCK, ...LOOP,
        ...get(k), 0x45, 0x0d, 1,
        ...get(j), ...get(e), GE_U, 0x0d, 4,
        ...get(j), ...load8(0), ...set(c), ...inc(j, 1),
        ...get(c), ...i32(0x22), EQ, ...IF,
          ...BLOCK, ...LOOP,
            ...skipPlain,
            ...get(j), ...get(e), GE_U, 0x0d, 7,
            ...get(j), ...load8(0), ...set(c), ...inc(j, 1),
            ...get(c), ...i32(0x22), EQ, 0x0d, 1,
            ...get(c), ...i32(0x5c), EQ, ...IF, ...inc(j, 1), END,
            0x0c, 0,
          END, END,
        ELSE,
          ...get(c), ...i32(0x7b), EQ, ...get(c), ...i32(0x5b), EQ, OR, ...IF, ...inc(k, 1), END,
          ...get(c), ...i32(0x7d), EQ, ...get(c), ...i32(0x5d), EQ, OR, ...IF, ...inc(k, -1), END,
        END,
        0x0c, 0,
      END, END,
      ...get(t), ...i32(5), EQ, ...IF, ...i32(0), ...get(vs), ...store32(HEAD_S), ...i32(0), ...get(j), ...store32(HEAD_S + 4), END,
      ...get(j), ...set(m),
      0x0c, 1,
    END,
    // an integer followed by a comma or the end, or JavaScript's
    ...get(c), ...i32(0x30), SUB, ...i32(9), GT_U, 0x0d, 1,
    ...get(vs), ...set(j),
    ...I64_0, ...set(acc),
    ...BLOCK, ...LOOP,
      ...get(j), ...get(e), GE_U, 0x0d, 1,
      ...get(j), ...load8(0), ...i32(0x30), SUB, ...tee(c), ...i32(9), GT_U, 0x0d, 1,
      ...get(acc), ...I64_10, 0x7e /* i64.mul */, ...get(c), 0xad /* i64.extend_i32_u */, 0x7c /* i64.add */, ...set(acc),
      ...inc(j, 1), 0x0c, 0,
    END, END,
    ...get(j), ...get(e), LT_U, ...IF,
      ...get(j), ...load8(0), ...i32(0x2c), NE, 0x0d, 2,
    END,
    ...get(t), ...i32(2), EQ, ...get(t), ...i32(4), EQ, OR, ...get(t), ...i32(5), EQ, OR, 0x0d, 1,
    ...get(t), ...i32(1), EQ, ...get(t), ...i32(3), EQ, OR, ...IF,
      // exact only up to 15 digits, and without a leading zero
      ...get(j), ...get(vs), SUB, ...i32(15), GT_U, 0x0d, 2,
      ...get(vs), ...load8(0), ...i32(0x30), EQ, ...get(j), ...get(vs), SUB, ...i32(1), NE, AND, 0x0d, 2,
      ...get(t), ...i32(1), EQ, ...IF, ...numberTo(TS), ELSE, ...numberTo(SEQ), END,
    END,
    ...get(j), ...set(m),
    0x0c, 0,
  END, END,
  ...i32(0), ...get(m), ...store32(MEND),
]
// biome-ignore format: laid out as the instructions nest
const body = [
  ...BLOCK, ...LOOP,
  // 16 bytes at a time: store them all, move past the plain ones (all 16, or up to the first quote or backslash)
  ...copyPlainRun(s, e, d, v, t, [0x22, 0x5c]),
  // one byte: the end, the closing quote, an escape, or a byte as it is
  ...get(s), ...get(e), 0x4f /* ge_u */, 0x0d, 1 /* br_if block */,
  ...get(s), ...load8(0), ...tee(c), ...i32(0x22), 0x46 /* eq */, 0x0d, 1 /* br_if block */,
  ...get(c), ...i32(0x5c), 0x46 /* eq */, ...IF,
    ...get(s), ...i32(1), ADD, ...get(e), 0x4f /* ge_u */, 0x0d, 2 /* br_if block */,
    ...get(s), ...load8(1), ...load8(TABLE), ...tee(t), 0x45 /* eqz */, 0x0d, 2 /* br_if block */,
    ...get(d), ...get(t), ...store8(0), ...inc(d, 1), ...inc(s, 2),
    0x0c, 1 /* br loop */,
  END,
  ...get(d), ...get(c), ...store8(0), ...inc(d, 1), ...inc(s, 1),
  0x0c, 0 /* br loop */,
  END, END,
  ...i32(0), ...get(s), ...store32(STOP),
  ...members,
  ...get(d),
]

export const NOT_CLOSED = -1
export const NEEDS_JS = -2

export class WasmUnescaper {
  // the longest source copied in at once
  static readonly srcMax = SRC_MAX
  // bytes the last unescape() wrote
  written = 0
  // after a closing quote, the members it read (offsets in the loaded source; see unesc above):
  // [where they end, src start, src end, host start, host end, (ts, seq), headers start, end,
  // src equals the reference, reference start, end] (-1: not read), [ts, seq] (NaN: not read)
  readonly members: Int32Array
  readonly numbers: Float64Array
  private readonly u8: Uint8Array
  private readonly buf: Buffer
  private readonly stop: Int32Array
  private readonly free: Buffer[] = []
  private slots = 0
  // the last output buffer and where it lies in this memory (-1: elsewhere): .buffer and
  // .byteOffset are calls into V8, too dear once per event
  private out?: Buffer
  private outAt = -1

  constructor(
    private readonly fn: (s: number, e: number, d: number) => number,
    readonly memory: ArrayBuffer,
  ) {
    this.u8 = new Uint8Array(memory)
    this.buf = Buffer.from(memory)
    this.stop = new Int32Array(memory, STOP, 1)
    this.members = new Int32Array(memory, MEND, (REF_E + 4 - MEND) / 4)
    this.numbers = new Float64Array(memory, TS, 2)
  }

  // Where the loaded source starts in this memory (members holds offsets from 0 of the memory).
  static readonly srcAt = SRC
  // where the source unescape() reads starts in this memory: SRC after load(), or where a source
  // already in this memory lies (use())
  at = SRC

  // Copies `src` (at most srcMax bytes) into the module's memory: unescape() reads from there.
  // No reference src (see unescape) until the caller sets one.
  load(src: Uint8Array): void {
    this.u8.set(src, SRC)
    this.at = SRC
    this.members[12] = -1
  }

  // Reads `src` where it lies if it lies in this memory (a chunk() the reader framed a batch
  // into: no copy), as load() would; false if it does not.
  use(src: Uint8Array): boolean {
    if (src.buffer !== this.memory) return false
    this.at = src.byteOffset
    this.members[12] = -1
    return true
  }

  // The src bytes an event's src is compared with (members[11]): [start, end) of the loaded source.
  sameSrcAs(start: number, end: number): void {
    this.members[12] = this.at + start
    this.members[13] = this.at + end
  }

  // Unescapes the loaded bytes from `start` (just after an opening quote) into out at `at`, up to
  // the closing quote. Returns the quote's index (written: the bytes written), NOT_CLOSED when no
  // quote comes before `limit`, or NEEDS_JS at an escape it does not do (\u, a malformed one):
  // then out may hold a partial string, and the caller does the whole string in JavaScript. out
  // must have room for limit - start bytes at `at` (a 16-byte store may fill them).
  unescape(start: number, limit: number, out: Buffer, at: number): number {
    if (out !== this.out) {
      this.out = out
      this.outAt = out.buffer === this.memory ? out.byteOffset : -1
    }
    const direct = this.outAt >= 0
    const to = direct ? this.outAt + at : DST
    const from = this.at
    const end = this.fn(from + start, from + limit, to)
    const stop = this.stop[0]! - from
    if (stop >= limit) return NOT_CLOSED
    if (this.u8[from + stop] !== 0x22) return NEEDS_JS
    this.written = end - to
    if (!direct) this.buf.copy(out, at, DST, end)
    return stop
  }

  // A buffer of `size` bytes in this memory (unescape() writes into it without a copy), or
  // undefined when none is left or size is not the slot size. Given back with give().
  chunk(size: number): Buffer | undefined {
    if (size !== SLOT) return undefined
    const free = this.free.pop()
    if (free) return free
    if (this.slots === SLOTS) return undefined
    return Buffer.from(this.memory, ARENA + SLOT * this.slots++, SLOT)
  }

  // A chunk of chunk() that nothing refers to any more.
  give(chunk: Buffer): void {
    this.free.push(chunk)
  }
}

// The unescaper, made on first use; undefined where WebAssembly SIMD is not available.
const wasm = new OnFirstUse(
  { name: 'unesc', params: 3, locals: [I32, I32, V128, I32, I32, I32, I32, I32, I32, I64, I32], body, pages: PAGES },
  (fn: (s: number, e: number, d: number) => number, mem) => {
    const u8 = new Uint8Array(mem)
    // the simple escapes json-scan.ts decodes (-1 there: not one, 0 here)
    for (let b = 0; b < 256; b++) if (SIMPLE_ESCAPES[b]! >= 0) u8[TABLE + b] = SIMPLE_ESCAPES[b]!
    return new WasmUnescaper(fn, mem)
  },
)
export const unescaper = (): WasmUnescaper | undefined => wasm.get()
