#!/usr/bin/env node
/** `pnpm quantbench <command> [options]`: argument parsing and printing only; the work is in the packages. */
import { type Command, parseCommandArgs, UsageError } from './command.js';
import { benchCommand } from './commands/bench.js';
import { compareCommand } from './commands/compare.js';
import { evalCommand } from './commands/eval.js';
import { gateCommand } from './commands/gate.js';
import { generateCommand } from './commands/generate.js';
import { lockDatasetCommand } from './commands/lock-dataset.js';
import { logitsCommand } from './commands/logits.js';
import { promptCommand } from './commands/prompt.js';
import { synthCommand } from './commands/synth.js';

const COMMANDS: readonly Command[] = [synthCommand, promptCommand, logitsCommand, generateCommand, compareCommand, evalCommand, lockDatasetCommand, benchCommand, gateCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `quantbench: what FP8 costs and buys, measured.\n\nUsage: pnpm quantbench <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'pnpm quantbench <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    console.error(`quantbench: unknown command '${name}'.\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    await command.run(parseCommandArgs(command, rest));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`quantbench ${error.message}\nRun 'pnpm quantbench ${command.name} --help' for usage.`);
      return 2;
    }
    console.error(`quantbench ${command.name}: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.QUANTBENCH_DEBUG) console.error(error);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
