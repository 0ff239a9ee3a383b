import { Command } from 'commander'
import { TsfError } from '../core/errors.js'

// Placeholder: the ship command is being built (see its issue).
export const makeShipCommand = (): Command =>
  new Command('ship').description('(ship: not built yet)').action(() => {
    throw new TsfError('ship is not built yet')
  })
