// A minimal WebAssembly assembler: just what tsf's two small SIMD functions use (tail's escaper in
// json-escape-wasm.ts, roll's unescaper in json-unescape-wasm.ts). Each module is assembled from
// its instructions in TypeScript (no binary blob, no build step) and made once, on first use.

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
export const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b]
    out.push(b | 0x80)
  }
}
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
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

// A module of one function `name` (i32 params, one i32 result, the given locals: [count, type]
// pairs) and one exported memory `mem` of `pages` 64 KiB pages, never grown.
export const oneFunctionModule = (fn: string, params: number, locals: number[][], body: number[], pages: number): Uint8Array => {
  const code = [...vec(locals), ...body]
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: params }, () => [I32])), ...vec([[I32]])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0, ...uleb(pages)]])),
    ...section(
      7,
      vec([
        [...name(fn), 0, 0],
        [...name('mem'), 2, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ])
}

// the little of the WebAssembly API used here (tsconfig's lib has no WebAssembly types)
interface Wasm {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: Record<string, unknown> }
}

// The module's function and memory; throws where WebAssembly (or its SIMD) is missing.
export const instantiate = <F>(bytes: Uint8Array, fn: string): { fn: F; memory: ArrayBuffer } => {
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly
  const exports = new wasm.Instance(new wasm.Module(bytes)).exports
  return { fn: exports[fn] as F, memory: (exports.mem as { buffer: ArrayBuffer }).buffer }
}
