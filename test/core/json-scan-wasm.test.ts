// collect's JSON check with its strings in WebAssembly (json-scan-wasm.ts) against the JavaScript
// check it speeds up: scanObject must say the same of every line, whichever engine checks its
// strings, at every position of a 16-byte step, whatever lies past the line's end.
import t from 'tap'
import { MAX_DEPTH, NOT_JSON, releaseScanBuffer, scanObject } from '../../src/core/json-scan.js'
import { StringScanner, stringScanner } from '../../src/core/json-scan-wasm.js'
import { decodeBatch } from '../../src/core/wire/batch.js'
import { fuzz, mutate, printable, type Rng } from '../fixtures/fuzz.js'

const wasm = stringScanner()

t.test('made here (Node has WebAssembly SIMD)', async (t) => {
  t.ok(wasm, 'stringScanner() is defined')
})

// scanObject of line by the JavaScript check, and of the same bytes in the scanner's memory after
// `pad` bytes and followed by `tail` (bytes the check must never take for the line's)
const both = (line: Buffer, pad = 0, tail: Buffer = Buffer.alloc(0)): { js: number; wasm: number } => {
  const js = scanObject(line)
  releaseScanBuffer()
  const src = Buffer.concat([Buffer.alloc(pad, 0x22), line, tail])
  const copy = wasm!.load(src, 0, src.length)
  const got = scanObject(copy, pad, pad + line.length)
  releaseScanBuffer()
  return { js, wasm: got >= 0 ? got - pad : got }
}

const same = (line: Buffer, pad = 0, tail?: Buffer): void => {
  const { js, wasm } = both(line, pad, tail)
  if (js !== wasm) throw new Error(`js ${js} != wasm ${wasm} for ${printable(line.toString('latin1'))} (pad ${pad})`)
}

t.test('each byte value in a string, at every offset of a 16-byte step', async (t) => {
  let refused = 0
  for (let b = 0; b < 256; b++) {
    for (let at = 0; at < 40; at++) {
      const body = Buffer.alloc(44, 0x61)
      body[at] = b
      const line = Buffer.concat([Buffer.from('{"body":"'), body, Buffer.from('","src":"s"}')])
      for (const pad of [0, 3]) same(line, pad)
      if (both(line).js === NOT_JSON) refused++
    }
  }
  t.ok(refused > 0, `the check refuses some (${refused})`)
})

t.test('escapes: every letter after a backslash, \\u with each hex position bad, cut at the end', async (t) => {
  for (let e = 0; e < 256; e++) {
    for (let at = 0; at < 20; at++) {
      const body = Buffer.concat([Buffer.alloc(at, 0x61), Buffer.from([0x5c, e]), Buffer.from('0a1F')])
      same(Buffer.concat([Buffer.from('{"body":"'), body, Buffer.from('"}')]))
    }
  }
  for (let k = 0; k < 4; k++) {
    for (const bad of ['g', 'G', '/', ':', '@', '`', '"', '\\', '\0', 'é']) {
      const hex = ['0', 'a', 'F', '9']
      hex[k] = bad
      same(Buffer.from(`{"body":"x\\u${hex.join('')}y"}`))
    }
  }
  // a string cut inside an escape, with what follows the line's end looking like its rest
  const full = '{"body":"abcdefghijklmnop\\u00e9\\"\\\\"}'
  for (let end = 1; end <= full.length; end++) {
    const line = Buffer.from(full.slice(0, end))
    same(line, 0, Buffer.from(full.slice(end)))
    same(Buffer.concat([line, Buffer.from('"}')]), 1, Buffer.from('u0041"}'))
  }
  t.pass('the same verdicts')
})

