/** Checks that `length` values fill a [rows, cols] matrix quantised in groups (or blocks) of `group`. */
export function checkQuantShape(length: number, rows: number, cols: number, group: number, groupName: 'group' | 'block'): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`bad shape [${rows}, ${cols}]`);
  }
  if (!Number.isInteger(group) || group <= 0) throw new RangeError(`bad ${groupName} size ${group}`);
  if (length !== rows * cols) throw new RangeError(`${length} values do not fill [${rows}, ${cols}]`);
}
