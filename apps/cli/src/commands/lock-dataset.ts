import { lockManifest, TASK_NAMES } from '@quantbench/evals';
import { z } from 'zod';
import { defineCommand, enumList } from '../command.js';

export const lockDatasetCommand = defineCommand({
  name: 'lock-dataset',
  summary: 'pin a dataset manifest: record the Hub commit and every file\'s sha256 and size (or verify a pinned one)',
  help: `Usage: pnpm quantbench lock-dataset --task <${TASK_NAMES.join('|')}>[,...] [--fixtures] [--dry-run]

Downloads (or finds in the Hugging Face cache) every file the manifest datasets/<task>.json lists, reads and checks
every row and the row count, then records the resolved commit and each file's sha256 and size in the manifest
(rewritten atomically; review the diff). A value already pinned is verified, never replaced: a mismatch is an error.
On a pinned manifest this is a full verification that writes nothing. HF_TOKEN for gated sets (GPQA-Diamond).

Options:
  --task LIST   tasks to lock, comma-separated
  --fixtures    the offline fixture manifests under datasets/fixtures/ instead
  --dry-run     verify and report, but do not rewrite the manifest`,
  options: {
    task: { type: 'string' },
    fixtures: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  schema: z.object({
    task: enumList(TASK_NAMES, { invalid: `expected tasks among ${TASK_NAMES.join(', ')}`, missing: 'required: the tasks to lock' }),
    fixtures: z.boolean().default(false),
    'dry-run': z.boolean().default(false),
  }),
  async run(input) {
    for (const task of input.task) {
      const result = await lockManifest(task, { fixtures: input.fixtures, dryRun: input['dry-run'] });
      const what = result.changed ? (input['dry-run'] ? 'would pin' : 'pinned') : 'verified';
      console.log(`${task}: ${what} ${result.manifest} at ${result.revision ?? '(local files)'}`);
    }
  },
});