// a line built from the pieces that break parsers
const hostile = (rng: Rng): Buffer => {
  const value = (): string =>
    rng.pick([
      () => JSON.stringify(rng.nastyString(rng.int(0, 40))),
      () => `"${'x'.repeat(rng.int(0, 70))}"`,
      () => `"${rng.pick(['\\u00e9', '\\uD83D\\uDE00', '\\u2028', '\\u00', '\\u00G0', '\\x', '\\', '\\/', '\\b\\f\\n\\r\\t'])}"`,
      () => rng.pick(['0', '-0', '1.5e+10', '-12.25E-3', '01', '1.', '.5', '-', '1e', '1796262910114', 'true', 'false', 'null', 'nul']),
      () => `${'['.repeat(rng.int(1, MAX_DEPTH + 2))}1${']'.repeat(rng.int(1, MAX_DEPTH + 2))}`,
      () => `{"a":[1,{"b":"c\\"d"},[]],"e":{}}`,
      () => `"${Buffer.from([0xe2, 0x80, 0xa8]).toString('latin1')}${rng.bytes(rng.int(0, 6)).toString('latin1')}"`,
    ])()
  const members = Array.from({ length: rng.int(0, 6) }, () =>
    rng.bool(0.9) ? `${JSON.stringify(rng.pick(['body', 'src', 'ts', 'headers', rng.nastyString(3)]))}:${value()}` : value(),
  )
  const sep = rng.pick([',', ' , ', ',\t', ''])
  const text = `${rng.pick(['{', ' {', '{ '])}${members.join(sep)}${rng.pick(['}', ' }', '', '}}', '} x'])}`
  const line = Buffer.from(text, rng.bool() ? 'utf8' : 'latin1')
  return rng.bool(0.4) ? mutate(rng, line) : line
}

t.test('random and hostile lines: the same verdict and src offset', async (t) => {
  await fuzz(t, 'wasm scanObject matches the JavaScript one', { cases: 20000 }, (rng) => {
    const line = rng.bool(0.1) ? Buffer.concat([Buffer.from('{"body":"'), rng.bytes(rng.int(0, 80)), Buffer.from('"}')]) : hostile(rng)
    same(line, rng.int(0, 17), rng.bytes(rng.int(0, 20)))
  })
})

t.test('W1-shaped events are taken, their src found', async (t) => {
  await fuzz(t, 'W1 events', { cases: 3000 }, (rng) => {
    const body = rng.pick([() => rng.nastyString(rng.int(0, 300)), () => 'GET /a "q" \\ 200 ✓ 😀'.repeat(rng.int(0, 20))])()
    const line = Buffer.from(
      `{"body":${JSON.stringify(body)},"ts":1796262910114,"host":"vm","headers":{"file":"/var/log/a.log"},"src":"t.${rng.int(0, 99)}","seq":${rng.int(0, 1e6)},"pos":${rng.int(0, 1e9)}}`,
    )
    const { js, wasm } = both(line, rng.int(0, 15))
    if (js < 0 || js !== wasm) throw new Error(`js ${js}, wasm ${wasm} for ${printable(line.toString())}`)
  })
})

t.test('decodeBatch: the same heads whichever way the lines fall into the scanner memory', async (t) => {
  const rng = { i: 0 }
  const lines: Buffer[] = []
  // more than one load of lines, with lines across each boundary and one of exactly the most a
  // load takes (and one byte more: the JavaScript check)
  let size = 0
  while (size < 2.5 * StringScanner.max) {
    const n = rng.i++
    const body = n % 7 === 0 ? 'x'.repeat(n % 5000) : `GET /${n} "q\\" ${'\u2028'.repeat(n % 3)}`
    const line = Buffer.from(
      n % 13 === 5 ? `{"body":${JSON.stringify(body)},"src":"s${n}"` : `{"body":${JSON.stringify(body)},"src":"s${n}"}`,
    )
    lines.push(line)
    size += line.length + 1
  }
  for (const length of [StringScanner.max, StringScanner.max + 1]) {
    const head = `{"body":"`
    lines.push(Buffer.from(`${head}${'y'.repeat(length - head.length - 2)}"}`))
  }
  const options = { maxEvent: 4 * StringScanner.max, srcPrefix: Buffer.from('p/') }
  const all = decodeBatch(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])), options)
  const one = lines.flatMap((l) => decodeBatch(Buffer.concat([l, Buffer.from('\n')]), options))
  t.equal(all.length, one.length)
  let differ = 0
  for (let i = 0; i < all.length; i++) if (String(all[i]) !== String(one[i])) differ++
  t.equal(differ, 0, 'every head the same')
  t.equal(String(one.at(-2)).length, StringScanner.max - 1, 'the longest line a load takes is an event')
})
