// tsf's own fields (src, seq, pos, cont, truncated and any other) travel through Flume as headers
// named tsf.<field>: Flume keeps headers it does not know, so a tsf collector behind a Flume hop
// gets them back as fields and can still deduplicate by src/seq.
export const HEADER_PREFIX = 'tsf.'
