// The ack link's wire protocol on the writer's abstract Unix socket (docs/protocol.md).
// Text lines, one message each:
//   reader → writer   HELLO 1 <nonce>     first line
//   writer → reader   MAXLINE <bytes>     (right before OK, in the same write; again whenever it
//                                        grows) the longest line this writer may write whole: its
//                                        --max-line, or for a stage that forwards events the largest
//                                        its own writers told it. The reader frames this writer's
//                                        lines by at least that, so an event line is never cut into
//                                        text by a reader told a smaller --max-line; older readers
//                                        ignore the line, and older writers never send it (the
//                                        reader frames by the default --max-line then)
//   writer → reader   OK                  the link is up
//   writer → reader   NO                  a wrong nonce: refused, and the connection closed. A
//                                        connection that closes before OK or NO is a writer that
//                                        died before answering
//   writer → reader   PIPE <inode>        (after OK) the inode of the pipe that is the writer's
//                                        stdout: a reader whose stdin is that pipe reads the
//                                        writer's own lines (no filter in between) and may cut
//                                        their cursors without checking them; older readers
//                                        ignore the line
//   writer → reader   SHARED              another program writes into that pipe too (found
//                                        later): its lines take the checked path again
//   reader → writer   WINDOW <bytes>      (after HELLO, optional) the reader makes whole batches
//                                        durable at once and asks for at least this many bytes
//                                        unacked in flight (a storage sink whose commit has a
//                                        fixed cost, e.g. an HDFS APPEND); the writer raises its
//                                        window to it, up to MAX_ASKED_WINDOW; older writers
//                                        ignore the line
//   reader → writer   SPARSE              (after PIPE, when the reader's stdin is that pipe) the
//                                        reader counts the lines between two cursors: the writer
//                                        may leave the cursor out of every line but the last of
//                                        each write; older writers ignore the line
//   reader → writer   ACK <position>      cumulative: every event up to <position> is durable
//   writer → reader   FIN <position>      the writer closed its stdout on purpose after <position>
//   writer → reader   LOST <position>     the same, but because the writer's own upstream died: the
//                                        reader finishes and exits non-zero too (exit 3), so the
//                                        whole pipeline restarts under Restart=on-failure
// A link that closes without FIN means the writer died: the reader finishes and exits non-zero.
// Introduction, on the reader's announce socket @tsf-reader.<pipe inode> (no nonce, no acks): the
// reader greets with `tsf`, the writer of its stdin says `MAXLINE <bytes>` and `WRITER` (older
// readers ignore the first), the reader answers `KNOWN`, and
// the writer ends it with FIN or LOST like the link: so a writer that dies before its first event
// (no cursor has named it yet) still makes the reader exit non-zero.
export const PROTOCOL_VERSION = '1'
export const hello = (nonce: string): string => `HELLO ${PROTOCOL_VERSION} ${nonce}\n`
export const helloPattern = /^HELLO 1 ([A-Za-z0-9_-]+)$/
export const ackPattern = /^ACK (\d+)$/
export const windowPattern = /^WINDOW (\d+)$/
export const askWindow = (bytes: number): string => `WINDOW ${Math.floor(bytes)}\n`
// the most a reader can raise a writer's window to
export const MAX_ASKED_WINDOW = 256 * 1024 * 1024
export const maxLinePattern = /^MAXLINE (\d+)$/
export const tellMaxLine = (bytes: number): string => `MAXLINE ${Math.floor(bytes)}\n`
// the most a writer's MAXLINE raises a reader's frame for (×8 for JSON escapes): a bound on what
// one line may hold in memory, whoever says it
export const MAX_TOLD_MAX_LINE = 256 * 1024 * 1024
// --max-line's default in every stage: what a writer that says nothing (an older one) cut by
export const DEFAULT_MAX_LINE = 1024 * 1024
export const finPattern = /^FIN (\d+)$/
export const lostPattern = /^LOST (\d+)$/
export const pipePattern = /^PIPE (\d+)$/
export const sharedPattern = /^SHARED$/
export const SPARSE = 'SPARSE'
export const REFUSED = 'NO'
