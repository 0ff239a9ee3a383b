import t from 'tap'
import { TsfError } from '../../src/core/errors.js'
import { classifyLine } from '../../src/core/link/cursor.js'
import { Chain } from '../../src/transforms/chain.js'
import {
  dropBody,
  dropIf,
  extract,
  keepBody,
  keepIf,
  removeHeader,
  renameHeader,
  setHeader,
  staticHeader,
  tsFromBody,
  tsFromField,
  type Step,
} from '../../src/transforms/steps.js'
import { compileTemplate } from '../../src/sinks/roll/escapes.js'
import { fuzz, type Rng } from '../fixtures/fuzz.js'

// tsf filter's expressions (and roll's path templates) as an operator could mistype them or an
// attacker could choose them: each is either accepted, or refused with a one-line usage error.
// An accepted step never throws on any event, and an event that was JSON stays JSON.

const pieces = [
  'body',
  'host',
  'src',
  'seq',
  'ts',
  'headers.',
  'headers.a',
  'headers.__proto__',
  'headers.constructor',
  '__proto__',
  'prototype',
  '=',
  '~',
  '/',
  '(?<',
  '>',
  ')',
  '(?<__proto__>',
  '(?<constructor>',
  '(?<w>\\w+)',
  '[',
  ']',
  '*',
  '+',
  '?',
  '{',
  '}',
  '\\',
  '\n',
  '"',
  '%',
  '%{',
  '%[',
  'é',
  '😀',
  '\ud800',
  '$',
  '^',
  '.*',
  '(a+)+$',
  'x',
]
const expression = (rng: Rng): string => {
  let s = ''
  for (let i = rng.int(0, 8); i > 0; i--) s += rng.bool(0.8) ? rng.pick(pieces) : rng.nastyString(rng.int(1, 3))
  return s
}
const makers: ((text: string) => Step)[] = [
  keepBody,
  dropBody,
  keepIf,
  dropIf,
  extract,
  staticHeader,
  setHeader,
  removeHeader,
  renameHeader,
  tsFromField,
  (p) => tsFromBody(p, undefined),
]
const lines = [
  '{"body":"a=b x 2026-12-02T10:00:00Z","ts":1,"host":"h","headers":{"a":"b","__proto__":"p","n":5,"o":{"k":[1]}},"src":"s","seq":3}',
  '{"body":"","headers":"str"}',
  '{"body":"x","headers":[1,2]}',
  '{"body":"x","host":7,"src":null}',
  'plain text é \u0000',
  '{"body":"\\ud800 lone"}',
]

const oneLineUsage = (e: unknown, what: string): void => {
  if (!(e instanceof TsfError)) throw e
  if (e.message.includes('\n')) throw new Error(`${what}: the refusal is not one line: ${JSON.stringify(e.message)}`)
}

t.test('filter expressions: accepted or refused in one line; an accepted step never throws', async (t) => {
  await fuzz(t, 'filter expressions', { cases: 3000 }, (rng) => {
    const text = expression(rng)
    let step: Step
    try {
      step = rng.pick(makers)(text)
    } catch (e) {
      oneLineUsage(e, JSON.stringify(text))
      return
    }
    const chain = new Chain([step])
    for (const line of lines) {
      const out = chain.apply(classifyLine(Buffer.from(line)).head)
      if (out === undefined) continue
      const e = JSON.parse(`${String(out)}}`) as Record<string, unknown>
      if (typeof e.body !== 'string') throw new Error(`${step.name}: no string body in ${String(out)}`)
      const had = (JSON.parse(line.startsWith('{') ? line : '{}') as { headers?: unknown }).headers
      const object = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v)
      if ((had === undefined || object(had)) && e.headers !== undefined && !object(e.headers)) {
        throw new Error(`${step.name}: headers of a strange shape ${String(out)}`)
      }
    }
    if (({} as Record<string, unknown>).p !== undefined || ({} as Record<string, unknown>).w !== undefined)
      throw new Error(`${step.name}: polluted Object.prototype`)
  })
})

t.test('roll path templates: accepted or refused in one line; an accepted one expands to a string', async (t) => {
  await fuzz(t, 'roll templates', { cases: 3000 }, (rng) => {
    const text = expression(rng)
    let template
    try {
      template = compileTemplate(text, '--prefix')
    } catch (e) {
      oneLineUsage(e, JSON.stringify(text))
      return
    }
    const headers = rng.pick<Record<string, unknown> | undefined>([
      undefined,
      { a: 'b' },
      { a: { deep: [1] } },
      { a: rng.nastyString(rng.int(0, 300)) },
      Object.create(null) as Record<string, unknown>,
    ])
    const out = template.expand({ ts: rng.pick([0, -1, 1e15, Number.NaN, 1700000000123]), headers, host: rng.nastyString(3) })
    if (typeof out !== 'string') throw new Error(`${text}: expanded to ${String(out)}`)
  })
})

t.test('an empty --ts-regex or --ts-format is a usage error, not an internal error on the first event', async (t) => {
  const { spawnSync } = await import('node:child_process')
  for (const option of ['--ts-regex', '--ts-format']) {
    const run = spawnSync('node', ['bin/tsf.js', 'filter', option, ''], { input: 'hi\n', encoding: 'utf8', timeout: 20_000 })
    t.equal(run.status, 2, `${option} '': exit status`)
    t.equal(run.stderr, `tsf filter: error: ${option}: expected a non-empty value\n`, `${option} '': one line`)
  }
})

t.test('a usage error quoting a line break stays one line', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const run = spawnSync('node', ['bin/tsf.js', 'filter', '--set', 'no\nequals'], { input: '', encoding: 'utf8', timeout: 20_000 })
  t.equal(run.status, 2)
  t.equal(run.stderr, "tsf filter: error: --set: expected KEY=VALUE, got 'no\\nequals'\n", 'the line break shown escaped')
})
