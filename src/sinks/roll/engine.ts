import { userInfo } from 'node:os'
import { unescaper } from '../../core/json-unescape-wasm.js'
import { UsageError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import { warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import type { RetryInfo } from '../../hdfs/webhdfs.js'
import { defaultSuffix, type RollFormat } from './format.js'
import { compileLayout, splitRoot, type Layout } from './layout.js'
import { LocalStorage } from './local-storage.js'
import { Roller } from './roller.js'
import type { RollStorage } from './storage.js'

// tsf roll's engine: opens the storage (a directory or HDFS) with its limits, recovers what a
// previous run left in progress, then rolls stdin's events into files until the input ends.

export interface RollConfig {
  // a local directory or hdfs://namenode:port/path, with path escapes
  dir: string
  prefix: string
  // undefined: by format (.log / .ndjson); .gz is added with gzip
  suffix?: string
  format: RollFormat
  gzip: boolean
  interval: number // ms, 0: off
  size: number // bytes, 0: off
  count: number // 0: off
  idle: number // ms, 0: off
  maxOpen: number
  dedupeHorizon: number // ms
  useLocalTime: boolean
  hdfsUser?: string
  maxLine: number
  truncate: boolean
  shutdownTimeout: number
}

// Most input bytes staged while a commit is in flight. An HDFS APPEND waits ~0.1–0.6 s for the
// DataNode's close whatever its size: fewer, larger commits there (docs/hdfs.md, "Throughput";
// 64 MiB: 25 MiB/s of log against 19 with 32 MiB, for ~30 MB more RSS).
const MAX_STAGED_LOCAL = 8 * 1024 * 1024
const MAX_STAGED_HDFS = 64 * 1024 * 1024
// On HDFS each commit waits for the DataNode's close (docs/hdfs.md): the writer upstream is asked
// for a window of one commit in flight plus one staged, or its default (8M for tail) caps commits.
const ASK_WINDOW_HDFS = 2 * MAX_STAGED_HDFS

interface Opened {
  layout: Layout
  storage: RollStorage
  maxStaged: number
  window?: number
}

// A local directory, or hdfs://namenode:port/path (the NameNode's WebHDFS port). Escapes stay out
// of URL parsing: the root (before the first escape) is the URL, the rest is the template.
// `starting` cuts HDFS retries short when a stop comes while roll is still starting. The HDFS
// client loads only for an hdfs:// root (start-up CPU and memory of a local roll).
const openStorage = async (config: RollConfig, starting: AbortSignal): Promise<Opened> => {
  if (config.maxOpen < 1) throw new UsageError('--max-open: must be at least 1')
  const suffix = (config.suffix ?? defaultSuffix(config.format)) + (config.gzip && !(config.suffix ?? '').endsWith('.gz') ? '.gz' : '')
  const { dir, prefix } = config
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) {
    const layout = compileLayout({ dir, prefix, suffix })
    return { layout, storage: new LocalStorage(layout.root), maxStaged: MAX_STAGED_LOCAL }
  }
  const { root, rest } = splitRoot(dir)
  const [{ parseHdfsUrl }, { WebHdfs }, { HdfsStorage }] = await Promise.all([
    import('../../hdfs/url.js'),
    import('../../hdfs/webhdfs.js'),
    import('./hdfs-storage.js'),
  ])
  const url = parseHdfsUrl(root)
  const layout = compileLayout({ dir: rest ? `${url.path === '/' ? '' : url.path}/${rest}` : url.path, prefix, suffix })
  const user = config.hdfsUser ?? url.user ?? process.env.HADOOP_USER_NAME ?? userInfo().username
  let said = 0
  const onRetry = (info: RetryInfo): void => {
    // say it on the first retry of a call and now and then after, not on every backoff step
    if (info.attempt === 1 || ++said % 20 === 0) warn(`${info.error.message}; retrying`)
  }
  const client = new WebHdfs(url.webhdfsBase, user, { onRetry, signal: starting })
  return { layout, storage: new HdfsStorage(client, layout.root), maxStaged: MAX_STAGED_HDFS, window: ASK_WINDOW_HDFS }
}

export const runRoll = async (config: RollConfig, rt: Runtime): Promise<number> => {
  // a SIGTERM while roll is still starting (HDFS unreachable, say) ends the start at once
  const starting = new AbortController()
  const { layout, storage, maxStaged, window } = await openStorage(config, starting.signal)
  const roller = new Roller(
    {
      storage,
      layout,
      format: config.format,
      gzip: config.gzip,
      interval: config.interval,
      size: config.size,
      count: config.count,
      idle: config.idle,
      maxOpen: config.maxOpen,
      horizon: config.dedupeHorizon,
      useLocalTime: config.useLocalTime,
      maxStaged,
    },
    rt.counters,
  )
  const abortStart = (): void => starting.abort()
  rt.stop.addEventListener('abort', abortStart, { once: true })
  try {
    await roller.start()
  } catch (error) {
    if (rt.stop.aborted) return ExitCode.ok
    throw error
  } finally {
    rt.stop.removeEventListener('abort', abortStart)
  }
  // as spans: each batch the lines as read plus where each head lies in them, read in place (no
  // view per event, no copy per line to cut its cursor out), its block reused; the blocks are
  // chunks of the body unescaper's memory where there are any, read there without a copy
  const wasm = unescaper()
  const input = rt.input({
    maxLine: config.maxLine,
    truncate: config.truncate,
    lines: 'spans',
    ...(wasm ? { linesBlocks: (size: number) => wasm.chunk(size) } : {}),
    ...(window ? { window } : {}),
  })
  return roller.run(input, rt.stop, config.shutdownTimeout)
}
