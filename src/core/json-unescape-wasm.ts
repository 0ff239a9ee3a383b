import {
  ADD,
  BLOCK,
  END,
  get,
  I32,
  i32,
  IF,
  inc,
  instantiate,
  load8,
  LOOP,
  oneFunctionModule,
  set,
  simd,
  store8,
  store32,
  tee,
  V128,
} from './wasm-asm.js'

// A JSON string's contents unescaped by a small WebAssembly function with 16-byte SIMD steps:
// roll's hottest loop (every event's body). Plain runs are copied 16 bytes at a time, the simple
// escapes (\" \\ \/ \b \f \n \r \t) through a table; at anything else (\u, a malformed escape)
// it stops and says so, and the caller takes the JavaScript path for that string. Like tail's
// escaper (json-escape-wasm.ts) it is assembled here and made on first use; undefined where
// WebAssembly SIMD is missing. The bytes are unescapeBody's exactly (a test holds them to it).

// Memory layout (one fixed memory, never grown, so views into it stay valid):
const TABLE = 0 // 256 bytes: the byte a simple escape stands for, 0 for any other letter
const STOP = 256 // i32: where the last call stopped
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
// params s e d, locals c t (i32) and v (v128)
const [s, e, d, c, t, v] = [0, 1, 2, 3, 4, 5]
// biome-ignore format: laid out as the instructions nest
const body = [
  ...BLOCK, ...LOOP,
  // 16 bytes at a time: store them all, move past the plain ones (all 16, or up to the first quote or backslash)
  ...get(s), ...i32(16), ADD, ...get(e), 0x4d /* le_u */, ...IF,
    ...get(s), ...simd(0) /* v128.load */, 0, 0, ...tee(v),
    ...i32(0x22), ...simd(15) /* splat */, ...simd(35) /* eq */,
    ...get(v), ...i32(0x5c), ...simd(15), ...simd(35), ...simd(80) /* or */,
    ...simd(100) /* bitmask */, ...tee(t),
    ...get(d), ...get(v), ...simd(11) /* v128.store */, 0, 0,
    0x45 /* eqz */, ...IF, ...inc(s, 16), ...inc(d, 16), 0x0c, 2 /* br loop */, END,
    ...get(t), 0x68 /* ctz */, ...tee(t), ...get(s), ADD, ...set(s),
    ...get(t), ...get(d), ADD, ...set(d),
  END,
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
  ...get(d), END,
]

const moduleBytes = (): Uint8Array =>
  oneFunctionModule(
    'unesc',
    3,
    [
      [2, I32],
      [1, V128],
    ],
    body,
    PAGES,
  )

export const NOT_CLOSED = -1
export const NEEDS_JS = -2

export class WasmUnescaper {
  // the longest source copied in at once
  static readonly srcMax = SRC_MAX
  // bytes the last unescape() wrote
  written = 0
  private readonly u8: Uint8Array
  private readonly buf: Buffer
  private readonly stop: Int32Array
  private readonly free: Buffer[] = []
  private slots = 0

  constructor(
    private readonly fn: (s: number, e: number, d: number) => number,
    readonly memory: ArrayBuffer,
  ) {
    this.u8 = new Uint8Array(memory)
    this.buf = Buffer.from(memory)
    this.stop = new Int32Array(memory, STOP, 1)
  }

  // Copies `src` (at most srcMax bytes) into the module's memory: unescape() reads from there.
  load(src: Uint8Array): void {
    this.u8.set(src, SRC)
  }

  // Unescapes the loaded bytes from `start` (just after an opening quote) into out at `at`, up to
  // the closing quote. Returns the quote's index (written: the bytes written), NOT_CLOSED when no
  // quote comes before `limit`, or NEEDS_JS at an escape it does not do (\u, a malformed one):
  // then out may hold a partial string, and the caller does the whole string in JavaScript. out
  // must have room for limit - start bytes at `at` (a 16-byte store may fill them).
  unescape(start: number, limit: number, out: Buffer, at: number): number {
    const direct = out.buffer === this.memory
    const to = direct ? out.byteOffset + at : DST
    const end = this.fn(SRC + start, SRC + limit, to)
    const stop = this.stop[0]! - SRC
    if (stop >= limit) return NOT_CLOSED
    if (this.u8[SRC + stop] !== 0x22) return NEEDS_JS
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

let made = false
let instance: WasmUnescaper | undefined

// The unescaper, made on first use; undefined where WebAssembly SIMD is not available.
export const unescaper = (): WasmUnescaper | undefined => {
  if (made) return instance
  made = true
  try {
    const { fn, memory } = instantiate<(s: number, e: number, d: number) => number>(moduleBytes(), 'unesc')
    const u8 = new Uint8Array(memory)
    for (const [letter, byte] of [
      [0x22, 0x22],
      [0x5c, 0x5c],
      [0x2f, 0x2f],
      [0x62, 0x08],
      [0x66, 0x0c],
      [0x6e, 0x0a],
      [0x72, 0x0d],
      [0x74, 0x09],
    ] as const)
      u8[TABLE + letter] = byte
    instance = new WasmUnescaper(fn, memory)
  } catch {
    instance = undefined // no WebAssembly SIMD here: the JavaScript path
  }
  return instance
}
