// collect's JSON check of a batch (json-scan.ts, scanObject, for every line of decodeBatch) as one
// WebAssembly function: it finds each line's end and checks the whole line, structure and strings,
// in one call per batch, strings 16 bytes a step with SIMD. With only the strings in WebAssembly,
// the walk between them (in JavaScript) and a call per string were two thirds of the check
// (BENCHMARKS.md, "collect's JSON check in WebAssembly").
// Assembled from its instructions (wasm-asm.ts) on first use; where WebAssembly SIMD is missing,
// lineChecker() is undefined and decodeBatch calls scanObject per line. It says exactly what
// scanObject says of every line (a differential test holds it to that): one JSON object, nested at
// most MAX_DEPTH deep, with a string "body" (the key's raw bytes, as scanObject reads them), and
// where its first top-level "src" string starts. No UTF-8 check: scanObject makes none either.

import { MAX_DEPTH, NO_SRC, NOT_EVENT, NOT_JSON } from './json-scan.js'
import {
  ADD,
  block,
  br,
  brIf,
  type Code,
  flat,
  get,
  I32,
  i32,
  inc,
  load8,
  loop,
  OnFirstUse,
  set,
  simd,
  stopsIn,
  store32,
  store8,
  tee,
  V128,
  when,
} from './wasm-asm.js'

// Memory layout (one fixed memory, never grown, so views into it stay valid):
const ESCAPES = 0 // 256 bytes: 1 for the letter of a one-letter escape (\" \\ \/ \b \f \n \r \t), 2 for u
const HEX = 256 // 256 bytes: 1 for a hex digit
const SPACES = 512 // 256 bytes: 1 for JSON's spaces but the newline
const STACK = 768 // the open containers, a byte each ({ or [), from depth 1
const RES = 1024 // per line checked: its end (the newline's index) and the verdict, two i32
const LINES = 16384 // the most lines one call checks
const SRC = RES + LINES * 8 // the lines, copied in
const SRC_MAX = 1024 * 1024
const PAGES = Math.ceil((SRC + SRC_MAX) / 65536)

// what the walk expects next
const KEY = 0
const COLON = 1
const VALUE = 2
const AFTER = 3

// lines(pos, end, last) -> lines checked: from memory offset `pos` up to `end`, each line (up to its
// newline, or up to `end` for the last when `last` is 1) is checked and its end and verdict stored at
// RES. Stops at a line not whole before `end` (unless last), or after LINES lines.
const [pos, end, last, nl, i, c, t, depth, state, first, flag, event, src, count, r, k, m, v] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
]
const EQZ = 0x45
const EQ = 0x46
const NE = 0x47
const LT_S = 0x48
const LT_U = 0x49
const GT_U = 0x4b
const LE_U = 0x4d
const GE_U = 0x4f
const CTZ = 0x68
const SUB = 0x6b
const AND = 0x71
const OR = 0x72
const SHL = 0x74
const load32 = (offset: number): number[] => [0x28, 2, offset]
const word = (s: string): number => Buffer.from(s, 'latin1').readInt32LE(0)
const is = (l: number, byte: number): number[] => [...get(l), ...i32(byte), EQ]
const dec = (l: number): number[] => [...get(l), ...i32(1), SUB, ...set(l)]
// byte at local l (or at l + offset) is a digit
const digitAt = (l: number): number[] => [...get(l), ...load8(0), ...i32(0x30), SUB, ...i32(10), LT_U]
const hexAt = (l: number, offset: number): number[] => [...get(l), ...load8(offset), ...load8(HEX)]
// i < nl, as a condition
const inLine = [...get(i), ...get(nl), LT_U]
const XOR = 0x73
// past the digits at i: 16 bytes a step while they lie before nl (a timestamp's 13 digits in one)
// biome-ignore format: laid out as the instructions nest
const digits = (label: string): Code => loop(label,
  ...get(i), ...i32(16), ADD, ...get(nl), LE_U, when([
    // the bytes that are no digit: (byte - "0") >= 10, unsigned
    ...get(i), ...simd(0) /* v128.load */, 0, 0, ...i32(0x30), ...simd(15) /* splat */, ...simd(113) /* i8x16.sub */,
    ...i32(10), ...simd(15), ...simd(38) /* i8x16.lt_u */, ...simd(100) /* bitmask */, ...i32(0xffff), XOR, ...tee(m),
    EQZ, when([...inc(i, 16), br(label)]),
    ...get(m), CTZ, ...get(i), ADD, ...set(i),
  ], [
    ...inLine, when([...digitAt(i), when([...inc(i, 1), br(label)])]),
  ]),
)

