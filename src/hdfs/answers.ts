import { DEFAULT_WEBHDFS_PORT } from './url.js'
import { isRetriableRemote, NETWORK_RETRIABLE, WebHdfsError, type WebHdfsErrorDetails } from './errors.js'
import type { Response, Step } from './transport.js'

// Reads the answers of a NameNode or DataNode: JSON bodies, {"boolean":...}, RemoteExceptions, and
// what is not WebHDFS at all, each turned into a WebHdfsError that names the NameNode.
export class Answers {
  constructor(private readonly namenode: string) {}

  json(r: Response, where: Step): unknown {
    try {
      return JSON.parse(r.body.toString('utf8'))
    } catch {
      throw this.notJson(r, where)
    }
  }

  booleanOf(r: Response, where: Step): boolean {
    if (r.status !== 200) throw this.errorOf(r, where)
    const j = this.json(r, where) as { boolean?: unknown }
    if (typeof j.boolean !== 'boolean')
      throw this.fail(where.op, where.path, r.status, 'BadResponse', `expected {"boolean":...}, got ${preview(r.body)}`)
    return j.boolean
  }

  errorOf(r: Response, where: Step): WebHdfsError {
    let remote: { exception?: string; javaClassName?: string; message?: string } | undefined
    try {
      remote = (JSON.parse(r.body.toString('utf8')) as { RemoteException?: typeof remote }).RemoteException
    } catch {
      remote = undefined
    }
    if (!remote) return this.notJson(r, where)
    const exception = remote.exception ?? remote.javaClassName?.split('.').pop() ?? `HTTP${r.status}`
    const message = firstLine(remote.message ?? '')
    return this.errorAt(where, {
      status: r.status,
      exception,
      javaClassName: remote.javaClassName,
      remoteMessage: message,
      retriable: isRetriableRemote(r.status, exception, remote.message ?? ''),
    })
  }

  notJson(r: Response, where: Step): WebHdfsError {
    const text = r.body.toString('utf8')
    if (text.includes('making an HTTP request to a Hadoop IPC port')) {
      return this.fail(
        where.op,
        where.path,
        r.status,
        'NotWebHdfs',
        `${where.datanode ?? this.namenode} is a Hadoop RPC port, not the WebHDFS HTTP port ` +
          `(dfs.namenode.http-address, default ${DEFAULT_WEBHDFS_PORT}); hdfs:// URLs given to tsf name the HTTP port`,
      )
    }
    return this.errorAt(where, {
      status: r.status,
      exception: r.status === 404 ? 'NotWebHdfs' : 'BadResponse',
      remoteMessage:
        r.status === 404
          ? `no WebHDFS here (is WebHDFS enabled, and is this the NameNode's HTTP address?): ${preview(r.body)}`
          : `unexpected answer: ${preview(r.body)}`,
      retriable: r.status >= 500,
    })
  }

  networkError(e: Error & { code?: string }, where: Step): WebHdfsError {
    const code = e.code ?? (e.message === 'socket hang up' ? 'ESocketHangUp' : 'ENetwork')
    const text = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ECONNRESET' ? 'connection reset' : e.message
    return this.errorAt(where, {
      exception: code,
      remoteMessage: text,
      retriable: NETWORK_RETRIABLE.has(code),
      cause: e,
    })
  }

  fail(op: string, path: string, status: number | undefined, exception: string, message: string): WebHdfsError {
    return this.errorAt({ op, path }, { status, exception, remoteMessage: message, retriable: false })
  }

  // The error of one step: which request, to which NameNode (and DataNode), then what came back.
  private errorAt(where: Step, what: Omit<WebHdfsErrorDetails, 'op' | 'path' | 'namenode' | 'datanode'>): WebHdfsError {
    return new WebHdfsError({ op: where.op, path: where.path, namenode: this.namenode, datanode: where.datanode, ...what })
  }
}

const firstLine = (s: string): string => s.split('\n', 1)[0]!.trim()

export const preview = (b: Buffer): string => {
  const s = b.toString('utf8').replace(/\s+/g, ' ').trim()
  return s.length > 200 ? `${s.slice(0, 200)}…` : s || '(empty body)'
}
