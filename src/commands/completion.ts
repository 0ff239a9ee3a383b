import { Command } from '../core/commander.js'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { UsageError } from '../core/errors.js'

const files: Record<string, string> = { bash: 'tsf.bash', zsh: '_tsf', fish: 'tsf.fish' }

// Prints the completion script kept in completions/ (generated from the commander definitions by
// scripts/gen-completions.mjs; test/docs.test.ts keeps them in sync).
export const makeCompletionCommand = (): Command =>
  new Command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      '\nExamples:\n  tsf completion bash > /etc/bash_completion.d/tsf\n  tsf completion zsh > "${fpath[1]}/_tsf"\n  tsf completion fish > ~/.config/fish/completions/tsf.fish',
    )
    .action((shell: string) => {
      const file = files[shell]
      if (!file) throw new UsageError(`completion: expected bash, zsh or fish, got '${shell}'`)
      const path = fileURLToPath(new URL(`../../completions/${file}`, import.meta.url))
      process.stdout.write(readFileSync(path, 'utf8'))
    })
