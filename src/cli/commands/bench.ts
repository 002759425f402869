// `resnet bench`: the benchmark (src/bench), its flags parsed there with the CLI's parser.
import { benchMain } from '../../bench/main';
import type { Command } from '../command';

export const bench: Command = {
  name: 'bench',
  usage: 'bench [--models resnet18,resnet50,resnet20,resnet56] [--engines ts,wasm,ort-wasm] [--threads 1,2] [--batch N] [--json]\n  bench --train [--models resnet20,resnet56] [--threads 1,2] [--json]   training images/s',
  async run(argv, io) {
    await benchMain(argv, io.out);
  },
};
