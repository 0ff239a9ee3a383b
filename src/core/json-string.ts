// JSON string literals without JSON.stringify on the hot path: most log lines need no escaping,
// and a regex test plus two concatenations is several times cheaper than the full serializer.
// Lone surrogates and every control character take the exact path (JSON.stringify).
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/

export const quote = (s: string): string => (needsEscape.test(s) ? JSON.stringify(s) : `"${s}"`)

// A headers object, pre-encoded once per stream: {"k":"v",...}
export const encodeHeaders = (headers: Record<string, string>): string => {
  let out = '{'
  let first = true
  for (const [k, v] of Object.entries(headers)) {
    out += `${first ? '' : ','}${quote(k)}:${quote(String(v))}`
    first = false
  }
  return `${out}}`
}
