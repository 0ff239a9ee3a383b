// roll's body unescaping in WebAssembly (core/json-unescape-wasm.ts) against the JavaScript path
// it replaces: for any head in a batch of lines (hostile bodies: quotes, backslashes, \u escapes
// with surrogate pairs and lone surrogates, malformed escapes, NUL, invalid UTF-8, unterminated,
// very long) EventFields reads the same fields and writes the same body bytes, whether the body
// lands in a staging chunk in the unescaper's memory, in an ordinary buffer, or in its scratch.
import t from 'tap'
import { unescaper, WasmUnescaper } from '../../../src/core/json-unescape-wasm.js'
import { EventFields } from '../../../src/sinks/roll/event-fields.js'
import { fuzz, mutate, type Rng } from '../../fixtures/fuzz.js'

const wasm = unescaper()

t.test('made here (Node has WebAssembly SIMD)', async (t) => {
  t.ok(wasm, 'unescaper() is defined')
})

// a body's JSON text: escaped as JSON.stringify does, or raw hostile bytes and escapes
const bodyText = (rng: Rng): Buffer => {
  const parts: Buffer[] = []
  for (let i = rng.int(1, 8); i > 0; i--) {
    parts.push(
      rng.pick([
        Buffer.from(JSON.stringify(rng.nastyString(rng.int(0, 40))).slice(1, -1)),
        Buffer.alloc(rng.int(0, 70), 0x78),
        Buffer.from('GET /a \\"q\\" \\\\ 200\\t\\n\\r\\b\\f\\/ é ✓'),
        Buffer.from(rng.pick(['\\u00e9', '\\ud83d\\ude00', '\\ud800', '\\udc00x', '\\u12', '\\x', '\\', '\\u0000', '\\"'])),
        Buffer.from([0x00, 0xff, 0xc3, 0xf0, 0x9f, 0x98, 0x7f, 0x01]), // NUL, invalid UTF-8, controls as raw bytes
        Buffer.from(rng.bytes(rng.int(0, 20)).map((b) => (b === 0x0a ? 0x20 : b))), // anything but a newline (it ends the line)
      ]),
    )
  }
  return Buffer.concat(parts)
}

// the members after the body: tsf's compact form mostly, with every kind of value and key
// WebAssembly leaves to JavaScript (body, body64, cont, headers, floats, long or zero-led
// integers, strings where numbers go, escaped keys, spaces, duplicates, damage)
const member = (rng: Rng): string =>
  rng.pick([
    ',"ts":1764547200000',
    `,"ts":${rng.pick(['0', '7', '012', '1.5', '-3', '1e3', '123456789012345', '1234567890123456', '"12"', 'null'])}`,
    `,"seq":${rng.pick(['1', '42', '999999999999999', '9007199254740993', '00', '2.0', '"x"', 'true'])}`,
    `,"src":${rng.pick(['"abc123"', '"a\\"b"', '"é\\u00e9"', '7', '""', '"x'])}`,
    `,"host":${rng.pick(['"web-1"', '"h\\"q"', '1', '{}'])}`,
    ',"pos":199',
    `,"cont":${rng.pick(['true', 'false', '"t"'])}`,
    ',"headers":{"app":"a","n":1}',
    `,"headers":${rng.pick(['{"app":"x\\"}{","o":{"a":[1,{"b":"]"}]}}', '{}', '{"app":1}', '{"a":', '{"app":"v"', '[1]', '7'])}`,
    ',"headers":{"file":"/var/log/a.log"}',
    // long strings with escapes anywhere in a 16-byte step, where members are read 16 bytes at a time
    `,"src":${JSON.stringify(rng.nastyString(rng.int(0, 60)))}`,
    `,"host":"${'h'.repeat(rng.int(0, 40))}${rng.pick(['\\"', '\\\\', '\\u00e9', ''])}${'o'.repeat(rng.int(0, 20))}"`,
    `,"headers":{"file":${JSON.stringify(rng.nastyString(rng.int(0, 50)))},"x":"${'y'.repeat(rng.int(0, 33))}\\\\"}`,
    `,"${'k'.repeat(rng.int(1, 20))}":${JSON.stringify(rng.nastyString(rng.int(0, 50)))}`,
    `,"src":"${'s'.repeat(rng.int(10, 40))}`,
    ',"headers":"h"',
    ',"body":"second"',
    ',"body64":"/wA="',
    `,"${rng.pick(['x', 'ab', 'abcdefgh', 'tsx', 'sr', 'hosts', 'bodyx', 'a\\"b', ''])}":${rng.pick(['"v"', '12', '[1]', '{"a":"}"}', '-1', 'null', '"un'])}`,
    ' , "ts" : 5',
    ',"seq":3 ',
    ',',
    ',"',
  ])

