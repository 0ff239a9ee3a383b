import t from 'tap'
import {
  clientProof,
  helloLine,
  LineReader,
  newNonce,
  parseHandshakeLine,
  proofMatches,
  serverProof,
  tokenFromText,
  validNonce,
} from '../../../src/core/wire/handshake.js'

t.test('proofs depend on the token, both nonces and the role', async (t) => {
  const token = Buffer.from('s3cret')
  const cn = newNonce()
  const sn = newNonce()
  const p = clientProof(token, cn, sn)
  t.ok(proofMatches(p, clientProof(Buffer.from('s3cret'), cn, sn)))
  t.notOk(proofMatches(p, clientProof(Buffer.from('s3creT'), cn, sn)), 'another token')
  t.notOk(proofMatches(p, clientProof(token, cn, newNonce())), 'another server nonce: a recorded proof is worthless')
  t.notOk(proofMatches(p, serverProof(token, cn, sn)), 'the server proof is not the client proof')
  t.notOk(p.includes('s3cret'), 'the token is not in the proof')
  t.notOk(proofMatches(p, ''), 'empty')
})

t.test('handshake lines parse; anything else does not', async (t) => {
  const cn = newNonce()
  const hello = parseHandshakeLine(helloLine(cn, true).trimEnd())
  t.same(hello, {
    version: 1,
    verb: 'HELLO',
    fields: { nonce: cn, compress: 'gzip', mac: 'hmac-sha256' },
    rest: `nonce=${cn} compress=gzip mac=hmac-sha256`,
  })
  t.equal(parseHandshakeLine('TSF/1 REFUSED wrong token')?.rest, 'wrong token')
  t.equal(parseHandshakeLine('hello world'), undefined)
  t.equal(parseHandshakeLine('TSF/x HELLO'), undefined)
  t.ok(validNonce(cn))
  t.notOk(validNonce('short'))
  t.notOk(validNonce(`${cn} x=y`))
})

t.test('the line reader bounds a handshake line and keeps what follows', async (t) => {
  const r = new LineReader()
  r.push(Buffer.from('TSF/1 OK proof=-\n\x41rest'))
  t.equal(r.next(), 'TSF/1 OK proof=-')
  t.equal(r.next(), undefined)
  t.equal(r.rest().toString(), 'Arest')
  const long = new LineReader()
  long.push(Buffer.alloc(600, 0x61))
  t.throws(() => long.next(), /longer than 512 bytes/)
})

t.test('a token file is its content without the trailing newline', async (t) => {
  t.equal(tokenFromText(Buffer.from('abc\n')).toString(), 'abc')
  t.equal(tokenFromText(Buffer.from('abc \r\n\n')).toString(), 'abc')
  t.equal(tokenFromText(Buffer.from('\n')).length, 0)
})
