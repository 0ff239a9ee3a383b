// Hostile bytes against every wire parser (issue #14): random and structure-aware inputs from a
// fixed seed. The frame decoder, the handshake reader, the batch decoder and the JSON check never
// throw anything but their own clear errors, never hang, and never let a broken line through.
import t from 'tap'
import { gzipSync } from 'node:zlib'
import { fuzz, mutations, type Rng } from '../../fixtures/fuzz.js'
import { ackFrame, encodeHeader, errorFrame, FrameDecoder, FrameError, FrameType, framePieces } from '../../../src/core/wire/frames.js'
import { FrameMac } from '../../../src/core/wire/frame-mac.js'
import { clientProof, helloLine, LineReader, parseHandshakeLine, validNonce } from '../../../src/core/wire/handshake.js'
import { decodeBatch, encodeBatch } from '../../../src/core/wire/batch.js'
import { NO_SRC, NOT_JSON, releaseScanBuffer, scanObject } from '../../../src/core/json-scan.js'

const validEvent = (rng: Rng): string =>
  `{"body":${JSON.stringify(rng.nastyString(rng.int(0, 40)))},"ts":${rng.int(0, 2e12)},"host":"h","headers":{"k":${JSON.stringify(rng.nastyString(5))}},"src":"a.${rng.int(0, 99)}","seq":${rng.int(0, 1e6)}`

const isJsonEvent = (line: string): boolean => {
  try {
    const v = JSON.parse(line) as unknown
    return Boolean(v) && typeof v === 'object' && !Array.isArray(v) && typeof (v as { body?: unknown }).body === 'string'
  } catch {
    return false
  }
}

const frameStream = (rng: Rng): Buffer => {
  const payload = encodeBatch(Array.from({ length: rng.int(0, 4) }, () => validEvent(rng)))
  const gz = rng.bool()
  const body = gz ? gzipSync(payload) : payload
  return Buffer.concat([
    encodeHeader(FrameType.batch, gz ? 1 : 0, rng.int(0, 0xffffffff), 3, body.length),
    body,
    ackFrame(rng.int(1, 9)),
    errorFrame(rng.nastyString(10)),
  ])
}

t.test('frame decoder: damaged frame streams give frames or a FrameError, in any chunking', async (t) => {
  await fuzz(t, 'frames', { cases: 1500 }, (rng) => {
    const valid = frameStream(rng)
    for (const input of [valid, rng.bytes(rng.int(0, 200)), ...mutations(rng, valid, 3)]) {
      const d = new FrameDecoder(1 << 16)
      try {
        for (let at = 0; at < input.length; ) {
          const step = rng.int(1, 64)
          d.push(input.subarray(at, at + step), (f) => void f.payload.length)
          at += step
        }
      } catch (e) {
        if (!(e instanceof FrameError)) throw e
      }
    }
  })
})

t.test('frame MAC: any damage to an authenticated stream is caught, never accepted', async (t) => {
  const token = Buffer.from('fuzz-token')
  await fuzz(t, 'mac', { cases: 600 }, (rng) => {
    const send = FrameMac.of(token, 'client', 'c'.repeat(24), 's'.repeat(24))
    const payloads = Array.from({ length: 3 }, () => encodeBatch([validEvent(rng)]))
    const valid = Buffer.concat(payloads.flatMap((p) => framePieces(encodeHeader(FrameType.batch, 0, 1, 1, p.length), p, send)))
    for (const input of mutations(rng, valid, 3)) {
      const d = new FrameDecoder(1 << 16)
      d.authenticate(FrameMac.of(token, 'client', 'c'.repeat(24), 's'.repeat(24)))
      const got: Buffer[] = []
      try {
        d.push(input, (f) => got.push(f.payload))
      } catch (e) {
        if (!(e instanceof FrameError)) throw e
      }
      // whatever passes is exactly what was sent, in order: damage is refused, never delivered
      got.forEach((p, i) => {
        if (!p.equals(payloads[i]!)) throw new Error(`frame ${i} was changed and still passed its MAC check`)
      })
    }
  })
})

t.test('handshake lines: any bytes parse to a line or undefined, and a long line is refused', async (t) => {
  await fuzz(t, 'handshake', { cases: 2000 }, (rng) => {
    const valid = Buffer.from(
      `${helloLine('n'.repeat(24), true)}TSF/1 AUTH proof=${clientProof(Buffer.from('x'), 'a'.repeat(24), 'b'.repeat(24))} agent=web1\n`,
    )
    for (const input of [rng.bytes(rng.int(0, 700)), ...mutations(rng, valid, 3)]) {
      const r = new LineReader()
      r.push(input)
      try {
        for (let line = r.next(); line !== undefined; line = r.next()) {
          const m = parseHandshakeLine(line)
          if (m) validNonce(m.fields.nonce)
        }
      } catch (e) {
        if (!/handshake line longer than/.test((e as Error).message)) throw e
      }
    }
  })
})

t.test('batch decoder: every head it returns closes into one JSON event', async (t) => {
  await fuzz(t, 'batch', { cases: 1500 }, (rng) => {
    const valid = encodeBatch(Array.from({ length: rng.int(1, 5) }, () => validEvent(rng)))
    for (const input of [rng.bytes(rng.int(0, 300)), ...mutations(rng, valid, 4)]) {
      const heads = decodeBatch(input, { maxEvent: 1 << 16, srcPrefix: rng.bool() ? Buffer.from('agent/') : undefined })
      for (const h of heads) {
        const line = `${typeof h === 'string' ? h : h.toString('utf8')}}`
        if (!isJsonEvent(line)) throw new Error(`not a JSON event: ${line.slice(0, 200)}`)
      }
    }
  })
})

t.test('the JSON check agrees with JSON.parse on objects', async (t) => {
  await fuzz(t, 'json-check', { cases: 3000 }, (rng) => {
    const valid = Buffer.from(`${validEvent(rng)},"n":[1,-2.5e3,true,null,{"a":[]}]}`)
    for (const input of [valid, ...mutations(rng, valid, 4), Buffer.from(rng.nastyString(rng.int(0, 30)))]) {
      const scan = scanObject(input)
      releaseScanBuffer()
      let parsed: unknown
      try {
        parsed = JSON.parse(input.toString('utf8'))
      } catch {
        parsed = undefined
      }
      const isObject = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      if ((scan !== NOT_JSON) !== isObject)
        throw new Error(`scan ${scan ? 'accepted' : 'refused'} ${JSON.stringify(input.toString('latin1'))}`)
      if (scan !== NOT_JSON && scan >= NO_SRC !== (typeof (parsed as { body?: unknown }).body === 'string'))
        throw new Error(`body misjudged in ${input.toString('latin1')}`)
    }
  })
})