// The string whose content starts at k, ending before nl: t = the index after its closing quote,
// or a branch to `fail` when it is not valid JSON (control byte, bad escape, not closed).
// biome-ignore format: laid out as the instructions nest
const string = (fail: string): Code => [
  ...get(k), ...set(t),
  block('closed', loop('str',
    // 16 bytes at a time while they are all before nl: past the plain ones
    ...get(t), ...i32(16), ADD, ...get(nl), LE_U, when([
      ...get(t), ...simd(0) /* v128.load */, 0, 0, ...set(v),
      ...stopsIn(v, [0x22, 0x5c], 0x20), ...tee(m),
      EQZ, when([...inc(t, 16), br('str')]),
      ...get(m), CTZ, ...get(t), ADD, ...set(t),
    ], [
      ...get(t), ...get(nl), GE_U, brIf(fail),
    ]),
    ...get(t), ...load8(0), ...tee(c), ...i32(0x22), EQ, when([...inc(t, 1), br('closed')]),
    ...get(c), ...i32(0x20), LT_U, brIf(fail),
    ...is(c, 0x5c), when([
      ...get(t), ...i32(1), ADD, ...get(nl), GE_U, brIf(fail),
      ...get(t), ...load8(1), ...load8(ESCAPES), ...tee(m), EQZ, brIf(fail),
      ...is(m, 2), when([
        // \u and four hex digits, all before nl
        ...get(t), ...i32(5), ADD, ...get(nl), GE_U, brIf(fail),
        ...hexAt(t, 2), ...hexAt(t, 3), AND, ...hexAt(t, 4), AND, ...hexAt(t, 5), AND, EQZ, brIf(fail),
        ...inc(t, 6),
      ], [
        ...inc(t, 2),
      ]),
      br('str'),
    ]),
    // a plain byte of the last 15
    ...inc(t, 1), br('str'),
  )),
]

// A number at i (c its first byte), as scanObject's skipNumber; a branch to `fail` when it is not one.
// biome-ignore format: laid out as the instructions nest
const number = (fail: string): Code[] => [
  ...is(c, 0x2d), when([...inc(i, 1)]),
  ...get(i), ...get(nl), GE_U, brIf(fail),
  ...digitAt(i), EQZ, brIf(fail),
  ...get(i), ...load8(0), ...i32(0x30), EQ, when([...inc(i, 1)], [digits('int')]),
  ...inLine, when([
    ...get(i), ...load8(0), ...i32(0x2e), EQ, when([
      ...inc(i, 1), ...get(i), ...get(nl), GE_U, brIf(fail), ...digitAt(i), EQZ, brIf(fail), digits('frac'),
    ]),
  ]),
  ...inLine, when([
    ...get(i), ...load8(0), ...i32(0x20), OR, ...i32(0x65), EQ, when([
      ...inc(i, 1),
      ...inLine, when([...get(i), ...load8(0), ...tee(c), ...i32(0x2b), EQ, ...is(c, 0x2d), OR, when([...inc(i, 1)])]),
      ...get(i), ...get(nl), GE_U, brIf(fail),
      ...digitAt(i), EQZ, brIf(fail),
      digits('exp'),
    ]),
  ]),
]

// true, false, null at i: a branch to `done` past it, or to `fail`
// biome-ignore format: laid out as the instructions nest
const literal = (text: string, done: string, fail: string): Code[] => [
  ...is(c, text.charCodeAt(0)), when([
    ...get(i), ...i32(text.length), ADD, ...get(nl), GT_U, brIf(fail),
    ...get(i), ...load32(0), ...i32(word(text)), NE, brIf(fail),
    ...(text.length === 5 ? [...get(i), ...load8(4), ...i32(text.charCodeAt(4)), NE, brIf(fail)] : []),
    ...inc(i, text.length), br(done),
  ]),
]

