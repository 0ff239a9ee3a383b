import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the collect command is being built (see its issue).
export const makeCollectCommand = (): Command =>
  new Command('collect').description('(collect: not built yet)').action(() => {
    throw new TsfError('collect is not built yet')
  })
