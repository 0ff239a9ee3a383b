import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the spool command is being built (see its issue).
export const makeSpoolCommand = (): Command =>
  new Command('spool').description('(spool: not built yet)').action(() => {
    throw new TsfError('spool is not built yet')
  })
