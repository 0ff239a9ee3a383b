import { setFlagsFromString } from 'node:v8'

// V8 grows the young generation (new space) from 2 MB to 32 MB as a busy process allocates: a
// streaming stage then holds up to 30 MB of short-lived garbage it never needed, the largest part
// of its peak RSS after the modules themselves. Its maximum is fixed when node starts, but the
// growth factor is read each time V8 would grow it: 1 keeps the young generation at its start
// size. A stage keeps little alive between batches, so the extra scavenges cost little CPU.
export const keepYoungGenerationSmall = (): void => {
  setFlagsFromString('--semi-space-growth-factor=1')
}
