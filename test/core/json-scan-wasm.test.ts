// collect's JSON check of a batch in WebAssembly (json-scan-wasm.ts) against the JavaScript check
// it speeds up: the checker must cut the same lines and say of each what scanObject says, at every
// position of a 16-byte step, whatever lies past the line's end or the end of the load, and
// whatever an earlier load left in its memory.
import t from 'tap'
import { MAX_DEPTH, NOT_JSON, releaseScanBuffer, scanObject } from '../../src/core/json-scan.js'
import { LineChecker, lineChecker } from '../../src/core/json-scan-wasm.js'
import { headStrings } from '../../src/core/head-block.js'
import { decodeBatch, decodeBlock } from '../../src/core/wire/batch.js'
import { fuzz, mutate, printable, type Rng } from '../fixtures/fuzz.js'

const wasm = lineChecker()

t.test('made here (Node has WebAssembly SIMD)', async (t) => {
  t.ok(wasm, 'lineChecker() is defined')
})

interface Line {
  end: number
  verdict: number
}

// data's lines as decodeBatch cuts them (a last one without a newline only when `last`), each
// with scanObject's verdict (NOT_JSON for a line not shaped {…}); offsets into data
const reference = (data: Buffer, last: boolean): Line[] => {
  const out: Line[] = []
  for (let start = 0; start < data.length; ) {
    let end = data.indexOf(10, start)
    if (end === -1) {
      if (!last) break
      end = data.length
    }
    const verdict = end > start && data[start] === 0x7b && data[end - 1] === 0x7d ? scanObject(data.subarray(start, end)) : NOT_JSON
    releaseScanBuffer()
    out.push({ end, verdict: verdict >= 0 ? verdict + start : verdict })
    start = end + 1
  }
  return out
}

// the same by the checker, after a load of `before` (what an earlier batch leaves in its memory)
const checked = (data: Buffer, last: boolean, before?: Buffer): Line[] => {
  if (before) wasm!.load(before, 0, before.length)
  wasm!.load(data, 0, data.length)
  const out: Line[] = []
  let from = 0
  for (;;) {
    const count = wasm!.check(from, data.length, last)
    for (let k = 0; k < count; k++) {
      out.push({ end: wasm!.lineEnd(k), verdict: wasm!.verdict(k) })
      from = wasm!.lineEnd(k) + 1
    }
    if (count < LineChecker.lines) return out
  }
}

// line after `pad` bytes of another line and its newline, followed by a newline and `tail` (the
// next line's bytes, or, when not `last`, an unfinished line the checker must leave alone); the
// memory past the load holds what a long earlier load left there
const both = (line: Buffer, pad = 0, tail: Buffer = Buffer.alloc(0), last = true): { js: string; wasm: string } => {
  const data = Buffer.concat([
    pad ? Buffer.concat([Buffer.alloc(pad - 1, 0x22), Buffer.from('\n')]) : Buffer.alloc(0),
    line,
    Buffer.from('\n'),
    tail,
  ])
  const before = Buffer.concat([data, Buffer.from('"}\\u0041 ,"src":"x"}\n'), Buffer.alloc(40, 0x61)])
  return { js: JSON.stringify(reference(data, last)), wasm: JSON.stringify(checked(data, last, before)) }
}

const same = (line: Buffer, pad = 0, tail?: Buffer, last = true): void => {
  const { js, wasm } = both(line, pad, tail, last)
  if (js !== wasm) throw new Error(`js ${js} != wasm ${wasm} for ${printable(line.toString('latin1'))} (pad ${pad})`)
}

// the verdict on line (placed first)
const verdict = (line: Buffer): number => reference(Buffer.concat([line, Buffer.from('\n')]), true)[0]!.verdict

