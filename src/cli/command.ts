// What a `resnet` subcommand is: a name, its usage line and a function of its arguments. Commands live in
// src/cli/commands/, one a file; src/cli/main.ts lists them.

export interface CliIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export interface Command {
  readonly name: string;
  /** The command's line in `resnet --help`, without the leading 'resnet '. */
  readonly usage: string;
  run(argv: readonly string[], io: CliIO): Promise<void>;
}
