import type { EventHead } from '../../core/event.js'
import { headStrings, isHeadBlock } from '../../core/head-block.js'
import { ExitCode } from '../../core/exit-codes.js'
import { info, warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { aborted } from '../../core/shutdown.js'
import type { RunnerOptions } from '../../core/stage-options.js'
import type { PrintSink } from '../../sinks/print.js'
import { staticHeaders } from '../../transforms/static-headers.js'
import type { EventSink } from '../../core/event-sink.js'
import { TcpListeners, type ListenerOptions } from './server.js'
import type { SyslogAddress } from './syslog-listeners.js'
import type { FlumeAvroOptions } from '../flume-avro/listeners.js'

export interface CollectConfig extends RunnerOptions, ListenerOptions {
  print: boolean
  syslog: SyslogAddress[]
  flumeAvro: Pick<FlumeAvroOptions, 'addresses' | 'deflate' | 'tls'>
  // -H K=V: static headers set on every event received (collector-side static interceptor)
  headers?: Record<string, string>
}

// tsf collect: TCP senders → stdout. A sender's batch is acked once stdout's reader acked it (or,
// without a linked reader, once written), so ship never forgets a batch that is not safe.
export const runCollect = async (config: CollectConfig, rt: Runtime): Promise<number> => {
  let sink: EventSink
  let printer: PrintSink | undefined
  // what a collector does not listen for does not load (start-up CPU and memory)
  if (config.print) sink = printer = new (await import('../../sinks/print.js')).PrintSink()
  else sink = await rt.output({ maxLine: config.maxEvent })
  const addHeaders = staticHeaders(config.headers)
  if (addHeaders) sink = withHeaders(sink, addHeaders)
  const listeners = new TcpListeners(config, sink, rt.counters)
  const syslog = config.syslog.length
    ? new (await import('./syslog-listeners.js')).SyslogListeners({ ...config, addresses: config.syslog }, sink, rt.counters)
    : undefined
  const flume = config.flumeAvro.addresses.length
    ? new (await import('../flume-avro/listeners.js')).FlumeAvroListeners(
        { ...config, ...config.flumeAvro },
        sink,
        rt.counters,
        listeners.budget,
      )
    : undefined
  // Flume agents are connections too (ConnectionCreatedCount counts both)
  if (flume) rt.counters.gauge('OpenConnectionCount', () => listeners.open + flume.open)
  try {
    await listeners.start()
    await syslog?.start()
    await flume?.start()
    // runs until a signal, or until stdout goes away (`| head`)
    await Promise.race([aborted(rt.stop), printer ? printer.closed : new Promise(() => undefined)])
    listeners.stop()
    syslog?.stop()
    flume?.stop()
    const left = await sink.end(config.shutdownTimeout)
    if (left) warn(`${left} events were not acked downstream; their senders were not acked either and will re-send them`)
    else if (rt.counters.get('EventReceivedCount')) info('all events acked downstream')
    return ExitCode.ok
  } finally {
    listeners.close()
    syslog?.close()
    flume?.close()
  }
}

const withHeaders = (sink: EventSink, addHeaders: (heads: EventHead[]) => void): EventSink => ({
  write: (heads, onDurable) => {
    const list = isHeadBlock(heads) ? headStrings(heads) : heads
    addHeaders(list)
    sink.write(list, onDurable)
  },
  ready: () => sink.ready(),
  get full() {
    return sink.full
  },
  end: (timeout, signal) => sink.end(timeout, signal),
})
