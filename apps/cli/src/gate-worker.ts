#!/usr/bin/env node
/**
 * A gate worker process: `pnpm gate` starts one per source tree (base and candidate) and asks it for samples over
 * stdin/stdout (packages/bench/src/gate/protocol.ts). Not a command to run by hand. It imports only the bench and
 * the engines, so nothing else loaded into the process slows what it measures.
 *
 *   node --conditions=@quantbench/source --import tsx apps/cli/src/gate-worker.ts --bf16 DIR [--fp8 DIR] --prompts FILE
 *
 * QUANTBENCH_GATE_SLOWDOWN (tests of the gate only): `NAME=FACTOR,...`, kernel cases made FACTOR times as long.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveGateWorker } from '@quantbench/bench';
import { parseSlowdowns } from '@quantbench/core';
import { ENGINE_NAMES, loadEngine } from '@quantbench/engines';

const { values } = parseArgs({ options: { bf16: { type: 'string' }, fp8: { type: 'string' }, prompts: { type: 'string' } } });
if (!values.bf16 || !values.prompts) {
  console.error('gate-worker: --bf16 DIR and --prompts FILE are required (this process is started by `pnpm gate`)');
  process.exit(2);
}
// stdout carries the protocol; whatever a library logs goes to stderr.
const write = process.stdout.write.bind(process.stdout);
console.log = console.error;
console.info = console.error;
await serveGateWorker({
  registry: { names: ENGINE_NAMES, load: loadEngine },
  input: process.stdin,
  write: (line) => void write(line),
  root: fileURLToPath(new URL('../../../', import.meta.url)),
  bf16Dir: values.bf16,
  ...(values.fp8 ? { fp8Dir: values.fp8 } : {}),
  promptsFile: values.prompts,
  slowdowns: parseSlowdowns(process.env.QUANTBENCH_GATE_SLOWDOWN ?? ''),
});
