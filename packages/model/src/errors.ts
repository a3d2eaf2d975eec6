/**
 * The error every model-file problem becomes: it names the file (and tensor, when there is one), says what was
 * expected and what was found, and how to fix it.
 */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly options: { readonly tensor?: string; readonly fix?: string } = {},
  ) {
    const where = options.tensor ? `${file}: tensor '${options.tensor}'` : file;
    super(`${where}: ${problem}${options.fix ? `. Fix: ${options.fix}` : ''}`);
    this.name = 'ModelFileError';
  }
}
