/**
 * What `#node-model-files` resolves to in browser bundles (the `browser` condition): a directory path cannot be read
 * there, so passing a string to openCheckpoint & co. fails with a message that says what to pass instead.
 */
import type { ModelFiles } from './model-files.js';

export function nodeModelFiles(dir: string): ModelFiles {
  throw new Error(
    `cannot read the directory '${dir}': directory paths need Node's file system. In a browser pass a ModelFiles, e.g. httpModelFiles('${dir}') for files served over HTTP`,
  );
}
