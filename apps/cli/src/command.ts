import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

/** A subcommand: its options are parsed by node:util, then validated by a zod schema into typed input. */
export interface Command<Schema extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly summary: string;
  /** Usage lines and option descriptions shown by `--help`. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly schema: Schema;
  run(input: z.infer<Schema>): Promise<void>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function defineCommand<Schema extends z.ZodType>(command: Command<Schema>): Command<Schema> {
  return command;
}

/** Parses argv for one command; every problem becomes a UsageError that says what to type instead. */
export function parseCommandArgs<Schema extends z.ZodType>(command: Command<Schema>, argv: string[]): z.infer<Schema> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options: command.options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message}`);
  }
  const parsed = command.schema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const option = issue.path.length > 0 ? `--${String(issue.path[0])}` : 'arguments';
      return `${option}: ${issue.message}`;
    });
    throw new UsageError(`${command.name}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * `a,b,c` → a validated list of enum values, empty parts dropped, duplicates removed, order kept. `invalid` replaces
 * the error for a value outside `values`; `missing` is the error when a required list is not given.
 */
export function enumList<T extends string>(values: readonly T[], messages: { invalid?: string; missing?: string } = {}) {
  return z
    .string(messages.missing ? { error: messages.missing } : undefined)
    .transform((text) => [...new Set(text.split(',').map((part) => part.trim()).filter(Boolean))])
    .pipe(
      z
        .array(z.enum(values as [T, ...T[]], { error: messages.invalid ?? `expected a comma-separated list of ${values.join(', ')}` }))
        .min(1, `expected at least one of ${values.join(', ')}`),
    );
}

/** `--ids 1,2,3`-style integer lists. */
export const intList = z
  .string()
  .regex(/^\s*-?\d+(\s*,\s*-?\d+)*\s*$/, 'expected comma-separated integers, e.g. 1,2,3')
  .transform((text) => text.split(',').map((part) => Number.parseInt(part, 10)));

/** `--thinking on|off`. */
export const onOff = z.enum(['on', 'off']).transform((value) => value === 'on');
