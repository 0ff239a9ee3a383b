// The options every stage's engine takes, whatever its command line: engines import them from
// here, never from src/commands (commands/common.ts adds the flags that fill them).

// How a stage that reads events on stdin cuts long lines.
export interface ReaderOptions {
  maxLine: number
  truncate: boolean
}

// What every long-running stage takes: its shutdown wait and its --metrics address.
export interface RunnerOptions {
  shutdownTimeout: number
  metrics?: { host: string; port: number }
}

// What a source that reads files and checkpoints them takes (tail, spool).
export interface FileSourceOptions {
  stateDir: string
  // how often the files are looked at again
  pollInterval: number
  // the source's --window (EventOutput's)
  window: number
  // how often acked progress is saved at most
  checkpointInterval: number
  shutdownTimeout: number
}
