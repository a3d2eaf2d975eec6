/** Shared by the bulk converters (not re-exported): a short destination would silently drop values. */
export function checkDestination(srcLength: number, dstLength: number): void {
  if (dstLength < srcLength) throw new RangeError(`destination holds ${dstLength} values, source has ${srcLength}`);
}
