// The one argument parser of the `resnet` command and its subcommands (node:util's parseArgs), the
// option checkers they share, and the error type for bad usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors';

/** A user mistake on the command line: printed as one line on stderr, exit code 1, no stack trace. */
export class CliError extends UserError {
  override name = 'CliError';
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[], options: T,
): { values: OptionValues; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: r.values as OptionValues, positionals: r.positionals };
  } catch (e) {
    throw new CliError((e as Error).message.split('\n')[0]!);
  }
}

export function intOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}, got '${String(v)}'`);
  return n;
}

/** A number in (min, max]. */
export function floatOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || x <= min || x > max) throw new CliError(`--${name} must be a number above ${min} and at most ${max}, got '${String(v)}'`);
  return x;
}

export function choice<T extends string>(v: unknown, name: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new CliError(`--${name} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  return v as T;
}

/** A comma-separated list ('a, b,c'), empty items dropped. */
export function listOption(v: unknown, dflt: readonly string[]): string[] {
  if (v === undefined) return [...dflt];
  return String(v).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A comma-separated list of integers, each from min to max. */
export function intListOption(v: unknown, name: string, min: number, max: number, dflt: readonly number[]): number[] {
  if (v === undefined) return [...dflt];
  const items = listOption(v, []);
  if (items.length === 0) throw new CliError(`--${name} needs at least one integer`);
  return items.map((item) => {
    const n = Number(item);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be integers from ${min} to ${max}, got '${item}'`);
    return n;
  });
}
