// The one back-off: each failure in a row doubles the wait (initial, 2×, 4× ... up to max), and a
// random share of it (jitter) keeps a fleet of agents from retrying a restarted server in lockstep.

export interface BackoffPolicy {
  // the first wait, in ms
  initial: number
  // the longest wait, in ms
  max: number
  // the share of each wait that is random: 0.25 waits 75-100% of it; 0 (the default) waits all of it
  jitter?: number
}

// The wait before retry number `attempt` (1 for the first retry); 0 before the first try.
export const backoffDelay = (attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number => {
  if (attempt <= 0) return 0
  const base = Math.min(policy.max, policy.initial * 2 ** Math.min(attempt - 1, 30))
  const jitter = policy.jitter ?? 0
  return jitter > 0 ? Math.round(base * (1 - jitter + jitter * random())) : base
}

// A retry loop's back-off: next() is the wait before the next try, reset() after a success.
export class Backoff {
  private failures = 0

  constructor(private readonly policy: BackoffPolicy) {}

  get attempts(): number {
    return this.failures
  }

  next(): number {
    return backoffDelay(++this.failures, this.policy)
  }

  reset(): void {
    this.failures = 0
  }
}
