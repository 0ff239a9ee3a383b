// A minimal WebAssembly assembler: just what tsf's small SIMD functions use (json-escape-wasm.ts,
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
export const ADD = 0x6a
export const inc = (l: number, n: number): number[] => [...get(l), ...i32(n), ADD, ...set(l)]
export const BLOCK = [0x02, 0x40]
export const LOOP = [0x03, 0x40]
export const IF = [0x04, 0x40]
export const ELSE = 0x05
export const END = 0x0b
export const I32 = 0x7f
export const V128 = 0x7b

export interface Fn {
  name: string
  params: number // i32 parameters
  results: number // i32 results (0 or 1)
  locals: [count: number, type: number][]
  body: number[] // the instructions, without the final END
  pages: number // 64 KiB pages of memory (exported as "mem")
}

export const assemble = (fn: Fn): Uint8Array => {
  const code = [...vec(fn.locals.map(([n, type]) => [...uleb(n), type])), ...fn.body, END]
  const params = Array.from({ length: fn.params }, () => [I32])
  const results = Array.from({ length: fn.results }, () => [I32])
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
// missing (callers then keep their JavaScript path).
export const instantiate = <F>(fn: Fn): { fn: F; mem: ArrayBuffer } => {
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly
  const exports = new wasm.Instance(new wasm.Module(assemble(fn))).exports
  return { fn: exports[fn.name] as F, mem: exports.mem.buffer }
}
