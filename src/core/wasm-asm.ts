// A minimal WebAssembly assembler: just what tsf's small SIMD functions use (tail's escaper in
// json-escape-wasm.ts, roll's unescaper in json-unescape-wasm.ts, collect's JSON check in
// json-scan-wasm.ts). A module holds one function and one fixed memory, both exported; it is
// assembled from its instructions at first use, so there is no binary blob and no build step.

export const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b]
    out.push(b | 0x80)
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes]
const name = (s: string): number[] => vec([...Buffer.from(s)].map((b) => [b]))

export const get = (l: number): number[] => [0x20, l]
export const set = (l: number): number[] => [0x21, l]
export const tee = (l: number): number[] => [0x22, l]
export const i32 = (n: number): number[] => [0x41, ...sleb(n)]
export const simd = (op: number): number[] => [0xfd, ...uleb(op)]
export const load8 = (offset: number): number[] => [0x2d, 0, ...uleb(offset)]
export const store8 = (offset: number): number[] => [0x3a, 0, ...uleb(offset)]
export const store32 = (offset: number): number[] => [0x36, 2, ...uleb(offset)]
export const ADD = 0x6a
export const inc = (l: number, n: number): number[] => [...get(l), ...i32(n), ADD, ...set(l)]
export const BLOCK = [0x02, 0x40]
export const LOOP = [0x03, 0x40]
export const IF = [0x04, 0x40]
export const ELSE = 0x05
export const END = 0x0b
export const I32 = 0x7f
export const I64 = 0x7e
export const V128 = 0x7b

// On the stack, the bitmask (bit i: byte i) of the 16 bytes in v128 local `v` that are one of
// `bytes` or, with `below`, less than it: where a string's plain run ends.
export const stopsIn = (v: number, bytes: number[], below?: number): number[] => [
  ...bytes.flatMap((b, i) => [...get(v), ...i32(b), ...simd(15) /* splat */, ...simd(35) /* eq */, ...(i ? simd(80) /* or */ : [])]),
  ...(below === undefined ? [] : [...get(v), ...i32(below), ...simd(15), ...simd(38) /* lt_u */, ...simd(80)]),
  ...simd(100) /* bitmask */,
]

// Inside BLOCK LOOP: while 16 bytes from s lie before e, stores them all at d and moves s and d
// past the plain ones (all 16, and on round the loop; or up to the first of stopsIn's bytes).
// Locals v (v128) and t (i32) are scratch.
// biome-ignore format: laid out as the instructions nest
export const copyPlainRun = (s: number, e: number, d: number, v: number, t: number, bytes: number[], below?: number): number[] => [
  ...get(s), ...i32(16), ADD, ...get(e), 0x4d /* le_u */, ...IF,
    ...get(s), ...simd(0) /* v128.load */, 0, 0, ...set(v),
    ...stopsIn(v, bytes, below), ...tee(t),
    ...get(d), ...get(v), ...simd(11) /* v128.store */, 0, 0,
    0x45 /* eqz */, ...IF, ...inc(s, 16), ...inc(d, 16), 0x0c, 2 /* br loop */, END,
    ...get(t), 0x68 /* ctz */, ...tee(t), ...get(s), ADD, ...set(s),
    ...get(t), ...get(d), ADD, ...set(d),
  END,
]

export interface Fn {
  name: string
  params: number // i32 parameters
  results?: number // i32 results (0 or 1; 1 unless said)
  locals: number[] // the type of each local after the params, in order (runs of a type grouped here)
  body: number[] // the instructions, without the final END
  pages: number // 64 KiB pages of memory (exported as "mem")
}

export const assemble = (fn: Fn): Uint8Array => {
  const runs: number[][] = []
  for (const type of fn.locals) {
    const last = runs.at(-1)
    if (last && last[1] === type) last[0]!++
    else runs.push([1, type])
  }
  const code = [...vec(runs.map(([n, type]) => [...uleb(n!), type!])), ...fn.body, END]
  const params = Array.from({ length: fn.params }, () => [I32])
  const results = Array.from({ length: fn.results ?? 1 }, () => [I32])
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec([[0x60, ...vec(params), ...vec(results)]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0, ...uleb(fn.pages)]])),
    ...section(
      7,
      vec([
        [...name(fn.name), 0, 0],
        [...name('mem'), 2, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ])
}

// the little of the WebAssembly API used here (tsconfig's lib has no WebAssembly types)
interface Wasm {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: Record<string, unknown> & { mem: { buffer: ArrayBuffer } } }
}

// The function and the memory of an assembled module; throws where WebAssembly or its SIMD is
// missing.
const instantiate = <F>(fn: Fn): { fn: F; mem: ArrayBuffer } => {
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly
  const exports = new wasm.Instance(new wasm.Module(assemble(fn))).exports
  return { fn: exports[fn.name] as F, mem: exports.mem.buffer }
}

// A module made once, at the first get(): its function and memory handed to `setup` (which fills
// the memory's tables and wraps them). get() is undefined where WebAssembly or its SIMD is missing:
// callers then keep their JavaScript path. made() is what get() made, without making it.
export class OnFirstUse<F, T> {
  private tried = false
  private value: T | undefined

  constructor(
    private readonly fn: Fn,
    private readonly setup: (fn: F, mem: ArrayBuffer) => T,
  ) {}

  get(): T | undefined {
    if (this.tried) return this.value
    this.tried = true
    try {
      const { fn, mem } = instantiate<F>(this.fn)
      this.value = this.setup(fn, mem)
    } catch {
      this.value = undefined // no WebAssembly SIMD here: the JavaScript path
    }
    return this.value
  }

  made(): T | undefined {
    return this.value
  }
}

// Structured code with named branch targets, for functions too branchy to count label depths by
// hand: block/loop/when nest, br/brIf name the block or loop to leave or repeat, flat() resolves
// the names into depths.
export type Code = number | Code[] | Nest | Branch
interface Nest {
  nest: 0x02 | 0x03 | 0x04 // block, loop, if
  label: string
  body: Code[]
  otherwise?: Code[]
}
interface Branch {
  br: 0x0c | 0x0d // br, br_if
  label: string
}
export const block = (label: string, ...body: Code[]): Nest => ({ nest: 0x02, label, body })
export const loop = (label: string, ...body: Code[]): Nest => ({ nest: 0x03, label, body })
// if (the condition on the stack) then body, else otherwise
export const when = (body: Code[], otherwise?: Code[]): Nest => ({ nest: 0x04, label: '', body, otherwise })
export const br = (label: string): Branch => ({ br: 0x0c, label })
export const brIf = (label: string): Branch => ({ br: 0x0d, label })

export const flat = (code: Code, labels: string[] = []): number[] => {
  if (typeof code === 'number') return [code]
  if (Array.isArray(code)) return code.flatMap((c) => flat(c, labels))
  if ('br' in code) {
    const at = labels.lastIndexOf(code.label)
    if (at < 0) throw new Error(`no label ${code.label}`)
    return [code.br, labels.length - 1 - at]
  }
  const inner = [...labels, code.label]
  return [code.nest, 0x40, ...flat(code.body, inner), ...(code.otherwise ? [ELSE, ...flat(code.otherwise, inner)] : []), END]
}
