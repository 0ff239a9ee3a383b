import http from 'node:http'
import https from 'node:https'
import type { Answers } from './answers.js'

// One HTTP exchange with a NameNode or a DataNode, through node:http (see webhdfs.ts's header
// comment: fetch() cannot talk to a DataNode), on keep-alive agents.

// A request body: one buffer, or several sent in order without joining them.
export type Body = Buffer | readonly Buffer[]

export const bodyLength = (body: Body): number => (Buffer.isBuffer(body) ? body.length : body.reduce((n, b) => n + b.length, 0))

export interface Response {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

// which request an answer or an error is about
export interface Step {
  op: string
  path: string
  datanode?: string
}

export const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })

export class Transport {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  }

  // requestTimeoutMs: a request with no response progress for this long is abandoned
  constructor(
    private readonly requestTimeoutMs: number,
    private readonly answers: Answers,
  ) {}

  /** Closes idle keep-alive connections. The transport stays usable (new connections are made). */
  close(): void {
    this.agents.http.destroy()
    this.agents.https.destroy()
  }

  request(signal: AbortSignal | undefined, method: string, url: string, body?: Body, step?: Step): Promise<Response> {
    const u = new URL(url)
    const where: Step = step ?? { op: opOf(u), path: decodeURIComponent(u.pathname.replace(/^\/webhdfs\/v1/, '')) || '/', datanode: u.host }
    const mod = u.protocol === 'https:' ? https : http
    const agent = u.protocol === 'https:' ? this.agents.https : this.agents.http
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal))
      const headers: http.OutgoingHttpHeaders = { accept: 'application/json' }
      if (body) {
        headers['content-type'] = 'application/octet-stream'
        headers['content-length'] = bodyLength(body)
      } else if (method !== 'GET') {
        headers['content-length'] = 0
      }
      const req = mod.request(u, { method, headers, agent, ...(signal ? { signal } : {}) }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', (e) => reject(this.answers.networkError(e, where)))
      })
      req.setTimeout(this.requestTimeoutMs, () => {
        req.destroy(Object.assign(new Error(`no answer within ${this.requestTimeoutMs} ms`), { code: 'ERequestTimeout' }))
      })
      req.on('error', (e) => reject(signal?.aborted ? abortReason(signal) : this.answers.networkError(e, where)))
      if (body === undefined || Buffer.isBuffer(body)) req.end(body)
      else {
        for (const part of body) req.write(part)
        req.end()
      }
    })
  }
}

const opOf = (u: URL): string => (u.searchParams.get('op') ?? 'request').toUpperCase()
