import { TsfError } from '../core/errors.js'

// What went wrong in a WebHDFS call, as one line naming the request, the NameNode (and DataNode)
// and what came back; and which failures are worth retrying (see webhdfs.ts's header comment).

export interface WebHdfsErrorDetails {
  op: string
  path: string
  namenode: string
  // HTTP status, or undefined when there was no HTTP response (connection refused, timeout)
  status?: number
  // RemoteException.exception ('FileNotFoundException'), a Node error code ('ECONNREFUSED'), or a
  // name tsf gives ('AppendLengthMismatch', 'TruncateTimeout', 'BadResponse', 'NotWebHdfs')
  exception: string
  javaClassName?: string
  // the first line of the server's message (Hadoop appends a Java stack to some)
  remoteMessage: string
  // where the failing request went, when it was a DataNode
  datanode?: string
  retriable: boolean
  cause?: unknown
}

export class WebHdfsError extends TsfError {
  readonly op: string
  readonly path: string
  readonly namenode: string
  readonly status: number | undefined
  readonly exception: string
  readonly javaClassName: string | undefined
  readonly remoteMessage: string
  readonly datanode: string | undefined
  readonly retriable: boolean
  // attempts made before giving up (set by the retry loop)
  attempts = 1

  constructor(d: WebHdfsErrorDetails) {
    const via = d.datanode ? ` via DataNode ${d.datanode}` : ''
    const code = d.status === undefined ? '' : ` (HTTP ${d.status})`
    super(
      `WebHDFS ${d.op} ${d.path} on NameNode ${d.namenode}${via}: ${d.exception}${code}: ${d.remoteMessage}`,
      d.cause === undefined ? {} : { cause: d.cause },
    )
    this.op = d.op
    this.path = d.path
    this.namenode = d.namenode
    this.status = d.status
    this.exception = d.exception
    this.javaClassName = d.javaClassName
    this.remoteMessage = d.remoteMessage
    this.datanode = d.datanode
    this.retriable = d.retriable
  }
}

Object.defineProperty(WebHdfsError.prototype, 'name', { value: 'WebHdfsError', enumerable: false })

const RETRIABLE_EXCEPTIONS = new Set([
  'SafeModeException',
  'RetriableException',
  'StandbyException',
  'ObserverRetryOnActiveException',
  'AlreadyBeingCreatedException',
  'RecoveryInProgressException',
  'LeaseExpiredException',
  'NotReplicatedYetException',
  'ConnectException',
  'NoRouteToHostException',
  'SocketTimeoutException',
  'ConnectTimeoutException',
  'EOFException',
  'SocketException',
  'ClosedChannelException',
])

const RETRIABLE_MESSAGES = [
  /could only be (?:written|replicated) to 0 of the \d+ minReplication nodes/,
  /Failed to find datanode/,
  /Server too busy/,
  /failed on connection exception/,
  /Connection refused/,
  /Connection reset/,
  /is in safe mode/i,
]

const NEVER_RETRIABLE = new Set([
  'FileNotFoundException',
  'AccessControlException',
  'FileAlreadyExistsException',
  'PathIsNotEmptyDirectoryException',
  'ParentNotDirectoryException',
  'IllegalArgumentException',
  'HadoopIllegalArgumentException',
  'UnsupportedOperationException',
  'InvalidPathException',
  'QuotaExceededException',
  'NSQuotaExceededException',
  'DSQuotaExceededException',
  'SecurityException',
])

export const NETWORK_RETRIABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERequestTimeout',
  'ESocketHangUp',
])

// Whether an error answer from the server is worth retrying (see the header comment).
export const isRetriableRemote = (status: number, exception: string, message: string): boolean => {
  if (NEVER_RETRIABLE.has(exception)) return false
  if (RETRIABLE_EXCEPTIONS.has(exception)) return true
  if (RETRIABLE_MESSAGES.some((re) => re.test(message))) return true
  if (status >= 500) return true
  return false
}

// Whether a failed attempt may still have been carried out by the server: its answer was lost
// (reset, timeout, hang-up) or was a 5xx; a refused connection or a RemoteException 4xx was not.
export const mayHaveHappened = (e: WebHdfsError | undefined): boolean =>
  e !== undefined && (e.status === undefined ? e.exception !== 'ECONNREFUSED' : e.status >= 500)

export const detailsOf = (e: WebHdfsError): WebHdfsErrorDetails => ({
  op: e.op,
  path: e.path,
  namenode: e.namenode,
  status: e.status,
  exception: e.exception,
  javaClassName: e.javaClassName,
  remoteMessage: e.remoteMessage,
  datanode: e.datanode,
  retriable: e.retriable,
})
