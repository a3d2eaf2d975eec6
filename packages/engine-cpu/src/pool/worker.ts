/** A pool thread: waits for a job in the shared control array, runs its slice, reports done. */
import { parentPort, workerData } from 'node:worker_threads';
import { Op, Participant, type SharedState, Slot } from './jobs.js';

const { state, index, count } = workerData as { state: SharedState; index: number; count: number };
const participant = new Participant(state, index, count);
const control = new Int32Array(state.control);
let seen = Atomics.load(control, Slot.generation);
parentPort?.postMessage({ ready: true });

for (;;) {
  Atomics.wait(control, Slot.generation, seen);
  const generation = Atomics.load(control, Slot.generation);
  if (generation === seen) continue;
  seen = generation;
  if (Atomics.load(control, Slot.op) === Op.stop) break;
  try {
    participant.runSlice();
  } catch (error) {
    Atomics.store(control, Slot.failed, 1);
    parentPort?.postMessage({ error: String(error) });
  }
  Atomics.add(control, Slot.done, 1);
  Atomics.notify(control, Slot.done);
}
