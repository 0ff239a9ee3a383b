import { ExitCode } from '../../core/exit-codes.js'
import { info, warn } from '../../core/log.js'
import { runCommand } from '../../core/runtime.js'
import { aborted } from '../../core/shutdown.js'
import type { RunnerOptions } from '../../commands/common.js'
import { PrintSink } from '../../sinks/print.js'
import type { EventSink } from './event-sink.js'
import { TcpListeners, type ListenerOptions } from './server.js'
import { SyslogListeners, type SyslogAddress } from './syslog-listeners.js'
import { FlumeAvroListeners, type FlumeAvroOptions } from '../flume-avro/listeners.js'

export interface CollectConfig extends RunnerOptions, ListenerOptions {
  print: boolean
  syslog: SyslogAddress[]
  flumeAvro: Pick<FlumeAvroOptions, 'addresses' | 'deflate' | 'tls'>
}

// tsf collect: TCP senders → stdout. A sender's batch is acked once stdout's reader acked it (or,
// without a linked reader, once written), so ship never forgets a batch that is not safe.
export const runCollect = (config: CollectConfig): Promise<number> =>
  runCommand({ component: 'collect', shutdownTimeout: config.shutdownTimeout, metrics: config.metrics }, async (rt) => {
    let sink: EventSink
    let printer: PrintSink | undefined
    if (config.print) sink = printer = new PrintSink()
    else sink = await rt.output()
    const listeners = new TcpListeners(config, sink, rt.counters)
    const syslog = new SyslogListeners({ ...config, addresses: config.syslog }, sink, rt.counters)
    const flume = new FlumeAvroListeners({ ...config, ...config.flumeAvro }, sink, rt.counters)
    try {
      await listeners.start()
      await syslog.start()
      await flume.start()
      // runs until a signal, or until stdout goes away (`| head`)
      await Promise.race([aborted(rt.stop), printer ? printer.closed : new Promise(() => undefined)])
      listeners.stop()
      syslog.stop()
      flume.stop()
      const left = await sink.end(config.shutdownTimeout)
      if (left) warn(`${left} events were not acked downstream; their senders were not acked either and will re-send them`)
      else if (rt.counters.get('EventReceivedCount')) info('all events acked downstream')
      return ExitCode.ok
    } finally {
      listeners.close()
      syslog.close()
      flume.close()
    }
  })
