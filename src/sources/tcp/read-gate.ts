import type { EventSink } from '../../core/event-sink.js'

// Bytes connections may hand the sink between two asks whether it has room: a few reads' worth,
// so a full window is overshot by about this much, however many connections are open.
export const QUANTUM = 1024 * 1024
// what one read of a socket may bring (node reads up to 64 KiB at a time): the cost of a turn
export const READ_SIZE = 64 * 1024

// A connection waiting in a ReadGate: run() hands the sink what the connection holds, if anything,
// and lets it read again; it returns the bytes this lets in.
export interface Turn {
  run(): number
  // stop reading now (its socket held in the kernel): the gate turned busy while it read freely
  hold?(): void
}

// The one wait for room in the sink that all connections of a listener share. Connections hand
// the sink what they read freely until it was handed QUANTUM bytes; from then on, and while anyone
// waits, a connection queues (its socket held) and the gate asks the sink once for room for all of
// them, then runs the queue a quantum at a time in the order it came, one event-loop turn apart.
// A connection that is let in and reads goes to the back again: round-robin, no sender starved.
// (Each connection awaiting sink.ready() on its own woke them all at once when the window opened,
// each with a read of up to 64 KiB: 1,000 senders overshot the window by ~64 MB and more.)
export class ReadGate {
  private readonly queue = new Set<Turn>() // a Set iterates in insertion order: first come first
  // connections reading freely, without a turn (see reading())
  private readonly readers = new Set<Turn>()
  // those of them that read since the gate last turned busy
  private readonly recent = new Set<Turn>()
  private credit: number
  // bytes of reads taken from the kernel while the gate was busy, held until their connection's turn
  private heldBytes = 0
  private pumping = false
  private stopped = false

  constructor(
    private readonly sink: Pick<EventSink, 'ready'>,
    private readonly quantum = QUANTUM,
  ) {
    this.credit = quantum
  }

  // Others wait, or the quantum is spent: a connection that wants to hand the sink more queues.
  get busy(): boolean {
    return this.pumping || this.queue.size > 0 || this.credit <= 0 || this.stopped
  }

  // A connection not let in by a turn is about to hand the sink `bytes`: true, go ahead (counted);
  // false, the gate is busy and the connection must queue.
  // `turn`, when given, is marked as one that read (held with the others when the gate turns busy).
  admit(bytes: number, turn?: Turn): boolean {
    if (this.busy) return false
    this.credit -= bytes
    if (turn && this.readers.has(turn)) this.recent.add(turn)
    return true
  }

  // Queues `turn` at the back (if it is not queued yet): it runs when the sink has room and those
  // before it ran.
  enqueue(turn: Turn): void {
    this.readers.delete(turn)
    this.recent.delete(turn)
    // the gate turns busy: the others that read freely since it last did are held too, before
    // their next read is taken from the kernel (1,000 senders idle and then sending at once each
    // had a read of up to 64 KiB taken and held until its turn, ~60 MB). Connections that did not
    // read meanwhile stay free: a herd of idle senders is not held, queued and let in again each
    // time one busy sender spends the quantum (~1,000 held sockets, 63 rounds per MiB).
    this.queue.add(turn)
    if (!this.pumping && this.queue.size === 1 && this.recent.size) {
      for (const r of this.recent) {
        if (!this.readers.delete(r)) continue
        r.hold?.()
        this.queue.add(r)
      }
      this.recent.clear()
    }
    void this.pump()
  }

  // `turn` reads freely from now on (its reads come to admit()) until it enqueues or leaves: when
  // the gate turns busy after it read, it is held and queued
  reading(turn: Turn): void {
    if (!this.queue.has(turn)) this.readers.add(turn)
  }

  // A connection took a read of `bytes` while the gate was busy and holds it until its turn (a
  // negative count: handed on). Past a quantum held, a herd is starting to send at once (1,000
  // senders connected idle, then all sending: each free reader's read of up to 64 KiB was taken
  // in the same poll and held, ~35 MB): every connection still reading freely is held and queued
  // before its read is taken. Idle senders that stay idle never get there, however busy the gate.
  holding(bytes: number): void {
    this.heldBytes += bytes
    if (bytes <= 0 || this.heldBytes <= this.quantum || !this.readers.size) return
    for (const r of this.readers) {
      r.hold?.()
      this.queue.add(r)
    }
    this.readers.clear()
    this.recent.clear()
    void this.pump()
  }

  // bytes of reads held until their turn now (tests)
  get held(): number {
    return this.heldBytes
  }

  // connections waiting for their turn now
  get waiting(): number {
    return this.queue.size
  }

  // the connection is gone (or hands over what it holds by other means): it leaves the line
  leave(turn: Turn): void {
    this.queue.delete(turn)
    this.readers.delete(turn)
    this.recent.delete(turn)
  }

  // shutdown: no more turns run (what the queue holds is the listeners' to hand over or drop)
  stop(): void {
    this.stopped = true
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.stopped) return
    this.pumping = true
    try {
      while (this.queue.size && !this.stopped) {
        try {
          await this.sink.ready()
        } catch {
          this.stopped = true // the sink failed: collect is going down, nobody reads again
          return
        }
        this.credit = this.quantum
        // (a turn that throws is a bug in tsf: it goes up and stops the process, as it did when each
        // connection handed on its own reads, rather than leaving every sender stopped for ever)
        for (const turn of this.queue) {
          if (this.credit <= 0 || this.stopped) break
          this.queue.delete(turn)
          this.credit -= turn.run()
        }
        // the reads just let in come in before more are let in
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    } finally {
      this.pumping = false
    }
  }
}
