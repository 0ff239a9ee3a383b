import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the tail command is being built (see its issue).
export const makeTailCommand = (): Command =>
  new Command('tail').description('(tail: not built yet)').action(() => {
    throw new TsfError('tail is not built yet')
  })
