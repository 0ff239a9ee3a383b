// The writes ship can make of an event (--op, or the event's "op" header), in a module of its own
// so that option parsing does not load the MongoDB driver.
export type Op = 'insert' | 'upsert' | 'replace'
export const OPS: readonly Op[] = ['insert', 'upsert', 'replace']
