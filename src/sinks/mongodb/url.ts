import { UsageError } from '../../core/errors.js'

// mongodb://[user:password@]host[:port][,host...]/DATABASE/COLLECTION[?options] — ship's MongoDB
// destination. DATABASE and COLLECTION are templates: literal text and %{header} escapes, with
// %{header:-default} for events without that header (Flume's "dynamic" model). The options
// (tls, tlsCAFile, authSource, replicaSet, ...) go to the driver untouched.

export type TemplatePart = { text: string } | { header: string; fallback?: string }

export interface NameTemplate {
  parts: TemplatePart[]
  // the name when the template has no escape
  fixed?: string
}

export interface MongoUrl {
  // the driver's connection string: hosts and options, no path (credentials default to authSource=admin)
  connection: string
  database: NameTemplate
  collection: NameTemplate
  // as the user wrote it, the password hidden, for messages
  name: string
}

// MongoDB's rules: a database name is 1-63 bytes without / \ . " $ space or NUL; a collection name
// is non-empty, has no $ or NUL, does not start with "system.", and ns "db.coll" stays under 255 bytes.
// A name as messages show it: as it is, or JSON-quoted when it holds controls (one line, always).
export const shown = (name: string): string => (/[\x00-\x1f\x7f\u2028\u2029']/.test(name) ? JSON.stringify(name) : `'${name}'`)

export const databaseProblem = (name: string): string | undefined => {
  if (name === '') return 'an empty database name'
  if (Buffer.byteLength(name) > 63) return `database name ${shown(name)} is longer than 63 bytes`
  const bad = /[/\\. "$\0]/.exec(name)
  if (bad) return `database name ${shown(name)} holds ${shown(bad[0]!)} (not allowed: / \\ . " $ space)`
  return undefined
}

export const collectionProblem = (name: string): string | undefined => {
  if (name === '') return 'an empty collection name'
  if (/[$\0]/.test(name)) return `collection name ${shown(name)} holds '$' or NUL`
  if (name.startsWith('system.')) return `collection name ${shown(name)} is reserved (system.*)`
  if (name.startsWith('.') || name.endsWith('.')) return `collection name ${shown(name)} starts or ends with '.'`
  if (Buffer.byteLength(name) > 200) return `collection name ${shown(name)} is longer than 200 bytes`
  return undefined
}

// MongoDB 4.4 and later: "db.coll" within 255 bytes
export const namespaceProblem = (db: string, coll: string): string | undefined => {
  const ns = `${db}.${coll}`
  return Buffer.byteLength(ns) > 255 ? `namespace ${shown(ns)} is longer than 255 bytes` : undefined
}

export const isMongoUrl = (text: string): boolean => /^mongodb(\+srv)?:\/\//i.test(text.trim())

// "%{db}", "logs_%{app:-web}", "events" → parts.
export const parseTemplate = (text: string, what: string, url: string): NameTemplate => {
  const parts: TemplatePart[] = []
  const re = /%\{([^}]*)\}/g
  let last = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parts.push({ text: text.slice(last, m.index) })
    const [header, fallback] = splitFallback(m[1]!)
    if (!/^[A-Za-z0-9_.-]+$/.test(header))
      throw new UsageError(`${url}: '%{${m[1]}}' in the ${what}: expected %{HEADER} or %{HEADER:-DEFAULT}`)
    parts.push(fallback === undefined ? { header } : { header, fallback })
    last = re.lastIndex
  }
  if (last < text.length) parts.push({ text: text.slice(last) })
  if (/%\{/.test(text.slice(last))) throw new UsageError(`${url}: unclosed '%{' in the ${what}`)
  const fixed = parts.every((p) => 'text' in p) ? text : undefined
  return fixed === undefined ? { parts } : { parts, fixed }
}

const splitFallback = (inner: string): [string, string | undefined] => {
  const at = inner.indexOf(':-')
  return at < 0 ? [inner, undefined] : [inner.slice(0, at), inner.slice(at + 2)]
}

// The name for an event's headers, or undefined naming the missing header.
export const expand = (template: NameTemplate, headers: Record<string, unknown> | undefined): { name: string } | { missing: string } => {
  if (template.fixed !== undefined) return { name: template.fixed }
  let name = ''
  for (const part of template.parts) {
    if ('text' in part) {
      name += part.text
      continue
    }
    const value = headers?.[part.header]
    if (typeof value === 'string' && value !== '') name += value
    else if (part.fallback !== undefined) name += part.fallback
    else return { missing: part.header }
  }
  return { name }
}

// The URL as messages show it: from the first ':' after the scheme to the last '@' is hidden, so no
// password shows however the URL is written (several user:password@, a raw '@', ':' or '/' in a
// password, a credential pasted into the options). A URL with one credential loses only it.
export const hideSecret = (url: string): string => {
  const start = /^mongodb(?:\+srv)?:\/\//i.exec(url)?.[0].length ?? 0
  const at = url.lastIndexOf('@')
  const colon = url.indexOf(':', start)
  return colon !== -1 && colon < at ? `${url.slice(0, colon)}:***${url.slice(at)}` : url
}

export const parseMongoUrl = (text: string): MongoUrl => {
  const raw = text.trim()
  const name = hideSecret(raw)
  const m = /^(mongodb(?:\+srv)?):\/\/(?:([^@/]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(raw)
  if (!m)
    throw new UsageError(`destination '${name}': expected mongodb://[USER:PASSWORD@]HOST[:PORT][,HOST...]/DATABASE/COLLECTION[?OPTIONS]`)
  const [, scheme, userinfo, hostList, path = '', query] = m
  const hosts = hostList!.split(',').filter((h) => h !== '')
  if (hosts.length === 0) throw new UsageError(`${name}: no host before the database`)
  for (const h of hosts) {
    const hm = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(h)
    if (!hm || (hm[1] !== undefined && (Number(hm[1]) < 1 || Number(hm[1]) > 65535))) {
      // a raw '@', ':' or '/' in a password splits it into the hosts: such a "host" is not quoted
      if (name !== raw && raw.indexOf(h) < raw.lastIndexOf('@'))
        throw new UsageError(`${name}: no host after the user and password (an '@', ':' or '/' in them is written %40, %3A, %2F)`)
      throw new UsageError(`${name}: '${h}' is not a host (expected HOST or HOST:PORT)`)
    }
    if (scheme!.toLowerCase() === 'mongodb+srv' && (hosts.length > 1 || hm[1] !== undefined))
      throw new UsageError(`${name}: mongodb+srv:// takes one host name without a port`)
  }
  const segments = path.replace(/\/$/, '').split('/')
  if (segments.length !== 2 || !segments[0] || !segments[1])
    throw new UsageError(`${name}: expected /DATABASE/COLLECTION after the hosts (each may use %{header})`)
  const database = parseTemplate(segments[0], 'database', name)
  const collection = parseTemplate(segments[1], 'collection', name)
  const problem =
    (database.fixed !== undefined && databaseProblem(database.fixed)) ||
    (collection.fixed !== undefined && collectionProblem(collection.fixed)) ||
    (database.fixed !== undefined && collection.fixed !== undefined && namespaceProblem(database.fixed, collection.fixed))
  if (problem) throw new UsageError(`${name}: ${problem}`)
  const connection = `${scheme}://${userinfo !== undefined ? `${userinfo}@` : ''}${hosts.join(',')}/${query ? `?${query}` : ''}`
  return { connection, database, collection, name }
}
