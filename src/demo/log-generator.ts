import { open, type FileHandle } from 'node:fs/promises'

// Appends realistic access-log lines to a file at a steady rate, the way a web server would.
const paths = ['/', '/index.html', '/api/v1/orders', '/api/v1/users/42', '/static/app.js', '/login', '/healthz']
const agents = ['curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64)', 'kube-probe/1.29']

export const accessLine = (n: number, now: Date): string => {
  const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
  const status = n % 50 === 0 ? 500 : n % 7 === 0 ? 404 : 200
  return `${ip} - - [${now.toISOString()}] "GET ${paths[n % paths.length]} HTTP/1.1" ${status} ${(n * 7919) % 20000} "-" "${agents[n % agents.length]}" line=${n}`
}

export class LogGenerator {
  private handle?: FileHandle
  private timer?: NodeJS.Timeout
  written = 0

  constructor(
    private readonly path: string,
    private readonly perSecond: number,
  ) {}

  async start(): Promise<void> {
    this.handle = await open(this.path, 'a')
    const tick = 100
    const perTick = Math.max(1, Math.round((this.perSecond * tick) / 1000))
    this.timer = setInterval(() => {
      let text = ''
      for (let i = 0; i < perTick; i++) text += accessLine(++this.written, new Date()) + '\n'
      void this.handle!.write(text)
    }, tick)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.handle?.close()
  }
}
