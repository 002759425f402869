// Runs `train` or `eval` straight from source, before (or besides) the bundled CLI:
//   node --import tsx src/train/main.ts train --model resnet20 --out DIR ...
//   node --import tsx src/train/main.ts eval --model models/resnet20.onnx
import { CliError } from '../cli/args';
import type { CliIO } from '../cli/main';
import { cmdEval, cmdTrain } from './cli';

const io: CliIO = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };
const [cmd, ...rest] = process.argv.slice(2);
try {
  if (cmd === 'train') await cmdTrain(rest, io);
  else if (cmd === 'eval') await cmdEval(rest, io);
  else throw new CliError(`usage: src/train/main.ts train|eval [options] (got '${cmd ?? ''}')`);
} catch (e) {
  if (!(e instanceof CliError)) throw e;
  io.err(`resnet ${cmd ?? ''}: ${e.message}`);
  process.exitCode = 1;
}
