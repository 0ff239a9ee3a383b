import { plainLineHead, type EventHead } from '../../core/event.js'
import { releaseEvents, type InputBatch } from '../../core/link/reader.js'
import { warnOnce } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'
import type { EscapeContext } from './escapes.js'
import { EventFields } from './event-fields.js'
import type { RollFormat } from './format.js'
import type { Bucket, Layout } from './layout.js'
import { RangeSet } from './ranges.js'
import { addCut, type Staged, type StagedBucket } from './staged.js'
import type { RollState } from './state.js'

// Staging, roll's hot path: each event of an input batch read where it lies (the fields roll
// needs), deduplicated by (src, seq) against what is committed, staged and being committed,
// formatted and grouped by bucket into a Staged group. No I/O.
export class Stager {
  // the event being staged (one reader for all) and the escape context that reads from it
  private readonly fields: EventFields
  private readonly eventContext: EscapeContext
  // a line cut into pieces ("cont"): the bucket its pieces go to, per stream
  private readonly contBucket = new Map<string, Bucket>()
  private readonly contOwner = new Map<string, string>()
  // set by bucketFor: end the partial line in the bucket first
  private breakLine = false

  constructor(
    private readonly options: { format: RollFormat; layout: Layout; useLocalTime: boolean },
    private readonly state: RollState,
    private readonly counters: Counters,
  ) {
    const fields = (this.fields = new EventFields(options.format === 'body'))
    this.eventContext = {
      ts: 0,
      header: (name) => fields.header(name),
      get host() {
        return fields.host()
      },
    }
  }

  // Read the fields roll needs, dedupe, format, group by bucket. No I/O: this runs while a commit
  // is in flight. No JSON.parse and no per-event buffers or views: the events are read where they
  // lie in the batch's bytes (InputOptions.lines 'spans': where each head is), and the body is
  // unescaped straight into its bucket's staging chunk.
  stage(staged: Staged, batch: InputBatch, committing: Staged | undefined): void {
    const now = Date.now()
    if (staged.batches.length === 0) staged.since = now
    staged.batches.push(batch)
    const lines = batch.lines
    const spans = batch.spans
    const heads = lines ? undefined : batch.heads
    const received = lines ? batch.count! : heads!.length
    const fields = this.fields
    const json = this.options.format === 'json'
    let duplicates = 0
    // the stream of the event before (most events of a batch share it): its string and seq sets
    let lastSrc: string | undefined
    let lastSrcBytes = EMPTY
    let committed: RangeSet | undefined
    let pending: RangeSet | undefined
    let inFlight: RangeSet | undefined
    // a seq above everything seen of lastSrc (committed, in flight, staged): the next one of an
    // in-order stream is new without a lookup in the three sets
    let next = Number.NaN
    // the bucket of the event before: the next body is unescaped into its chunk, where it most
    // likely belongs (committed there without a copy, copied elsewhere otherwise)
    let guess: StagedBucket | undefined
    let at = 0
    fields.source(lines)
    for (let k = 0; k < received; k++) {
      let buf: Buffer
      let start: number
      let end: number
      if (spans) {
        buf = lines!
        start = spans[2 * k]!
        end = spans[2 * k + 1]!
      } else if (lines) {
        buf = lines
        start = at
        end = lines.indexOf(10, at)
        at = end + 1
      } else {
        const head = heads![k]!
        buf = typeof head === 'string' ? Buffer.from(head) : head
        start = 0
        end = buf.length
      }
      if (guess && !json) fields.placeBodyAt(guess.data.reserve(end - start + 1), guess.data.offset)
      if (!fields.read(buf, start, end)) {
        this.stagePlain(staged, buf.subarray(start, end), now)
        continue
      }
      let src: string | undefined
      const seq = fields.seq
      if (fields.srcStart !== -1 && Number.isSafeInteger(seq)) {
        if (lastSrc !== undefined && (fields.sameSrc || fields.srcEquals(lastSrcBytes))) src = lastSrc
        else {
          src = fields.src()
          if (src !== undefined) {
            lastSrc = src
            lastSrcBytes = fields.srcBytes()
            fields.keepSrc()
            committed = this.state.streams.get(src)?.ranges
            pending = staged.seqs.get(src)
            inFlight = committing?.seqs.get(src)
            next = Number.NaN
          }
        }
        if (src !== undefined && seq === next) {
          pending!.add(seq)
          next = seq + 1
        } else if (src !== undefined) {
          // seen if committed, staged before, or in the group being committed right now
          if (committed?.has(seq) || pending?.has(seq) || inFlight?.has(seq)) {
            duplicates++
            continue
          }
          if (!pending) staged.seqs.set(src, (pending = new RangeSet()))
          pending.add(seq)
          const above = pending.max === seq && seq > (committed?.max ?? -Infinity) && seq > (inFlight?.max ?? -Infinity)
          next = above ? seq + 1 : Number.NaN
        }
      }
      const entry = staged.entry(this.bucketFor(fields.ts, src ?? '', fields.cont, now, this.eventContext))
      if (this.breakLine) {
        fields.detach() // the newline goes where the body was placed
        entry.data.appendByte(NL)
        addCut(entry)
      }
      if (json) {
        entry.data.append(buf, start, end)
        entry.data.append(CLOSE_NL)
      } else {
        const placed = entry === guess ? fields.placed() : -1
        if (placed >= 0) entry.data.commit(placed)
        else {
          const out = entry.data.reserve(fields.bodyBound() + 1)
          const n = fields.writeBody(out, entry.data.offset)
          if (n === -1) {
            // a body with a malformed escape: its raw text, rather than nothing
            warnOnce('bad-escape', 'an event body with a malformed escape was written as its raw JSON text')
            entry.data.append(fields.rawBody())
          } else entry.data.commit(n)
        }
        if (!fields.cont) entry.data.appendByte(NL)
      }
      guess = entry
      entry.events++
      staged.events++
      if (!fields.cont || json) addCut(entry)
    }
    // the events' bytes are copied: the reader may frame later input into them, and only the
    // staged copy stays in memory until the ack
    fields.source(undefined)
    if (lines) releaseEvents(batch)
    else (heads as EventHead[]).length = 0
    staged.bytes += batch.bytes
    this.counters.add('EventReceivedCount', received)
    if (duplicates) {
      this.counters.add('EventDuplicateCount', duplicates)
      warnOnce(
        'duplicates',
        `dropped events already written (same src and seq): redelivered after a restart or a retransmit (counted in EventDuplicateCount)`,
      )
    }
  }

