// `resnet train` and `resnet eval` end to end on real images (the committed slice stands in for both
// splits): a short run writes its checkpoint, logs, ONNX and sidecar; eval reads the model back on both
// engines and agrees with the trainer's own test accuracy; user mistakes get one clear UserError (exit 1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../errors';
import { parseMeta } from '../../model-meta';
import { parseOnnx } from '../../onnx/read';
import { encodeIdx, loadSplit } from '../../train/data';
import type { EvalReport } from '../../train/evaluate';
import { type EpochRecord, parseSidecar, type Recipe } from '../../sidecar';
import { decodeCheckpoint, encodeCheckpoint } from '../../train/checkpoint';
import type { CliIO } from '../command';
import { evalCommand } from './eval';
import { train } from './train';

const SLICE = join(import.meta.dirname, '../../testdata/fashion-mnist');
const cmdTrain = (argv: string[], io: CliIO): Promise<void> => train.run(argv, io);
const cmdEval = (argv: string[], io: CliIO): Promise<void> => evalCommand.run(argv, io);
const tmp = mkdtempSync(join(tmpdir(), 'rl-cli-'));
const data = join(tmp, 'data');
const out = join(tmp, 'run');
after(() => rmSync(tmp, { recursive: true, force: true }));

function capture(): { io: { out: (l: string) => void; err: (l: string) => void }; out: string[]; err: string[] } {
  const o: string[] = [];
  const e: string[] = [];
  return { io: { out: (l) => o.push(l), err: (l) => e.push(l) }, out: o, err: e };
}

