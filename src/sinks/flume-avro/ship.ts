import type { Runtime } from '../../core/runtime.js'
import { runShip, type ShipConfig } from '../tcp/ship.js'
import { FlumeConnection, type FlumeConnectionOptions } from './connection.js'
import { FlumeBatchEncoder } from './encode.js'

export interface FlumeShipConfig extends Omit<ShipConfig, 'protocol' | 'gzip' | 'token' | 'report'> {
  flume: Pick<FlumeConnectionOptions, 'deflate' | 'level'>
}

// tsf ship flume+avro://...: the TCP destinations' sink (failover, balance, back-off, acks
// upstream only once every batch holding an input batch is acked) speaking Flume's avro RPC.
export const runFlumeShip = (config: FlumeShipConfig, rt: Runtime): Promise<number> => {
  const encoder = new FlumeBatchEncoder()
  const options: FlumeConnectionOptions = {
    ...config.flume,
    tls: config.tls,
    connectTimeout: config.connectTimeout,
    ackTimeout: config.ackTimeout,
  }
  return runShip(
    {
      ...config,
      gzip: false,
      report: { interval: 0, upstream: [] }, // Flume's avro source has no report frame
      protocol: {
        connect: (dest) => new FlumeConnection(dest, options),
        encode: (heads) => encoder.encode(heads),
      },
    },
    rt,
  )
}