  // A line that is not a tsf event (it only looked like one: "{" and "}" around it) is written as
  // the text it is; in --format json as an event with that text as its body.
  private stagePlain(staged: Staged, head: Buffer, now: number): void {
    warnOnce('bad-head', 'a line that looked like a tsf event was not valid JSON: written as plain text')
    const line = Buffer.concat([head, CLOSE])
    const entry = staged.entry(this.bucketFor(NaN, '', false, now, { ts: now }))
    if (this.breakLine) {
      entry.data.appendByte(NL)
      addCut(entry)
    }
    if (this.options.format === 'json') {
      entry.data.append(Buffer.from(plainLineHead(line)))
      entry.data.append(CLOSE_NL)
    } else {
      entry.data.append(line)
      entry.data.appendByte(NL)
    }
    entry.events++
    staged.events++
    addCut(entry)
  }

  // The bucket an event belongs to: by its own time (never by arrival, unless --use-local-time).
  // The pieces of one cut line stay together in the bucket of the first piece. `breakLine` is set
  // when another stream's event lands in the middle of a cut line: the partial line is ended
  // rather than spliced with another line (nothing is lost; the rest follows as its own line).
  private bucketFor(eventTs: number, stream: string, cont: boolean, now: number, context: EscapeContext): Bucket {
    this.breakLine = false
    let ts = now
    if (!this.options.useLocalTime) {
      if (Number.isFinite(eventTs)) ts = eventTs
      else warnOnce('no-ts', 'an event without a numeric "ts" was bucketed by its arrival time')
    }
    context.ts = ts
    if (this.options.format !== 'body' || (this.contBucket.size === 0 && !cont)) return this.options.layout.bucketOf(context)
    const bucket = this.contBucket.get(stream) ?? this.options.layout.bucketOf(context)
    const owner = this.contOwner.get(bucket.key)
    if (owner !== undefined && owner !== stream) {
      warnOnce(
        'cont-interleaved',
        'a line cut into pieces was interleaved with events of another stream: its pieces are written as separate lines',
      )
      this.breakLine = true
      this.contBucket.delete(owner)
      this.contOwner.delete(bucket.key)
    }
    if (cont) {
      this.contBucket.set(stream, bucket)
      this.contOwner.set(bucket.key, stream)
    } else if (this.contOwner.get(bucket.key) === stream) {
      this.contBucket.delete(stream)
      this.contOwner.delete(bucket.key)
    }
    return bucket
  }
}

const CLOSE = Buffer.from('}')
const CLOSE_NL = Buffer.from('}\n')
const NL = 0x0a
const EMPTY: Buffer = Buffer.alloc(0)
