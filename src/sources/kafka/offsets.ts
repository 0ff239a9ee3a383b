import { pause } from '../../core/wait.js'

// Offsets to commit, per partition: the next offset to read once everything before it is durable
// downstream. Commits are grouped (one request per interval for every partition that moved) and
// only ever go forward; a partition no longer assigned to us is left to its new owner.

export interface TopicPartitionOffset {
  topic: string
  partition: number
  offset: string
}

export interface CommitterOptions {
  commit: (offsets: TopicPartitionOffset[]) => Promise<void>
  isAssigned: (topic: string, partition: number) => boolean
  interval: number
  onError: (error: unknown) => void
}

export class OffsetCommitter {
  private readonly due = new Map<string, TopicPartitionOffset>()
  private readonly committed = new Map<string, bigint>()
  private timer?: NodeJS.Timeout
  private running?: Promise<void>

  constructor(private readonly options: CommitterOptions) {}

  // Everything of topic/partition before `next` is durable downstream.
  durable(topic: string, partition: number, next: string): void {
    const key = `${topic}:${partition}`
    const old = this.due.get(key)
    if (old && BigInt(old.offset) >= BigInt(next)) return
    this.due.set(key, { topic, partition, offset: next })
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, this.options.interval)
    this.timer.unref()
  }

  get pending(): number {
    return this.due.size
  }

  // Commits what is due now; concurrent callers share one request.
  async flush(): Promise<void> {
    while (this.running) await this.running
    const offsets = [...this.due.values()].filter(
      (o) => this.options.isAssigned(o.topic, o.partition) && BigInt(o.offset) > (this.committed.get(`${o.topic}:${o.partition}`) ?? -1n),
    )
    this.due.clear()
    if (offsets.length === 0) return
    this.running = this.options
      .commit(offsets)
      .then(() => {
        for (const o of offsets) this.committed.set(`${o.topic}:${o.partition}`, BigInt(o.offset))
      })
      .catch((error: unknown) => {
        // keep them due (unless a later offset came meanwhile): the next flush tries again
        for (const o of offsets) this.durable(o.topic, o.partition, o.offset)
        this.options.onError(error)
      })
      .finally(() => {
        this.running = undefined
      })
    await this.running
  }

  // At shutdown: commit what is due, trying until `deadline`.
  async drain(deadline: number): Promise<number> {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.due.size && Date.now() < deadline) {
      await this.flush()
      if (this.due.size) await pause(200)
    }
    clearTimeout(this.timer)
    this.timer = undefined
    return this.due.size
  }
}
