// `resnet train` and `resnet eval` end to end on real images (the committed slice stands in for both
// splits): a short run writes its checkpoint, logs, ONNX and sidecar; eval reads the model back on both
// engines and agrees with the trainer's own test accuracy; user mistakes get one clear UserError (exit 1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
import { type COLOURS, colourModel, colourOf, writeColourImage } from '../../testing/colour-model';
import type { CliIO } from '../command';
import { classify } from './classify';
import { evalCommand } from './eval';
import { train } from './train';

const SLICE = join(import.meta.dirname, '../../testdata/fashion-mnist');
const FIXTURE = join(import.meta.dirname, '../../testdata/shapes');
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

describe('resnet train --data FOLDER', () => {
  const messy = join(tmp, 'shapes-messy');
  const race = join(tmp, 'race');
  before(() => {
    // The committed fixture plus the mess real folders have: a text file, a truncated JPEG, a hidden file, an empty class.
    cpSync(FIXTURE, messy, { recursive: true });
    writeFileSync(join(messy, 'train', 'disc', 'notes.txt'), 'not an image');
    writeFileSync(join(messy, 'train', 'ring', 'cut.jpg'), readFileSync(join(FIXTURE, 'train', 'ring', 'ring-0000.jpg')).subarray(0, 300));
    writeFileSync(join(messy, 'train', 'ring', '.DS_Store'), 'x');
    mkdirSync(join(messy, 'train', 'empty'));
  });

  it('--race trains resnet20 and plain20 in turn on a messy folder, skipping and reporting the bad files', async () => {
    const c = capture();
    await cmdTrain(['--model', 'resnet20', '--race', '--data', messy, '--out', race, '--epochs', '2', '--batch', '16', '--threads', '1'], c.io);
    const log = c.err.join('\n');
    assert.match(log, /shapes-messy: 4 classes, 48 training images \(disc 12, ring 12, square 12, triangle 12\); validation: val\/ \(16 images\)/);
    assert.match(log, /decoded in [\d.]+ s to 3x32x32 \(RGB\): 0\.2 MB in memory/);
    assert.match(log, /skipped 1 file: not images \(train\/disc\/notes\.txt\)/);
    assert.match(log, /skipped 1 file: corrupt or truncated images \(train\/ring\/cut\.jpg\)/);
    assert.match(log, /skipped 1 file: hidden or system files/);
    assert.match(log, /skipped 1 class folders without a usable image \(classes left out\): train\/empty/);
    assert.match(log, /^estimated time: \S+ \(resnet20 [\d.]+ s a step of 16, plain20 [\d.]+ s a step of 16; measured on 2 steps\)$/m);
    assert.match(log, /learning rate 0\.1 decayed to 0 along a cosine, after a linear warm-up over the first 3 steps/);
    // One progress line per net, the two in turn.
    const progress = c.err.filter((l) => /^(resnet20|plain20) +epoch 2\/2 +step 3\/3 /.test(l));
    assert.deepEqual(progress.map((l) => l.split(' ')[0]), ['resnet20', 'plain20']);
    assert.match(log, /^resnet20: validation accuracy [\d.]+% \(\d+\/16\)$/m);
    assert.match(log, /^ +most confident mistakes:$/m);
    for (const m of ['resnet20', 'plain20']) {
      for (const f of ['checkpoint.bin', `${m}.onnx`, `${m}.json`, `${m}.log.csv`, `${m}.log.json`]) assert.ok(existsSync(join(race, m, f)), `${m}/${f} missing`);
      const side = parseSidecar(JSON.parse(readFileSync(join(race, m, `${m}.json`), 'utf8')));
      assert.deepEqual(side.input, [3, 32, 32]);
      assert.deepEqual(side.labels, ['disc', 'ring', 'square', 'triangle']);
      assert.equal(side.mean.length, 3);
      assert.equal(side.recipe.schedule, 'cosine');
      assert.deepEqual(side.recipe.augment, { pad: 4, flip: true, jitter: 0.1 });
      assert.equal(side.recipe.dataset, 'shapes-messy');
      assert.equal(side.history.length, 2);
      const v = side.validation!;
      assert.equal(v.images, 16);
      assert.equal(v.confusion.flat().reduce((a, b) => a + b, 0), 16);
      assert.equal(v.perClass.length, 4);
      assert.equal(v.accuracy, 1 - side.history[1]!.testError);
    }
  });

  it('the exported models classify images and eval on the folder gives the sidecar\'s numbers', async () => {
    const onnx = join(race, 'resnet20', 'resnet20.onnx');
    const c = capture();
    await classify.run([join(FIXTURE, 'val', 'ring', 'ring-0000.jpg'), '--model', onnx, '--json', '--threads', '1'], c.io);
    const [r] = JSON.parse(c.out.join('\n')) as { model: string; top: { label: string }[] }[];
    assert.equal(r!.model, 'resnet20');
    assert.deepEqual(r!.top.map((t) => t.label).sort(), ['disc', 'ring', 'square', 'triangle']);
    const side = parseSidecar(JSON.parse(readFileSync(join(race, 'resnet20', 'resnet20.json'), 'utf8')));
    const e = capture();
    await cmdEval(['--model', onnx, '--data', messy, '--json', '--threads', '1'], e.io);
    const ev = JSON.parse(e.out.join('\n')) as EvalReport;
    assert.equal(ev.images, 16);
    assert.equal(ev.accuracy, side.validation!.accuracy);
    assert.deepEqual(ev.confusion, side.validation!.confusion);
    assert.deepEqual(ev.perClass, side.validation!.perClass);
  });

  it('--race on 2 threads runs the nets side by side, each trained exactly as alone on one thread', async () => {
    const c = capture();
    const side = join(tmp, 'side-by-side');
    await cmdTrain(['--model', 'resnet20', '--race', '--data', FIXTURE, '--out', side, '--epochs', '2', '--batch', '16', '--threads', '2'], c.io);
    assert.match(c.err.join('\n'), /^estimated time: \S+ \(resnet20 and plain20 side by side [\d.]+ s a step of 16; measured on 2 steps\)$/m);
    for (const m of ['resnet20', 'plain20']) {
      const alone = join(tmp, `${m}-alone`);
      await cmdTrain(['--model', m, '--data', FIXTURE, '--out', alone, '--epochs', '2', '--batch', '16', '--threads', '1'], capture().io);
      const raced = parseSidecar(JSON.parse(readFileSync(join(side, m, `${m}.json`), 'utf8')));
      const single = parseSidecar(JSON.parse(readFileSync(join(alone, `${m}.json`), 'utf8')));
      // Batch norm over the whole batch of 16 in both: the same training losses to the last bit, epoch by
      // epoch (a worker thread evaluates the first net: its validation losses differ in the 7th digit).
      assert.deepEqual(raced.history.map((h) => [h.trainLoss, h.threads]), single.history.map((h) => [h.trainLoss, 1]), m);
      raced.history.forEach((h, i) => {
        const want = single.history[i]!.testLoss;
        assert.ok(Math.abs(h.testLoss - want) <= 1e-6 * want, `${m} epoch ${i + 1}: validation loss ${h.testLoss} vs ${want}`);
      });
      assert.deepEqual(raced.validation!.confusion, single.validation!.confusion, m);
    }
  });

  it('--gray trains on 28x28 grayscale; --pad, --no-flip and --jitter 0 switch augmentation', async () => {
    const out2 = join(tmp, 'gray');
    const c = capture();
    await cmdTrain(['--model', 'plain20', '--gray', '--data', FIXTURE, '--out', out2, '--epochs', '1', '--batch', '16', '--threads', '1', '--pad', '2', '--no-flip', '--jitter', '0'], c.io);
    const side = parseSidecar(JSON.parse(readFileSync(join(out2, 'plain20.json'), 'utf8')));
    assert.deepEqual(side.input, [1, 28, 28]);
    assert.equal(side.mean.length, 1);
    assert.deepEqual(side.recipe.augment, { pad: 2, flip: false });
    assert.match(c.err.join('\n'), /decoded in [\d.]+ s to 1x28x28 \(grayscale\)/);
  });

  it('refuses bad folder options in one line', async () => {
    const c = capture().io;
    const o = join(tmp, 'y');
    await rejectsCli(cmdTrain(['--model', 'resnet18', '--race', '--data', FIXTURE, '--out', o], c), /CIFAR-style nets/);
    await rejectsCli(cmdTrain(['--from', 'resnet20', '--race', '--data', FIXTURE, '--out', o], c), /--race and --from do not go together/);
    await rejectsCli(cmdTrain(['--from', 'resnet20', '--data', data, '--out', o], c), /--from needs --data DIR, a folder of class subfolders/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--jitter', '2', '--data', FIXTURE, '--out', o], c), /--jitter must be a number from 0 to 0\.9/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--size', '128', '--data', FIXTURE, '--out', o], c), /--size must be an integer from 8 to 64/);
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--batch', '64', '--data', FIXTURE, '--out', o], c), /--batch 64 is larger than the 48 training images/);
    const one = join(tmp, 'one-class');
    cpSync(join(FIXTURE, 'train', 'disc'), join(one, 'disc'), { recursive: true });
    await rejectsCli(cmdTrain(['--model', 'resnet20', '--data', one, '--out', o], c), /only one class \('disc'\) has usable images; a classifier needs at least 2/);
  });
});

