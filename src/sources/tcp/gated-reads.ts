import type { Socket } from 'node:net'
import { READ_SIZE, type ReadGate, type Turn } from './read-gate.js'
import { holdReads, releaseReads } from './socket-reads.js'

// One connection's reads taking turns in its listener's ReadGate (syslog TCP senders, --plain
// senders): a read is handed on while the gate is free or on the connection's turn; meanwhile its
// socket is held and what the sender sends waits in the kernel. (Each connection awaiting
// sink.ready() on its own woke 1,000 senders at once, each with a read of up to 64 KiB.)
export class GatedReads implements Turn {
  private held?: Buffer // a read that came while the gate was busy
  private granted = false // let in for its next read
  private queued = false // waits in the gate's line

  constructor(
    private readonly socket: Socket,
    private readonly gate: ReadGate,
    // hands a read on
    private readonly take: (chunk: Buffer) => void,
    // the connection is closed or stopped: no more reads are let in
    private readonly ended: () => boolean,
    // something else (the shared --max-buffer) holds its reads: a turn does not release them
    private readonly heldElsewhere: () => boolean = () => false,
  ) {}

  // Its first read waits for the gate like any other (a socket accepted with pauseOnConnect):
  // 1,000 senders connecting at once each had a read of up to 64 KiB taken before the gate's
  // first turn (~60 MB held at the peak).
  start(): void {
    if (this.gate.busy) this.queue()
    else this.release()
  }

  // the socket already reads (it was read before it came to the gate): it reads freely from now on
  readingFreely(): void {
    this.gate.reading(this)
  }

  // it waits in the gate's line
  get waiting(): boolean {
    return this.queued
  }

  // every 'data' of the socket comes here
  onData(chunk: Buffer): void {
    if (!this.granted && !this.gate.admit(chunk.length, this)) {
      // (a second one only where holdReads cannot stop reads at once: TLS)
      this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk
      this.queue()
      return this.gate.holding(chunk.length)
    }
    this.granted = false
    this.take(chunk)
    // others wait or the quantum is spent: back in line, holding nothing (the rest stays in TCP)
    if (this.gate.busy && !this.ended()) this.queue()
  }

  run(): number {
    this.queued = false
    const bytes = this.flush()
    if (this.ended()) return bytes
    this.granted = true
    this.release()
    return bytes + READ_SIZE
  }

  hold(): void {
    this.queued = true
    holdReads(this.socket)
  }

  // what held its reads elsewhere let go: it reads again, unless it waits its turn
  resume(): void {
    if (!this.queued) this.release()
  }

  // hands the read it held while waiting on, if any; its bytes
  flush(): number {
    const chunk = this.held
    if (!chunk) return 0
    this.held = undefined
    this.gate.holding(-chunk.length)
    this.take(chunk)
    return chunk.length
  }

  // the connection is gone, or stops reading: it leaves the gate's line
  leave(): void {
    this.gate.leave(this)
    this.queued = false
  }

  // the connection failed: it leaves the line and what it held is not handed on (nor counted)
  drop(): void {
    this.leave()
    if (this.held) this.gate.holding(-this.held.length)
    this.held = undefined
  }

  private queue(): void {
    holdReads(this.socket)
    this.queued = true
    this.gate.enqueue(this)
  }

  private release(): void {
    if (this.heldElsewhere()) return
    releaseReads(this.socket)
    this.gate.reading(this)
  }
}
