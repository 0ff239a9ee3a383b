// A deterministic access log in Apache combined format, ~200 bytes per line: the same seed and size
// give the same bytes on every machine, so figures from different runs read the same input.
// usage: node scripts/bench/gen-access-log.mjs OUT SIZE [--seed N]
import { closeSync, openSync, renameSync, writeSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseSize } from './units.mjs'

// mulberry32: tiny, fast, good enough to make varied lines, and stable across Node versions
export const prng = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const methods = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD']
const statuses = [200, 200, 200, 200, 200, 200, 200, 304, 301, 302, 404, 404, 500, 503]
const sections = [
  'api/v1/users',
  'api/v1/orders',
  'api/v2/cart',
  'static/css',
  'static/js',
  'images/products',
  'blog',
  'search',
  'account/settings',
  'checkout',
]
const leaves = ['index.html', 'app.min.js', 'style.css', 'logo.png', 'list', 'details', 'items', 'feed.xml', 'thumb.jpg', 'status']
const params = ['id', 'page', 'q', 'sort', 'lang', 'ref', 'session', 'limit']
const words = ['red', 'shoes', 'linux', 'kafka', 'summer', 'sale', 'flume', 'logs', 'garden', 'coffee', 'book', 'phone']
const referers = [
  '-',
  '-',
  'https://www.example.com/',
  'https://www.google.com/search?q=',
  'https://news.example.org/article/',
  'https://shop.example.net/category/',
]
const agents = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.4.0',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
  'python-requests/2.31.0',
]
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n) => (n < 10 ? '0' + n : String(n))

export const makeLineGenerator = (seed = 42) => {
  const rnd = prng(seed)
  const pick = (list) => list[Math.floor(rnd() * list.length)]
  let clock = Date.UTC(2026, 0, 1) // fixed start: the output must not depend on today
  return () => {
    clock += Math.floor(rnd() * 20)
    const d = new Date(clock)
    const time = `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
    const ip = `${10 + Math.floor(rnd() * 200)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`
    const user = rnd() < 0.9 ? '-' : `user${Math.floor(rnd() * 1000)}`
    let path = `/${pick(sections)}/${pick(leaves)}`
    const nParams = Math.floor(rnd() * 3)
    for (let i = 0; i < nParams; i++) path += `${i ? '&' : '?'}${pick(params)}=${rnd() < 0.5 ? Math.floor(rnd() * 100000) : pick(words)}`
    let referer = pick(referers)
    if (referer.endsWith('=') || (referer.endsWith('/') && referer !== 'https://www.example.com/')) referer += pick(words)
    const size = Math.floor(rnd() * 50000)
    return `${ip} - ${user} [${time}] "${pick(methods)} ${path} HTTP/1.1" ${pick(statuses)} ${size} "${referer}" "${pick(agents)}"\n`
  }
}

// Writes whole lines until the file holds at least `size` bytes; returns { bytes, lines }.
// Writes to OUT.tmp and renames, so an interrupted run never leaves a short file to be reused.
export const generateAccessLog = (out, size, seed = 42) => {
  const next = makeLineGenerator(seed)
  const fd = openSync(out + '.tmp', 'w')
  let bytes = 0
  let lines = 0
  let chunk = ''
  while (bytes < size) {
    const line = next()
    chunk += line
    bytes += line.length // the generator only emits ASCII
    lines++
    if (chunk.length >= 1 << 22) {
      writeSync(fd, chunk)
      chunk = ''
    }
  }
  if (chunk) writeSync(fd, chunk)
  closeSync(fd)
  renameSync(out + '.tmp', out)
  return { bytes, lines }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [out, size = '1G', ...rest] = process.argv.slice(2)
  if (!out) {
    process.stderr.write('usage: node scripts/bench/gen-access-log.mjs OUT [SIZE] [--seed N]\n')
    process.exit(2)
  }
  const seedAt = rest.indexOf('--seed')
  const r = generateAccessLog(out, parseSize(size), seedAt === -1 ? 42 : Number(rest[seedAt + 1]))
  process.stderr.write(`${out}: ${r.lines} lines, ${r.bytes} bytes\n`)
}
