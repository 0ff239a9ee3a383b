import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the exec command is being built (see its issue).
export const makeExecCommand = (): Command =>
  new Command('exec').description('(exec: not built yet)').action(() => {
    throw new TsfError('exec is not built yet')
  })
