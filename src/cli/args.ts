// Argument parsing on node:util's parseArgs, with our one error type for bad usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A user mistake: printed as one line on stderr, exit code 1, no stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[], options: T,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
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

export function choice<T extends string>(v: unknown, name: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new CliError(`--${name} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  return v as T;
}
