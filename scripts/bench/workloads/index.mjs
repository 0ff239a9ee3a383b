// Every workload, in the order the report lists them. Each has a name (for --only/--skip), a
// title, needs() (undefined when its commands exist, else why it is skipped) and run(ctx).
import baseline from './baseline.mjs'
import { chain, chainWithChannels } from './chain.mjs'
import channelRestart from './channel-restart.mjs'
import channel from './channel.mjs'
import codec from './codec.mjs'
import latency from './latency.mjs'
import rsyslogW1 from './rsyslog-w1.mjs'
import { syslogRsyslog, syslogTsf } from './syslog.mjs'
import ship from './ship.mjs'
import tail from './tail.mjs'

export const workloads = [codec, baseline, tail, ship, chain, chainWithChannels, channel, channelRestart, latency, rsyslogW1, syslogTsf, syslogRsyslog]