describe('resnet eval --data FOLDER', () => {
  const model = join(tmp, 'colours.onnx');
  const folder = join(tmp, 'colour-folder');
  before(async () => {
    writeFileSync(model, colourModel());
    // red/: three red images and a green one; green/: two green; blue/: two blue and a red one.
    const put = async (dir: string, colour: (typeof COLOURS)[number], i: number): Promise<void> => writeColourImage(join(folder, dir, `${colour}${i}.png`), colourOf(colour, i));
    for (const i of [0, 1, 2]) await put('red', 'red', i);
    await put('red', 'green', 9);
    for (const i of [0, 1]) await put('green', 'green', i);
    for (const i of [0, 1]) await put('blue', 'blue', i);
    await put('blue', 'red', 8);
  });

  it('accuracy, perClass and confusion as worked out by hand (the model\'s class order)', async () => {
    const c = capture();
    await cmdEval(['--model', model, '--data', folder, '--json', '--threads', '1'], c.io);
    const r = JSON.parse(c.out.join('\n')) as EvalReport;
    assert.equal(r.images, 9);
    assert.equal(r.correct, 7);
    assert.equal(r.accuracy, 7 / 9);
    assert.deepEqual(r.labels, ['red', 'green', 'blue']);
    assert.deepEqual(r.confusion, [[3, 1, 0], [0, 2, 0], [1, 0, 2]]);
    assert.deepEqual(r.perClass.map((p) => [p.label, p.images, p.precision, p.recall]), [
      ['red', 4, 3 / 4, 3 / 4], ['green', 2, 2 / 3, 1], ['blue', 3, 1, 2 / 3],
    ]);
    assert.deepEqual(r.mistakes.map((m) => [m.image, m.trueClass, m.predicted]).sort(), [
      [join('blue', 'red8.png'), 'blue', 'red'], [join('red', 'green9.png'), 'red', 'green'],
    ]);
    const t = capture();
    await cmdEval(['--model', model, '--data', folder, '--threads', '1'], t.io);
    assert.match(t.out[0]!, /^colours on wasm: accuracy 77\.78% \(7\/9 colour-folder \(all images\) images\)/);
    assert.match(t.out.join('\n'), /^green +2 +66\.7% +100\.0%$/m);
    assert.match(t.out.at(-1)!, /^blue +1 +0 +2 +2$/);
  });

  it('a folder with fewer classes than the model: the rest count as (other); unknown class folders are refused', async () => {
    const two = join(tmp, 'two-colours');
    cpSync(join(folder, 'red'), join(two, 'red'), { recursive: true });
    cpSync(join(folder, 'green'), join(two, 'green'), { recursive: true });
    await writeColourImage(join(two, 'green', 'blue5.png'), colourOf('blue', 5));
    const c = capture();
    await cmdEval(['--model', model, '--data', two, '--json', '--threads', '1'], c.io);
    const r = JSON.parse(c.out.join('\n')) as EvalReport;
    assert.deepEqual(r.labels, ['green', 'red', '(other)']);
    assert.deepEqual(r.confusion, [[2, 0, 1], [1, 3, 0], [0, 0, 0]]);
    const zebra = join(tmp, 'zebra');
    cpSync(join(folder, 'red'), join(zebra, 'zebra'), { recursive: true });
    cpSync(join(folder, 'red'), join(zebra, 'red'), { recursive: true });
    await rejectsCli(cmdEval(['--model', model, '--data', zebra], capture().io), /class folder 'zebra' is not one of model colours's classes \(red, green, blue\)/);
  });
});
