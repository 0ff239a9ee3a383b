// W1-shaped events (body, ts, host, headers.file, src, seq, pos: what tail | ship send) made from the
// lines of a log text, in batches of about 900 KiB: the input of the collector A/B scripts
// (collect-ab.mjs sends them, render-ab.mjs renders them, check-ab.mjs checks them).
export const w1Batches = (text) => {
  const batches = []
  let parts = []
  let size = 0
  let pos = 0
  let seq = 0
  const cut = () => {
    batches.push({ payload: Buffer.from(parts.join(''), 'latin1'), count: parts.length })
    parts = []
    size = 0
  }
  for (let at = 0; at < text.length; ) {
    let nl = text.indexOf('\n', at)
    if (nl === -1) nl = text.length
    const line = text.slice(at, nl)
    pos = nl + 1
    at = nl + 1
    const event = `{"body":${JSON.stringify(line)},"ts":1796262910114,"host":"vm","headers":{"file":"/var/log/access.log"},"src":"traab_6MZBAS.dCvQbQLMW6jc","seq":${++seq},"pos":${pos}}\n`
    parts.push(event)
    size += event.length
    if (size >= 900 * 1024) cut()
  }
  if (parts.length) cut()
  return batches
}
