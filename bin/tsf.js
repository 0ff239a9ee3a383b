#!/usr/bin/env node
import module from 'node:module'
// node >= 22.1: the code node compiles for tsf and commander is kept on disk and reused by the
// next start: every stage of a pipeline, every --help, pays less start-up (BENCHMARKS.md, branch
// boot). It must be on before tsf's modules load, hence the import below. Node 20 has no such cache.
if (module.enableCompileCache && !process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  const dir = await import('../dist/core/compile-cache-dir.js').then((m) => m.privateCacheDir())
  if (dir) module.enableCompileCache(dir)
}
const { main } = await import('../dist/cli.js')
await main(process.argv)