// The line from pos, known to start with {, walked up to nl (the end of what was loaded): r = its
// verdict and i just past its closing brace, or a branch to `checked` (r NOT_JSON) with i at or
// before the byte that failed it. A newline is no space here: it fails the walk wherever it comes,
// so the walk never steps over one, and finds the line's end as it goes (no pass of its own).
// biome-ignore format: laid out as the instructions nest
const object: Code[] = [
  ...get(pos), ...i32(1), ADD, ...set(i),
  ...i32(1), ...set(depth), ...i32(0), ...i32(0x7b), ...store8(STACK + 1),
  ...i32(KEY), ...set(state), ...i32(1), ...set(first),
  ...i32(0), ...set(event), ...i32(NO_SRC), ...set(src), ...i32(0), ...set(flag),
  loop('main',
    block('close',
      ...get(i), ...get(nl), GE_U, brIf('checked'),
      ...get(i), ...load8(0), ...tee(c), ...load8(SPACES), when([...inc(i, 1), br('main')]),
      // a string: a key or a value
      ...is(c, 0x22), when([
        ...is(state, KEY), ...is(state, VALUE), OR, EQZ, brIf('checked'),
        ...get(i), ...i32(1), ADD, ...set(k),
        string('checked'),
        ...is(state, KEY), when([
          // "body" or "src", by the key's raw bytes (the closing quote read with src's three)
          ...i32(0), ...set(flag),
          ...get(t), ...get(k), SUB, ...i32(5), EQ, when([...get(k), ...load32(0), ...i32(word('body')), EQ, ...set(flag)]),
          ...get(t), ...get(k), SUB, ...i32(4), EQ, when([...get(k), ...load32(0), ...i32(word('src"')), EQ, ...i32(1), SHL, ...set(flag)]),
          ...i32(COLON), ...set(state),
        ], [
          // duplicate keys: JSON.parse keeps the last body, and the first src string is the one moved
          ...is(depth, 1), when([
            ...is(flag, 1), when([...i32(1), ...set(event)]),
            ...is(flag, 2), ...get(src), ...i32(0), LT_S, AND, when([...get(k), ...set(src)]),
          ]),
          ...i32(AFTER), ...set(state),
        ]),
        ...get(t), ...set(i), ...i32(0), ...set(first), br('main'),
      ]),
      ...is(state, COLON), when([...get(c), ...i32(0x3a), NE, brIf('checked'), ...inc(i, 1), ...i32(VALUE), ...set(state), br('main')]),
      ...is(state, AFTER), when([
        ...is(c, 0x2c), when([
          ...inc(i, 1), ...i32(0), ...set(first),
          ...get(depth), ...load8(STACK), ...i32(0x7b), EQ, when([...i32(KEY), ...set(state)], [...i32(VALUE), ...set(state)]),
          br('main'),
        ]),
        // } closes {, ] closes [
        ...get(c), ...get(depth), ...load8(STACK), ...i32(2), ADD, EQ, brIf('close'),
        br('checked'),
      ]),
      ...is(state, KEY), when([...is(c, 0x7d), ...get(first), AND, brIf('close'), br('checked')]),
      // a value other than a string; ] right after [
      ...is(c, 0x5d), ...get(first), AND, when([...get(depth), ...load8(STACK), ...i32(0x5b), EQ, brIf('close'), br('checked')]),
      ...is(depth, 1), ...is(flag, 1), AND, when([...i32(0), ...set(event)]),
      ...is(c, 0x7b), ...is(c, 0x5b), OR, when([
        ...get(depth), ...i32(MAX_DEPTH), GE_U, brIf('checked'),
        ...inc(depth, 1), ...get(depth), ...get(c), ...store8(STACK),
        ...inc(i, 1), ...i32(1), ...set(first),
        ...is(c, 0x7b), when([...i32(KEY), ...set(state)], [...i32(VALUE), ...set(state)]),
        br('main'),
      ]),
      block('scalar',
        ...literal('true', 'scalar', 'checked'),
        ...literal('false', 'scalar', 'checked'),
        ...literal('null', 'scalar', 'checked'),
        ...number('checked'),
      ),
      ...i32(AFTER), ...set(state), ...i32(0), ...set(first), br('main'),
    ),
    // a container closed at i
    ...inc(i, 1), ...dec(depth), ...i32(AFTER), ...set(state), ...i32(0), ...set(first),
    ...get(depth), brIf('main'),
    // the object closed at i: the line must end there (the caller looks)
    ...i32(NOT_EVENT), ...set(r),
    ...get(event), EQZ, brIf('checked'),
    ...get(src), ...set(r),
  ),
]

