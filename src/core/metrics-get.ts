// GET of another tsf command's /metrics.json, parsed. Through node:http rather than fetch():
// fetch refuses the ports the Fetch standard calls "bad" (1, 6000, 6665-6669, 10080, ...) with
// "bad port" before connecting, and a metrics port is the operator's choice.
export class MetricsGetError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

// node:http loads on the first GET: ship (--report-upstream) and `tsf top --help` start without it
export const getMetricsJson = async (url: string, timeout: number): Promise<Record<string, unknown>> => {
  const { get } = await import('node:http')
  return new Promise((resolve, reject) => {
    // the whole answer within the timeout, not only the connection
    const timer = setTimeout(() => req.destroy(new MetricsGetError('no answer in time', 'ETIMEDOUT')), timeout)
    const settle =
      <T>(f: (v: T) => void) =>
      (v: T): void => {
        clearTimeout(timer)
        f(v)
      }
    resolve = settle(resolve)
    reject = settle(reject)
    const req = get(url, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (e: NodeJS.ErrnoException) => reject(new MetricsGetError(e.message, e.code)))
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new MetricsGetError(`HTTP ${res.statusCode}`))
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
        } catch {
          reject(new MetricsGetError('not JSON'))
        }
      })
    })
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof MetricsGetError ? e : new MetricsGetError(e.message, e.code)))
  })
}
