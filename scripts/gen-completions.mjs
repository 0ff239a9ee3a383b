#!/usr/bin/env node
// Writes completions/{tsf.bash,_tsf,tsf.fish} from the built CLI (run `npm run build` first).
import { writeFileSync } from 'node:fs'
import { makeProgram } from '../dist/cli.js'
import { render } from './completions.mjs'

for (const [file, text] of Object.entries(render(await makeProgram()))) {
  writeFileSync(new URL(`../completions/${file}`, import.meta.url), text)
  process.stderr.write(`wrote completions/${file}\n`)
}
