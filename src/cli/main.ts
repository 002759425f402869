// The `resnet` command: the same sessions and preprocessing as the app, from a terminal. This file only
// dispatches: each command is a file of its own in ./commands (add one there and list it below), and
// every failure is turned into an exit code here, by type: the user's mistakes (UserError and its
// subclasses: bad arguments, files, models, images, data) print one line and exit 1; anything else is a
// bug and exits 2.
import { ModelError } from '../engine/compile';
import { UserError } from '../errors';
import { printable } from '../format';
import type { CliIO, Command } from './command';
import { bench } from './commands/bench';
import { classify } from './commands/classify';
import { evalCommand } from './commands/eval';
import { exportCommand } from './commands/export';
import { importCommand } from './commands/import';
import { info } from './commands/info';
import { models } from './commands/models';
import { run } from './commands/run';
import { train } from './commands/train';

/** In `resnet --help` order. */
const COMMANDS: readonly Command[] = [models, info, exportCommand, importCommand, run, classify, bench, train, evalCommand];

const USAGE = `usage: resnet <command> [options]\n\n${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}\n`;

const defaultIO: CliIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** 1 for the user's mistakes, 2 for bugs. The engine's ModelError (a model it cannot run) is the user's too. */
function exitCodeOf(e: unknown): 1 | 2 {
  return e instanceof UserError || e instanceof ModelError ? 1 : 2;
}

/** Runs one command; returns the exit code. Known failures print one line, never a stack trace. */
export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`resnet: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    return 1;
  }
  try {
    await command.run(rest, io);
    return 0;
  } catch (e) {
    const code = exitCodeOf(e);
    const message = printable(e instanceof Error ? e.message : String(e));
    io.err(code === 1 ? `resnet ${name}: ${message}` : `resnet ${name}: internal error: ${message}`);
    return code;
  }
}