t.test('each byte value in a string, at every offset of a 16-byte step', async (t) => {
  let refused = 0
  for (let b = 0; b < 256; b++) {
    for (let at = 0; at < 40; at++) {
      const body = Buffer.alloc(44, 0x61)
      body[at] = b
      const line = Buffer.concat([Buffer.from('{"body":"'), body, Buffer.from('","src":"s"}')])
      for (const pad of [0, 3]) same(line, pad)
      if (verdict(line) === NOT_JSON) refused++
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
  // a string cut inside an escape, with what follows the line's end looking like its rest; and
  // the same as the last line of a load, not ended by a newline, the rest left in memory
  const full = '{"body":"abcdefghijklmnop\\u00e9\\"\\\\"}'
  for (let end = 1; end <= full.length; end++) {
    const line = Buffer.from(full.slice(0, end))
    same(line, 0, Buffer.from(full.slice(end)))
    same(Buffer.concat([line, Buffer.from('"}')]), 1, Buffer.from('u0041"}'))
    const cut = Buffer.from(full.slice(0, end - 1) + '}')
    const js = JSON.stringify(reference(cut, true))
    const got = JSON.stringify(checked(cut, true, Buffer.from(`${full.slice(0, end - 1)}${full.slice(end - 1)}${'"}'.repeat(20)}`)))
    if (js !== got) throw new Error(`js ${js} != wasm ${got} for ${cut}`)
  }
  t.pass('the same verdicts')
})

t.test('nesting up to MAX_DEPTH and one more, in arrays and objects', async (t) => {
  let refused = 0
  for (let d = MAX_DEPTH - 3; d <= MAX_DEPTH + 1; d++) {
    const arrays = `${'['.repeat(d - 1)}1${']'.repeat(d - 1)}`
    const objects = `${'{"a":'.repeat(d - 1)}[]${'}'.repeat(d - 1)}`
    for (const value of [arrays, objects]) {
      for (const line of [`{"body":"b","x":${value}}`, `{"x":${value},"body":"b","src":"s"}`]) {
        same(Buffer.from(line))
        if (verdict(Buffer.from(line)) === NOT_JSON) refused++
      }
    }
  }
  t.ok(refused > 0, `too deep is refused (${refused})`)
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
    same(line, rng.int(0, 17), rng.bytes(rng.int(0, 20)), rng.bool())
  })
})

t.test('W1-shaped events are taken, their src found', async (t) => {
  await fuzz(t, 'W1 events', { cases: 3000 }, (rng) => {
    const body = rng.pick([() => rng.nastyString(rng.int(0, 300)), () => 'GET /a "q" \\ 200 ✓ 😀'.repeat(rng.int(0, 20))])()
    const line = Buffer.from(
      `{"body":${JSON.stringify(body)},"ts":1796262910114,"host":"vm","headers":{"file":"/var/log/a.log"},"src":"t.${rng.int(0, 99)}","seq":${rng.int(0, 1e6)},"pos":${rng.int(0, 1e9)}}`,
    )
    const { js, wasm } = both(line, rng.int(0, 15))
    if (verdict(line) < 0 || js !== wasm) throw new Error(`js ${js}, wasm ${wasm} for ${printable(line.toString())}`)
  })
})

t.test('decodeBatch: the same heads whichever way the lines fall into the scanner memory', async (t) => {
  const rng = { i: 0 }
  const lines: Buffer[] = []
  // more than one load of lines, with lines across each boundary, more lines in one load than one
  // check takes, and one of exactly the most a load takes with its newline (and one byte more: the
  // JavaScript check)
  let size = 0
  for (let n = 0; n < 2.5 * LineChecker.lines; n++) lines.push(Buffer.from(n % 5 === 0 ? '' : n % 3 ? `{"body":"${n}"}` : `x${n}`))
  while (size < 2.5 * LineChecker.max) {
    const n = rng.i++
    const body = n % 7 === 0 ? 'x'.repeat(n % 5000) : `GET /${n} "q\\" ${'\u2028'.repeat(n % 3)}`
    const line = Buffer.from(
      n % 13 === 5 ? `{"body":${JSON.stringify(body)},"src":"s${n}"` : `{"body":${JSON.stringify(body)},"src":"s${n}"}`,
    )
    lines.push(line)
    size += line.length + 1
  }
  for (const length of [LineChecker.max - 1, LineChecker.max]) {
    const head = `{"body":"`
    lines.push(Buffer.from(`${head}${'y'.repeat(length - head.length - 2)}"}`))
  }
  const options = { maxEvent: 4 * LineChecker.max, srcPrefix: Buffer.from('p/') }
  const all = decodeBatch(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])), options)
  const one = lines.flatMap((l) => decodeBatch(Buffer.concat([l, Buffer.from('\n')]), options))
  t.equal(all.length, one.length)
  let differ = 0
  for (let i = 0; i < all.length; i++) if (String(all[i]) !== String(one[i])) differ++
  t.equal(differ, 0, 'every head the same')
  const block = headStrings(decodeBlock(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])), options))
  t.same(block, all.map(String), 'the HeadBlock renders the same heads')
  t.equal(String(one.at(-2)).length, LineChecker.max - 2, 'the longest line a load takes is an event')
  t.equal(String(one.at(-1)).length, LineChecker.max - 1, 'and one byte more, by the JavaScript check')
  // a last line without a newline, long and short
  for (const tail of ['{"body":"end","src":"e"}', `{"body":"${'z'.repeat(LineChecker.max)}"}`, 'plain end']) {
    const payload = Buffer.concat([Buffer.from('{"body":"a"}\n'), Buffer.from(tail)])
    t.same(
      decodeBatch(payload, options).map(String),
      [payload.subarray(0, 12), Buffer.from(tail)].flatMap((l) => decodeBatch(l, options)).map(String),
      'the last line without its newline',
    )
  }
})
