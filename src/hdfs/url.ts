import { UsageError } from '../core/errors.js'

export const DEFAULT_WEBHDFS_PORT = 9870

// hdfs:// URLs: what tsf roll is given, turned into the NameNode's WebHDFS address and a path.
export interface HdfsUrl {
  // e.g. 'http://nn:9870'
  webhdfsBase: string
  // absolute, decoded, no trailing slash (except '/')
  path: string
  // from hdfs://user@host/..., when given
  user?: string
}

/**
 * hdfs://host[:port]/path → the WebHDFS base URL and the path. The port in an hdfs:// URL given to
 * tsf is the NameNode's WebHDFS HTTP port (dfs.namenode.http-address, default 9870), not its RPC
 * port (8020/9000): tsf only speaks WebHDFS, so that is the only port it needs, and one URL can
 * name a cluster without a second option. webhdfs:// is accepted as a synonym and swebhdfs:// (or
 * hdfs+https://) means HTTPS (default port 9871).
 */
export const parseHdfsUrl = (text: string): HdfsUrl => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`expected an hdfs://HOST[:PORT]/PATH URL, got '${text}'`)
  }
  const secure = url.protocol === 'swebhdfs:' || url.protocol === 'hdfs+https:'
  if (!secure && url.protocol !== 'hdfs:' && url.protocol !== 'webhdfs:') {
    throw new UsageError(`expected an hdfs://HOST[:PORT]/PATH URL, got '${text}'`)
  }
  if (!url.hostname) throw new UsageError(`${text}: no NameNode host (expected hdfs://HOST[:PORT]/PATH)`)
  if (url.search || url.hash) throw new UsageError(`${text}: an hdfs:// URL takes no ?query or #fragment`)
  const port = url.port ? Number(url.port) : secure ? 9871 : DEFAULT_WEBHDFS_PORT
  let path: string
  try {
    path = decodeURIComponent(url.pathname || '/')
  } catch {
    throw new UsageError(`${text}: bad %-escape in the path`)
  }
  path = normalizePath(path)
  const result: HdfsUrl = { webhdfsBase: `${secure ? 'https' : 'http'}://${url.hostname}:${port}`, path }
  if (url.username) result.user = decodeURIComponent(url.username)
  return result
}

export const normalizePath = (p: string): string => {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.')
  if (parts.includes('..')) throw new UsageError(`${p}: an HDFS path may not contain '..'`)
  return `/${parts.join('/')}`
}