const rest = (rng: Rng): string => {
  let text = ''
  for (let i = rng.int(0, 7); i > 0; i--)
    text += rng.bool(0.6)
      ? rng.pick([
          ',"ts":1764547200000',
          ',"host":"web-1"',
          ',"headers":{"app":"a"}',
          ',"src":"s-1"',
          `,"seq":${rng.int(0, 1e6)}`,
          ',"pos":12',
        ])
      : member(rng)
  return text
}

// the fields and body one reader gives for lines[start, end), its body placed at out[at] when given
const readOne = (
  fields: EventFields,
  lines: Buffer,
  start: number,
  end: number,
  out: Buffer | undefined,
  at: number,
): { ok: boolean; text: string } => {
  if (out) fields.placeBodyAt(out, at)
  const ok = fields.read(lines, start, end)
  if (!ok) return { ok, text: '' }
  const placed = fields.placed()
  let body: string
  if (placed >= 0) body = `placed:${out!.subarray(at, at + placed).toString('hex')}`
  else {
    const into = Buffer.alloc(fields.bodyBound() + 8)
    const n = fields.writeBody(into, 2)
    body = n === -1 ? 'malformed' : into.subarray(2, 2 + n).toString('hex')
  }
  const seen = [
    body,
    fields.bodyStart,
    fields.bodyEnd,
    fields.ts,
    fields.seq,
    fields.src(),
    fields.host(),
    fields.cont,
    fields.header('app'),
  ]
  return { ok, text: JSON.stringify(seen) }
}

t.test('the same fields and body bytes as the JavaScript path, for hostile bodies', async (t) => {
  if (!wasm) return
  const js = new EventFields(true, undefined)
  const w = new EventFields(true, wasm)
  const arena = wasm.chunk(1024 * 1024)!
  // a chunk of its memory the batch is framed into (roll's reader does: engine.ts), read in place
  const inMemory = wasm.chunk(1024 * 1024)!
  try {
    await fuzz(t, 'wasm body unescape matches JS', { cases: 6000 }, (rng) => {
      // a batch of a few heads, each with its newline, the tested one somewhere inside
      const heads: Buffer[] = []
      for (let i = rng.int(1, 4); i > 0; i--) {
        let head = Buffer.concat([Buffer.from('{"body":"'), bodyText(rng), Buffer.from(rng.bool(0.95) ? '"' : ''), Buffer.from(rest(rng))])
        if (rng.bool(0.05)) head = Buffer.from(mutate(rng, head).map((b) => (b === 0x0a ? 0x20 : b)))
        heads.push(head)
      }
      const lines = Buffer.concat(heads.flatMap((h) => [h, Buffer.from('\n')]))
      // the batch inside a larger buffer, at any alignment
      const pad = rng.int(0, 17)
      const whole = rng.bool(0.5) ? Buffer.concat([Buffer.alloc(pad, 0x41), lines]) : inMemory.fill(0x41, 0, pad)
      if (whole === inMemory) lines.copy(inMemory, pad)
      const batch = whole.subarray(pad, pad + lines.length)
      w.source(batch)
      const target = rng.pick(['arena', 'buffer', 'scratch'] as const)
      let start = 0
      for (const h of heads) {
        const end = start + h.length
        const at = rng.int(0, 40)
        const jsOut = target === 'scratch' ? undefined : Buffer.alloc(h.length + at + 32, 0xee)
        const wOut =
          target === 'scratch'
            ? undefined
            : target === 'arena'
              ? arena.fill(0xee, 0, h.length + at + 32)
              : Buffer.alloc(h.length + at + 32, 0xee)
        const want = readOne(js, batch, start, end, jsOut, at)
        const got = readOne(w, batch, start, end, wOut, at)
        if (got.ok !== want.ok || got.text !== want.text)
          throw new Error(`head ${JSON.stringify(h.toString('latin1'))} (${target}): ${got.ok} ${got.text} != ${want.ok} ${want.text}`)
        start = end + 1
      }
      w.source(undefined)
    })
  } finally {
    wasm.give(arena)
    wasm.give(inMemory)
  }
})

