import { pause } from '../wait.js'
import { LineFramer } from '../lines.js'
import { DEFAULT_MAX_LINE, MAX_TOLD_MAX_LINE } from './protocol.js'

// The frame the reader reads event lines in: sized by our --max-line and by the largest one a
// writer told us (MAXLINE), and the brief wait for writers still saying theirs when a line is
// about to outgrow it.

// the frame for event lines whose bodies are at most maxLine bytes: escapes (\uXXXX, \") and
// the event's other fields make a line up to about 8 times its body
const frameFor = (maxLine: number): number => maxLine * 8 + 65536
// more than a read adds to a partial line (reused stdin chunks are 128 KiB)
const READ_AHEAD = 1024 * 1024
// how long a line at the frame's edge waits for writers still saying their max-line
const SETTLE_FOR = 3000

export class FrameSize {
  max: number
  readonly framer: LineFramer
  // the largest max-line a writer of ours told us (MAXLINE), 0 if none did
  told = 0
  // the line (by the reader's line count) a wait for writers' max-lines was made for, and whether
  // a wait for an introduction was made at all (once: a stdin no tsf writer writes into never
  // gets one)
  private settledLine = -1
  private waitedIntroduction = false
  private awaitIntroduction = false

  constructor(
    maxLine: number,
    onOversize: () => void,
    // whether a writer may still say its max-line: a link connecting, a connection on the
    // announce socket not said what it is; with `introduction`, no writer known at all yet
    private readonly unsettled: (introduction: boolean) => boolean,
  ) {
    // An event line may be much longer than its body (escapes, base64): frame generously here and
    // cut plain text at maxLine after classifying it. The frame is never smaller than the default
    // --max-line's: an upstream stage cut its bodies by its own --max-line (1 MiB unless it says
    // more: MAXLINE, see `told`), and a reader told less must still take each of its events
    // whole, not cut its JSON into text.
    this.max = frameFor(Math.max(maxLine, DEFAULT_MAX_LINE))
    this.framer = new LineFramer(this.max, false, onOversize)
  }

  // A writer said the longest line it may write whole: frame by it (escaped: up to 8 times the
  // body), never beyond what one line may hold in memory. The new largest, to be said on to the
  // stage's own writer, or undefined if it is not larger.
  tell(maxLine: number): number | undefined {
    const bytes = Math.min(maxLine, MAX_TOLD_MAX_LINE)
    if (bytes <= this.told) return undefined
    this.told = bytes
    const frame = frameFor(bytes)
    if (frame > this.max) {
      this.max = frame
      this.framer.raise(frame)
    }
    return bytes
  }

  // A line about to outgrow the frame before every writer said its max-line (a link still
  // connecting; the writer of our stdin pipe not introduced yet: a long first line): checked after
  // each chunk read; true once per such line (`line`: the reader's line count), and settle() then
  // waits for them, briefly, rather than cut an event's JSON into text.
  atEdge(line: number, stdinPipe: boolean): boolean {
    const framer = this.framer
    if (!framer.ordinary || framer.buffered + READ_AHEAD < this.max || this.settledLine === line) return false
    this.settledLine = line
    this.awaitIntroduction = stdinPipe && !this.waitedIntroduction
    this.waitedIntroduction = true
    return this.unsettled(this.awaitIntroduction)
  }

  async settle(stopped: () => boolean): Promise<void> {
    const deadline = Date.now() + SETTLE_FOR
    while (this.unsettled(this.awaitIntroduction) && !stopped() && Date.now() < deadline) await pause(10)
  }
}
