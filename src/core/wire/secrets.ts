import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { TsfError, UsageError, describeSystemError } from '../errors.js'

// an agent name: what collect prefixes its events' src with
export const agentNamePattern = /^[A-Za-z0-9._-]{1,64}$/

// Reads a token file: the secret is its content without the trailing newline.
export const tokenFromText = (text: Buffer): Buffer => {
  let end = text.length
  while (end > 0 && (text[end - 1] === 10 || text[end - 1] === 13 || text[end - 1] === 32)) end--
  return text.subarray(0, end)
}

// Files named by --token-file and --tls-*: one clear line naming the option when they cannot be read.
export const readSecretFile = (path: string, option: string): Buffer => {
  try {
    return readFileSync(path)
  } catch (e) {
    throw new TsfError(`${option}: ${describeSystemError(e)}`)
  }
}

export const readToken = (path: string): Buffer => {
  const token = tokenFromText(readSecretFile(path, '--token-file'))
  if (token.length === 0) throw new UsageError(`--token-file: ${path} is empty`)
  return token
}

// --agent-tokens: one secret per agent, from a file of "name:secret" lines (# comments and blank
// lines skipped) or from a directory holding one file per agent, named for it.
export const readAgentTokens = (path: string): Map<string, Buffer> => {
  const option = '--agent-tokens'
  let entries: [string, Buffer, string][]
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch (e) {
    throw new TsfError(`${option}: ${describeSystemError(e)}`)
  }
  if (isDir) {
    entries = readdirSync(path)
      .filter((name) => !name.startsWith('.'))
      .map((name) => [name, tokenFromText(readSecretFile(join(path, name), option)), `${join(path, name)}`])
  } else {
    entries = []
    readSecretFile(path, option)
      .toString('utf8')
      .split('\n')
      .forEach((raw, i) => {
        const line = raw.replace(/\r$/, '')
        if (!line.trim() || line.trimStart().startsWith('#')) return
        const at = line.indexOf(':')
        if (at < 0) throw new UsageError(`${option}: ${path} line ${i + 1}: expected NAME:SECRET`)
        entries.push([line.slice(0, at), tokenFromText(Buffer.from(line.slice(at + 1))), `${path} line ${i + 1}`])
      })
  }
  const agents = new Map<string, Buffer>()
  for (const [name, secret, where] of entries) {
    if (!agentNamePattern.test(name))
      throw new UsageError(`${option}: ${where}: agent name '${name.slice(0, 80)}' must be 1-64 of A-Z a-z 0-9 . _ -`)
    if (secret.length === 0) throw new UsageError(`${option}: ${where}: the secret of agent '${name}' is empty`)
    if (agents.has(name)) throw new UsageError(`${option}: ${where}: agent '${name}' is listed twice`)
    agents.set(name, secret)
  }
  if (agents.size === 0) throw new UsageError(`${option}: ${path} names no agent`)
  return agents
}
