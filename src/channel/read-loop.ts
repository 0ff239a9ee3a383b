import { info } from '../core/log.js'
import type { ChannelRun } from './engine.js'
import { DrainProgress } from './progress.js'
import { listSegments } from './segments.js'
import { lagBytes } from './stat.js'

const EMPTY = Buffer.alloc(0)

// The reading side: the reader's events written downstream, its offset committed once they are
// durable there. Returns how many events stay unacked at the end.
export const readLoop = async (run: ChannelRun): Promise<number> => {
  const { reader, writer, config, rt } = run
  if (!reader) return 0
  const { dir } = config
  const counters = rt.counters
  const out = await rt.output()
  rt.atAbruptExit(() => reader.saveAtExit())
  const bases = listSegments(dir)
  const end = writer ? writer.nextIndex : reader.endAtOpen
  const backlog = Math.max(0, end - reader.next)
  const progress = new DrainProgress(reader.name, backlog, backlog ? lagBytes(dir, reader.position(), bases) : 0)
  for (;;) {
    if (rt.stop.aborted || run.fatal) break
    const batch = reader.read()
    if (batch) {
      const n = batch.count
      // the runs are views into the reader's buffer: written (copied) before the next read
      const last = batch.runs.length - 1
      for (let i = 0; i < last; i++) out.writeLines(batch.runs[i]!)
      out.writeLines(batch.runs[last] ?? EMPTY, () => {
        reader.commit(batch.end)
        counters.add('EventTakeSuccessCount', n)
      })
      progress.took(n)
      await out.ready()
      continue
    }
    if (config.mode === 'pass' && run.writingDone && reader.next >= writer!.nextIndex) break
    // nothing new: wait for the writer in this process, or poll the files for one elsewhere
    await idle(run, writer ? 1000 : 100)
  }
  progress.done()
  const left = await out.end(config.shutdownTimeout)
  await reader.saveNow()
  if (left)
    info(`${left} event(s) sent downstream but not acked within --shutdown-timeout: they stay in the channel and are sent again next time`)
  return left
}

// Resolves on the writer's next append (same process), after `ms` (a writer elsewhere), or on stop.
const idle = ({ writer, rt }: ChannelRun, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      writer?.off('wake', done)
      rt.stop.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    writer?.on('wake', done)
    rt.stop.addEventListener('abort', done)
  })
