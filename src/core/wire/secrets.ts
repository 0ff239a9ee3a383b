import { readFileSync } from 'node:fs'
import { TsfError, UsageError, describeSystemError } from '../errors.js'
import { tokenFromText } from './handshake.js'

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
