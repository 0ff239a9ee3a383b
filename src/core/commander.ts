import { createRequire } from 'node:module'
import type * as Commander from 'commander'

// commander is CommonJS: required directly, not through its ESM wrapper, which makes node's ES
// module loader translate it (read, lex its exports, then require it anyway). Every command's
// start-up pays commander, --help included: measured in BENCHMARKS.md (branch boot).
const commander = createRequire(import.meta.url)('commander') as typeof Commander

export const { Command, CommanderError, Option } = commander
export type Command = Commander.Command
export type CommanderError = Commander.CommanderError
export type Option = Commander.Option
