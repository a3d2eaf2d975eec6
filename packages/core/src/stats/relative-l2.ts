/** ‖test − reference‖₂ / ‖reference‖₂, summed in float64 (0 when both are zero, Infinity when only the reference is). */
export function relativeL2(test: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (test.length !== reference.length) throw new RangeError(`relativeL2: lengths differ (${test.length} and ${reference.length})`);
  let error = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    error += (test[i]! - reference[i]!) ** 2;
    norm += reference[i]! ** 2;
  }
  if (norm === 0) return error === 0 ? 0 : Infinity;
  return Math.sqrt(error / norm);
}
