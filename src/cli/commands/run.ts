// `resnet run`: a .npy tensor through a model.
import { topK } from '../../engine/classify';
import { loadModel } from '../../engine/session';
import { MAX_NPY_BYTES, NpyError, parseNpy, serializeNpy } from '../../npy';
import { readRegularFile } from '../../read-file';
import { writeUserFile } from '../../write-file';
import type { Tensor } from '../../../kernels/core/tensor';
import { CliError, choice, intOption, parse } from '../args';
import type { Command } from '../command';
import { CLI_ENGINES, DEFAULT_ENGINE, defaultThreads, untrainedNote } from '../engines';
import { modelBytes } from '../models';

export const run: Command = {
  name: 'run',
  usage: `run MODEL --input X.npy [--engine ${CLI_ENGINES.join('|')}] [--out Y.npy] [--threads N]`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      input: { type: 'string' }, engine: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' }, top: { type: 'string' },
    });
    if (positionals.length !== 1) throw new CliError('run takes one model: resnet run MODEL.onnx --input X.npy');
    if (typeof values['input'] !== 'string') throw new CliError('run needs --input X.npy');
    const engine = choice(values['engine'], 'engine', CLI_ENGINES, DEFAULT_ENGINE);
    const threads = intOption(values['threads'], 'threads', 1, 64, defaultThreads());
    const top = intOption(values['top'], 'top', 1, 1000, 5);
    const x = readNpy(values['input']);
    const session = await loadModel(modelBytes(positionals[0]!), { engine, threads });
    try {
      untrainedNote(session.info, io);
      checkInputShape(x, session.info.inputShape);
      const r = await session.run(x);
      io.out(`output [${r.output.shape.join(',')}] in ${r.ms.toFixed(1)} ms on ${engine}`);
      r.outputs.slice(1).forEach((o, i) => io.out(`output ${i + 2} '${session.info.outputs[i + 1]!.name}' [${o.shape.join(',')}]${typeof values['out'] === 'string' ? ' (not written: --out takes the first output)' : ''}`));
      const rows = r.output.shape[0]!;
      const width = r.output.data.length / rows;
      for (let n = 0; n < rows; n++) {
        const best = topK(r.output, n, top, []).map((c) => `${c.index}: ${c.probability.toPrecision(6)}`);
        io.out(`  [${n}] top ${Math.min(top, width)}: ${best.join(', ')}`);
      }
      if (typeof values['out'] === 'string') {
        writeUserFile(values['out'], serializeNpy(r.output));
        io.out(`wrote ${values['out']}`);
      }
    } finally {
      await session.dispose();
    }
  },
};

function readNpy(path: string): Tensor {
  const bytes = readRegularFile(path, { maxBytes: MAX_NPY_BYTES });
  try {
    return parseNpy(bytes);
  } catch (e) {
    if (e instanceof NpyError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}

/** The session checks this too, with the same words; a user's tensor of the wrong shape is a CliError here. */
function checkInputShape(x: Tensor, want: readonly number[]): void {
  if (x.shape.length !== want.length + 1 || x.shape.slice(1).some((d, i) => d !== want[i])) {
    throw new CliError(`input has shape [${x.shape.join(',')}], the model expects [N,${want.join(',')}]`);
  }
}
