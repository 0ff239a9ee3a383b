// One table of exit codes for every command (sysexits-style where it helps an operator).
// The EXIT STATUS section of every man page is written from this table.
export const ExitCode = {
  ok: 0,
  // The command could not do its job: a peer down past the shutdown timeout, a file that
  // cannot be read, events left unacked at the end of the input.
  failure: 1,
  // Bad usage: an unknown option, a malformed duration, a missing argument.
  usage: 2,
  // The upstream writer we were linked to vanished without a clean end: the pipeline must be
  // restarted as a whole; the upstream re-sends what we did not ack.
  upstreamLost: 3,
  // The downstream reader we were linked to went away: we stop at once, nothing is checkpointed
  // past its last ack.
  downstreamLost: 4,
  // A bug in tsf (sysexits' EX_SOFTWARE): the one error said with its stack trace, to report it.
  internalError: 70,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]