t.test('each byte value at every offset of a 16-byte step, and very long bodies', async (t) => {
  if (!wasm) return
  const js = new EventFields(true, undefined)
  const w = new EventFields(true, wasm)
  let failed = 0
  for (let b = 0; b < 256; b++) {
    if (b === 0x0a) continue
    for (let at = 0; at < 40; at++) {
      const body = Buffer.alloc(48, 0x61)
      body[at] = b
      if (b === 0x5c) body[at + 1] = 0x6e // a backslash escapes the next byte
      const head = Buffer.concat([Buffer.from('{"body":"'), body, Buffer.from('","src":"s","seq":1')])
      w.source(head)
      const want = readOne(js, head, 0, head.length, undefined, 0)
      const got = readOne(w, head, 0, head.length, undefined, 0)
      if (got.text !== want.text || got.ok !== want.ok) failed++
    }
  }
  t.equal(failed, 0, 'all 255 values at 40 offsets')
  // a 1 MiB body of quotes to unescape, and a batch over the unescaper's size (the JavaScript path)
  for (const size of [1024 * 1024, WasmUnescaper.srcMax + 10]) {
    const body = Buffer.from('\\"ab\\\\cd'.repeat(Math.ceil(size / 8)).slice(0, size - (size % 8)))
    const head = Buffer.concat([Buffer.from('{"body":"'), body, Buffer.from('","src":"s","seq":1')])
    w.source(head)
    const out = Buffer.alloc(head.length + 16)
    const want = readOne(js, head, 0, head.length, Buffer.alloc(head.length + 16), 0)
    const got = readOne(w, head, 0, head.length, out, 0)
    t.equal(got.text, want.text, `a body of ${body.length} bytes`)
  }
})

t.test('chunks in its memory are handed out, given back and reused; the size must be the slot size', async (t) => {
  if (!wasm) return
  t.equal(wasm.chunk(4096), undefined)
  const a = wasm.chunk(1024 * 1024)!
  t.equal(a.buffer, wasm.memory)
  wasm.give(a)
  t.equal(wasm.chunk(1024 * 1024), a, 'the chunk given back comes out again')
  wasm.give(a)
})

// stage.ts takes the event before's src string when sameSrc says the bytes are the same: a wrong
// true would put an event under another stream (dedupe by the wrong (src, seq)); a src read by
// WebAssembly in plain compact form must be found the same when it is (or the shortcut is gone)
t.test('sameSrc: true only when the src bytes equal the kept ones, and always then in compact form', async (t) => {
  if (!wasm) return
  const w = new EventFields(true, wasm)
  const inMemory = wasm.chunk(1024 * 1024)!
  t.teardown(() => wasm.give(inMemory))
  const pool = ['s-1', 's-2', 's-1x', 'x-1', 'a\\"b', 'a\\"c', 'é\\u00e9', '', 's'.repeat(40), `${'s'.repeat(39)}t`]
  let same = 0
  await fuzz(t, 'sameSrc is exact', { cases: 3000 }, (rng) => {
    const plain = rng.bool(0.5)
    const heads: Buffer[] = []
    for (let i = rng.int(1, 12); i > 0; i--) {
      const src = `,"src":"${rng.pick(pool)}"`
      const more = plain ? rng.pick(['', ',"host":"h"', ',"headers":{"file":"/a"}']) : member(rng)
      const order = rng.bool(0.5) ? `,"ts":1${more}${src},"seq":${i}` : `${src}${more},"seq":${i},"pos":3`
      heads.push(Buffer.from(`{"body":"b\\"${i}"${order}`))
    }
    const read = Buffer.concat(heads.flatMap((h) => [h, Buffer.from('\n')]))
    // copied into its memory, or framed there already and read in place
    const off = rng.int(0, 17)
    const lines = rng.bool(0.5) ? read : inMemory.subarray(off, off + read.copy(inMemory, off))
    w.source(lines)
    let kept: Buffer | undefined
    let start = 0
    for (const h of heads) {
      const end = start + h.length
      const ok = w.read(lines, start, end)
      start = end + 1
      if (!ok || w.srcStart === -1) continue
      const bytes = Buffer.from(w.srcBytes())
      const equal = kept !== undefined && bytes.equals(kept)
      if (w.sameSrc && !equal) throw new Error(`sameSrc for ${bytes} after ${kept} in ${h}`)
      if (plain && equal && !w.sameSrc) throw new Error(`not sameSrc for the same ${bytes} in ${h}`)
      if (w.sameSrc) same++
      else {
        kept = bytes
        w.keepSrc()
      }
    }
    w.source(undefined)
  })
  t.ok(same > 1000, `found the same src in WebAssembly (${same} times)`)
})