// biome-ignore format: laid out as the instructions nest
const body = flat([
  ...i32(0), ...set(count),
  block('done', loop('lines',
    ...get(pos), ...get(end), GE_U, brIf('done'),
    ...i32(NOT_JSON), ...set(r),
    ...get(pos), ...set(i),
    ...get(end), ...set(nl),
    block('checked',
      ...get(pos), ...load8(0), ...i32(0x7b), NE, brIf('checked'),
      ...object,
    ),
    // the line's end: right after its object, or at the next newline from where the walk stopped
    ...get(i), ...set(nl),
    block('found',
      ...get(nl), ...get(end), LT_U, when([
        ...get(nl), ...load8(0), ...i32(0x0a), EQ, brIf('found'),
      ], [
        // at the end of the load: the line ends there only when it is the last
        ...is(r, NOT_JSON), EQZ, when([...get(last), EQZ, brIf('done'), br('found')]),
      ]),
      // not JSON after all: bytes follow the closing brace
      ...i32(NOT_JSON), ...set(r),
      loop('seek',
        ...get(nl), ...i32(16), ADD, ...get(end), LE_U, when([
          ...get(nl), ...simd(0), 0, 0, ...set(v),
          ...stopsIn(v, [0x0a]), ...tee(m), when([...get(m), CTZ, ...get(nl), ADD, ...set(nl), br('found')]),
          ...inc(nl, 16), br('seek'),
        ]),
        ...get(nl), ...get(end), GE_U, when([...get(last), EQZ, brIf('done'), br('found')]),
        ...get(nl), ...load8(0), ...i32(0x0a), EQ, brIf('found'),
        ...inc(nl, 1), br('seek'),
      ),
    ),
    ...get(count), ...i32(3), SHL, ...get(nl), ...store32(RES),
    ...get(count), ...i32(3), SHL, ...get(r), ...store32(RES + 4),
    ...inc(count, 1),
    ...get(nl), ...get(end), GE_U, brIf('done'),
    ...get(nl), ...i32(1), ADD, ...set(pos),
    ...get(count), ...i32(LINES), LT_U, brIf('lines'),
  )),
  ...get(count),
])

export class LineChecker {
  // the most bytes load() takes at once
  static readonly max = SRC_MAX
  // the most lines check() does at once
  static readonly lines = LINES

  private readonly res: Int32Array

  constructor(
    private readonly fn: (pos: number, end: number, last: number) => number,
    private readonly u8: Uint8Array,
  ) {
    this.res = new Int32Array(u8.buffer, RES, LINES * 2)
  }

  // Copies src[start, end) (at most max bytes) into the module's memory, for check().
  load(src: Uint8Array, start: number, end: number): void {
    this.u8.set(src.subarray(start, end), SRC)
  }

  // Checks the lines of what load() copied, from `from` (a line's start) up to `loaded`; a line not
  // ended by a newline before `loaded` is checked only when `last`. Returns how many it checked:
  // lineEnd(k) and verdict(k) tell the k-th.
  check(from: number, loaded: number, last: boolean): number {
    return this.fn(SRC + from, SRC + loaded, last ? 1 : 0)
  }

  // where line k ends (its newline, or `loaded`), relative to what load() copied
  lineEnd(k: number): number {
    return this.res[2 * k]! - SRC
  }

  // scanObject's verdict on line k: NOT_JSON (or a line not shaped {…}), NOT_EVENT, NO_SRC, or
  // where its src string starts, relative to what load() copied
  verdict(k: number): number {
    const r = this.res[2 * k + 1]!
    return r >= 0 ? r - SRC : r
  }
}

const wasm = new OnFirstUse(
  {
    name: 'lines',
    params: 3,
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, V128],
    body,
    pages: PAGES,
  },
  (fn: (pos: number, end: number, last: number) => number, mem) => {
    const u8 = new Uint8Array(mem)
    for (const e of '"\\/bfnrt') u8[ESCAPES + e.charCodeAt(0)] = 1
    u8[ESCAPES + 0x75] = 2
    for (const h of '0123456789abcdefABCDEF') u8[HEX + h.charCodeAt(0)] = 1
    // JSON's fourth space, the newline, ends the line here (the walk stops at it)
    for (const s of ' \t\r') u8[SPACES + s.charCodeAt(0)] = 1
    return new LineChecker(fn, u8)
  },
)

// The checker, made on first use; undefined where WebAssembly SIMD is not available.
export const lineChecker = (): LineChecker | undefined => wasm.get()
