import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the channel command is being built (see its issue).
export const makeChannelCommand = (): Command =>
  new Command('channel').description('(channel: not built yet)').action(() => {
    throw new TsfError('channel is not built yet')
  })
