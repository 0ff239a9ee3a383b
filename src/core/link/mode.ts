import { info, warn } from '../log.js'
import { pipeReader, readerAnnounced, readerDownstream, type StdoutKind } from './stdout-kind.js'

// How the writer decides that an event is safe to checkpoint upstream (docs/protocol.md §3):
//   acked   — a tsf reader linked up and acked it
//   write   — it was handed to the kernel (terminal, /dev/null, a pipe no tsf reader links through)
//   file    — stdout is a regular file and it was fsynced
//   pending — deciding: nothing is checkpointed yet
export type OutputMode = 'acked' | 'write' | 'file' | 'pending'

// The rules, in one place:
// - pending → acked when a tsf command reads the pipe (direct) or a tsf reader links up through
//   the cursors (through a filter: `tsf tail | grep x | tsf ship`).
// - pending → write only when no tsf reader can be found reading the pipe, nor further down
//   behind the programs that read it, within the grace period (`tsf tail | grep x > f`). The
//   fallback is said on stderr for what it is: the pipeline is now best effort.
// - write → acked as soon as a tsf reader links up or acks flow: the fallback is never one-way.
// - acked is never left while the linked reader is alive, however quiet it is (a filter that
//   drops everything for a while): nothing is checkpointed past its acks, and once the window is
//   full the source waits. A long silence is reported, not turned into best effort. A linked
//   reader that dies ends the writer (exit 4).

export interface ModeHost {
  readonly kind: StdoutKind
  readonly fd: number
  readonly mode: OutputMode
  setMode(mode: OutputMode, direct: boolean): void
  // events written and not yet acked
  waiting(): boolean
  // ms since acks last made progress (or since the mode was set)
  sinceProgress(): number
  // called on every look (the writer checks whether another writer shares its pipe)
  onLook(): void
  // the timers to clear on close
  timers: NodeJS.Timeout[]
}

export interface ModeOptions {
  // how long a non-tsf reader with no tsf reader behind it gets before checkpoint-on-write
  grace?: number
  // how long a shell or node program (here or further down) may take to become a tsf reader
  shellGrace?: number
  // linked through a filter: after this long without ack progress, say so (once per silence)
  linkTimeout?: number
}

export const BEST_EFFORT =
  'this pipeline is now best effort: events count as delivered once written to stdout, and what the program reading it holds is lost if it dies (put tsf filter instead of grep/jq/sed between two tsf commands to stay end to end)'

// Looks at who reads a pipe or socket stdout until the mode is known (see the rules above).
export const decideMode = (host: ModeHost, options: ModeOptions): void => {
  const grace = options.grace ?? 3000
  const shellGrace = Math.max(grace, options.shellGrace ?? 10_000)
  const started = Date.now()
  let toldWaiting = false
  const look = async (): Promise<void> => {
    if (host.mode !== 'pending') return
    host.onLook()
    const reader = host.kind !== 'pipe' ? 'other' : (await readerAnnounced(host.fd)) ? 'tsf' : pipeReader(host.fd)
    if (host.mode !== 'pending') return
    if (reader === 'tsf') return host.setMode('acked', true)
    const behind = reader === 'other' && host.kind === 'pipe' ? await readerDownstream(host.fd) : 'none'
    if (host.mode !== 'pending') return
    if (behind === 'tsf') {
      // a filter stands between us and a tsf reader: it links up once the filter passes a cursor
      // through, however long the filter buffers. Until then nothing is checkpointed.
      if (!toldWaiting)
        info(
          'stdout is read by a program that is not tsf, with a tsf reader behind it: nothing is checkpointed until that reader acks (end to end through the filter)',
        )
      toldWaiting = true
      return
    }
    // A shell that has not exec'd yet (`| (sleep 1; exec tsf ship)`) may still become a tsf
    // reader: it gets longer than a plain non-tsf reader, but not forever (`| while read`).
    const limit = reader === 'unknown' || behind === 'unknown' ? shellGrace : grace
    if (Date.now() - started >= limit) {
      host.setMode('write', false)
      warn(`stdout is not read by a tsf command and no tsf reader linked up within ${limit} ms: checkpointing on write; ${BEST_EFFORT}`)
      return
    }
    // kept referenced: a writer waiting for room while this decides must not see the event
    // loop run dry (node would exit 13 in the middle of the input)
    const timer = setTimeout(() => void look(), reader === 'unknown' ? 20 : 50)
    host.timers.push(timer)
  }
  void look()
}

// A tsf reader linked up, or acks flow, while we checkpoint on write: back to end to end.
export const linkedAgain = (host: ModeHost): void => {
  if (host.mode !== 'write') return
  host.setMode('acked', false)
  warn('a tsf reader linked up through the cursors: back to end to end (nothing is checkpointed past its acks from here on)')
}

// Linked through a filter: a silence is reported, never turned into checkpoint-on-write while
// the reader is alive (it may be a filter dropping everything for a while).
export const watchSilence = (host: ModeHost, options: ModeOptions): void => {
  const timeout = options.linkTimeout ?? 10_000
  let told = false
  const timer = setInterval(
    () => {
      if (host.mode !== 'acked') return clearInterval(timer)
      const silent = host.waiting() && host.sinceProgress() > timeout
      if (silent && !told) {
        info(
          `no acks for ${timeout} ms from the tsf reader linked through a filter: the filter holds or drops what we wrote; still end to end (nothing is checkpointed past acks; the source waits once the window is full; tsf filter acks what it drops)`,
        )
      }
      told = silent
    },
    Math.min(1000, timeout),
  )
  timer.unref()
  host.timers.push(timer)
}