async function rejectsCli(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

before(() => {
  // Training split: the slice's images 200..999; test split: the slice itself (read from the committed files).
  const s = loadSplit(SLICE, 't10k', 10);
  mkdirSync(data);
  writeFileSync(join(data, 'train-images-idx3-ubyte'), encodeIdx([800, 28, 28], s.images.subarray(200 * 784)));
  writeFileSync(join(data, 'train-labels-idx1-ubyte'), encodeIdx([800], s.labels.subarray(200)));
  copyFileSync(join(SLICE, 't10k-images-idx3-ubyte.gz'), join(data, 't10k-images-idx3-ubyte.gz'));
  copyFileSync(join(SLICE, 't10k-labels-idx1-ubyte.gz'), join(data, 't10k-labels-idx1-ubyte.gz'));
});


describe('resnet train', () => {
  it('trains resnet20 for one epoch on 64 images, writes checkpoint, logs, ONNX and sidecar', async () => {
    const c = capture();
    await cmdTrain(['--model', 'resnet20', '--data', data, '--out', out, '--epochs', '1', '--batch', '32', '--limit', '64', '--threads', '1'], c.io);
    for (const f of ['checkpoint.bin', 'resnet20.onnx', 'resnet20.json', 'resnet20.log.csv', 'resnet20.log.json']) assert.ok(existsSync(join(out, f)), `${f} missing`);
    assert.ok(c.err.some((l) => /^epoch 1\/1 +step 2\/2 .*loss [\d.]+ +accuracy [\d.]+% .*images\/s +ETA/.test(l)), c.err.join('\n'));
    const csv = readFileSync(join(out, 'resnet20.log.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'epoch,lr,train_loss,train_error,test_loss,test_error,seconds,images_per_second,threads');
    assert.equal(csv.length, 2);
    const side = parseSidecar(JSON.parse(readFileSync(join(out, 'resnet20.json'), 'utf8')));
    assert.equal(side.trained, true);
    assert.deepEqual(side.input, [1, 28, 28]);
    assert.equal(side.labels[9], 'Ankle boot');
    assert.ok(side.mean[0]! > 0.2 && side.mean[0]! < 0.4 && side.std[0]! > 0.25 && side.std[0]! < 0.45);
    assert.equal(side.recipe.epochs, 1);
    assert.equal(side.recipe.trainImages, 64);
    assert.match(side.training!.recipe, /momentum 0\.9, weight decay 0\.0001, batch 32.*divided by 10 at 50% and 75%/);
    const bytes = new Uint8Array(readFileSync(join(out, 'resnet20.onnx')));
    assert.equal(side.bytes, bytes.length);
    const meta = parseMeta(parseOnnx(bytes).metadata)!;
    assert.equal(meta.trained, true);
    assert.equal(meta.training!.testAccuracy, 1 - side.history[0]!.testError);
  });

  it('eval reads the exported model on every engine and matches the trainer\'s test accuracy', async () => {
    const side = parseSidecar(JSON.parse(readFileSync(join(out, 'resnet20.json'), 'utf8')));
    for (const engine of ['wasm', 'ts', 'ort-wasm']) {
      const c = capture();
      await cmdEval(['--model', join(out, 'resnet20.onnx'), '--data', data, '--engine', engine, '--limit', '64', '--json'], c.io);
      const r = JSON.parse(c.out.join('\n')) as EvalReport;
      assert.equal(r.images, 64);
      assert.ok(Math.abs(r.accuracy - side.training!.testAccuracy) <= 1 / 64 + 1e-9, `${engine}: ${r.accuracy} vs ${side.training!.testAccuracy}`);
      assert.equal(r.confusion.flat().reduce((a, b) => a + b, 0), 64);
      assert.equal(r.confusion.reduce((s, row, i) => s + row[i]!, 0), r.correct);
    }
    const c = capture();
    await cmdEval(['--model', join(out, 'resnet20.onnx'), '--data', data, '--limit', '20'], c.io);
    assert.match(c.out[0]!, /^resnet20 on wasm: accuracy [\d.]+% \(\d+\/20 Fashion-MNIST test images\)/);
    assert.match(c.out.at(-1)!, /^Ankle boot +(\d+ +){10}9$/);
  });

  it('resumes only with --resume and the same recipe', async () => {
    const c = capture();
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', data, '--out', out, '--epochs', '1', '--batch', '32', '--limit', '64'], c.io), /already holds a training checkpoint: add --resume/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', data, '--out', out, '--epochs', '1', '--batch', '16', '--limit', '64', '--resume'], c.io), /cannot resume .*batch is 32 in the checkpoint, 16 now/);
    // Nothing left to train: the same recipe just exports again.
    await cmdTrain(['--model', 'resnet20', '--data', data, '--out', out, '--epochs', '1', '--batch', '32', '--limit', '64', '--resume', '--threads', '1'], c.io);
    assert.ok(c.err.some((l) => /resuming after epoch 1/.test(l)));
  });

  it('--resume refuses a corrupted checkpoint, a FIFO or a link to /dev/zero with one line (no hang, no NaN model)', async () => {
    const c = capture();
    const args = (dir: string): string[] => ['--model', 'resnet20', '--data', data, '--out', dir, '--epochs', '1', '--batch', '32', '--limit', '64', '--resume', '--threads', '1'];
    const good = readFileSync(join(out, 'checkpoint.bin'));
    const runWith = (name: string, make: (p: string) => void): string => {
      const dir = join(tmp, name);
      mkdirSync(dir);
      make(join(dir, 'checkpoint.bin'));
      return dir;
    };
    const flipped = runWith('flipped', (p) => {
      const b = Uint8Array.from(good);
      for (let k = 1; k <= 20; k++) b[b.length - 4 * k * 97]! ^= 0x40;
      writeFileSync(p, b);
    });
    await rejectsCli(cmdTrain(args(flipped), c.io), /checkpoint\.bin: checksum mismatch/);
    const nan = runWith('nan', (p) => {
      const ck = decodeCheckpoint<Recipe, EpochRecord>(good, 'x');
      const params = Float32Array.from(ck.params);
      params.fill(NaN, 0, 100);
      writeFileSync(p, encodeCheckpoint({ ...ck, params }));
    });
    await rejectsCli(cmdTrain(args(nan), c.io), /100 of its \d+ params are not finite/);
    const fifo = runWith('fifo', (p) => execFileSync('mkfifo', [p]));
    await rejectsCli(cmdTrain(args(fifo), c.io), /checkpoint\.bin: not a regular file \(a FIFO/);
    const zero = runWith('zero', (p) => symlinkSync('/dev/zero', p));
    await rejectsCli(cmdTrain(args(zero), c.io), /checkpoint\.bin: not a regular file \(a character device\)/);
  });

  it('gives one clear error for missing or malformed data and bad options', async () => {
    const c = capture().io;
    const o = join(tmp, 'x');
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', join(tmp, 'missing'), '--out', o], c), /dataset directory .*missing does not exist/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', SLICE, '--out', o], c), /no Fashion-MNIST in .*train-images-idx3-ubyte/);
    const bad = join(tmp, 'bad');
    mkdirSync(bad);
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(bad, f), '<html>404</html>');
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', bad, '--out', o], c), /train-images-idx3-ubyte: not an IDX file/);
    await rejectsCli(cmdEval(['--model', join(out, 'resnet20.onnx'), '--data', bad], c), /t10k-images-idx3-ubyte: not an IDX file/);
    await rejectsCli(cmdTrain(['--data', data, '--out', o], c), /train needs --model NAME/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', data], c), /train needs --out DIR/);
    await rejectsCli(cmdTrain(['--model', 'resnet21', '--data', data, '--out', o], c), /unknown model 'resnet21'/);
    await rejectsCli(cmdTrain(['--model', 'resnet18', '--data', data, '--out', o], c), /CIFAR-style nets/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--shortcut', 'C', '--data', data, '--out', o], c), /--shortcut must be one of A, B/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--lr', '0', '--data', data, '--out', o], c), /--lr must be a number above 0/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--batch', '1', '--data', data, '--out', o], c), /--batch must be an integer from 2/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--bogus', '--data', data, '--out', o], c), /bogus/);
    await rejectsCli(cmdEval(['--data', data], c), /eval needs --model/);
    await rejectsCli(cmdEval(['--model', join(out, 'resnet20.onnx'), '--engine', 'gpu', '--data', data], c), /--engine must be one of wasm, ts, ort-wasm/);
  });
});
