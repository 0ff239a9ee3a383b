import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the roll command is being built (see its issue).
export const makeRollCommand = (): Command =>
  new Command('roll').description('(roll: not built yet)').action(() => {
    throw new TsfError('roll is not built yet')
  })
