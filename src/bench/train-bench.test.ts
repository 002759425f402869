// `resnet bench --train`: its flags, its table, a real (tiny) run and the phase profile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchMain } from './main';
import { formatStepSplit, formatTrainBenchTable, parseTrainBenchArgs, profileTrainStep, runTrainBench } from './train-bench';

test('train bench flags: defaults, lists, shapes, and refusals that name the flag', () => {
  const d = parseTrainBenchArgs(['--train']);
  assert.deepEqual(d.models, ['resnet20', 'resnet56']);
  assert.deepEqual(d.shapes, [[1, 28], [3, 32]]);
  assert.deepEqual(d.threads, [1, 2]);
  assert.equal(d.batch, 128);
  const a = parseTrainBenchArgs(['--train', '--models', 'resnet20', '--shapes', '3x32x32', '--threads', '2', '--batch', '16', '--runs', '3', '--json', '--profile']);
  assert.deepEqual(a.models, ['resnet20']);
  assert.deepEqual(a.shapes, [[3, 32]]);
  assert.deepEqual(a.threads, [2]);
  assert.equal(a.batch, 16);
  assert.equal(a.runs, 3);
  assert.equal(a.json, true);
  assert.equal(a.profile, true);
  assert.throws(() => parseTrainBenchArgs(['--shapes', '3x32x30']), /--shapes/);
  assert.throws(() => parseTrainBenchArgs(['--threads', '0']), /--threads/);
  assert.throws(() => parseTrainBenchArgs(['--batch', '1']), /--batch/);
  assert.throws(() => parseTrainBenchArgs(['--engines', 'wasm']), /unknown option '--engines' for --train/);
});

test('a real run: every cell has timings, and the table one line per cell', async () => {
  const args = parseTrainBenchArgs(['--models', 'resnet20', '--shapes', '1x8x8,3x8x8', '--threads', '1,2', '--batch', '4', '--runs', '2', '--warmup', '1']);
  const rows = await runTrainBench(args);
  assert.equal(rows.length, 4);
  for (const r of rows) {
    assert.equal(r.steps, 2);
    assert.ok(r.ms > 0 && r.msMin <= r.ms && r.ms <= r.msMax, `${r.shape} x${r.threads}: ${r.msMin} ${r.ms} ${r.msMax}`);
    assert.ok(Math.abs(r.imagesPerSec - 4000 / r.ms) < 1e-9);
    // Each step lasts its slowest shard plus the rest: the split's medians sit inside the step's range.
    assert.ok(r.fastShardMs > 0 && r.fastShardMs <= r.slowShardMs && r.slowShardMs <= r.msMax && r.restMs >= 0, `${r.shape} x${r.threads}: ${JSON.stringify(r)}`);
    if (r.threads === 1) assert.equal(r.slowShardMs, r.fastShardMs);
  }
  const split = formatStepSplit(rows).split('\n');
  assert.equal(split.length, 1 + rows.length);
  assert.match(split[1]!, /^ {2}resnet20 1x8x8 x1: the one shard [\d.]+ ms, rest [\d.]+ ms$/);
  assert.match(split[2]!, /^ {2}resnet20 1x8x8 x2: slowest shard [\d.]+ ms, fastest [\d.]+ ms, rest [\d.]+ ms$/);
  assert.deepEqual(rows.map((r) => `${r.shape} x${r.threads}`), ['1x8x8 x1', '1x8x8 x2', '3x8x8 x1', '3x8x8 x2']);
  const lines = formatTrainBenchTable(rows).split('\n');
  assert.equal(lines.length, 6);
  assert.match(lines[2]!, /^\| resnet20 \| 1x8x8 +\| +4 \| +1 \|/);
  await assert.rejects(runTrainBench({ ...args, models: ['resnet50'] }), /CIFAR-style/);
});

test('the profile names the passes of the convs and adds up to the step', () => {
  const p = profileTrainStep('resnet20', 1, 12, 4, 2, 1);
  const names = p.phases.map((q) => q.phase);
  for (const phase of ['conv forward (Winograd F4)', 'conv backward data (Winograd F4)', 'conv weight gradient (Winograd F4)', 'conv forward (im2col + GEMM)', 'bn forward', 'bn backward']) {
    assert.ok(names.includes(phase), `${phase} in ${names.join(', ')}`);
  }
  assert.ok(!names.includes('relu forward') && !names.includes('add forward'), 'ReLUs and residual adds are fused into batch norm');
  assert.ok(p.totalMs > 0);
  // By layer: resnet20's three stages at 12x12 (16 channels), 6x6 (32) and 3x3 (64), then the head, in
  // network order; the option-A shortcut's subsampled 16x6x6 and 32x3x3 before their zero channels.
  assert.deepEqual(p.layers.map((l) => l.layer), ['16x12x12', '32x6x6', '16x6x6', '64x3x3', '32x3x3', '64x1x1', '10x1x1']);
  for (const stage of [p.layers[0]!, p.layers[1]!, p.layers[3]!]) assert.ok(stage.ms > 0, `${stage.layer} took time`);
});

test('resnet bench --train goes to the training bench', async () => {
  const out: string[] = [];
  await benchMain(['--train', '--models', 'resnet20', '--shapes', '1x8x8', '--threads', '1', '--batch', '2', '--runs', '1', '--warmup', '0', '--json'], (s) => out.push(s));
  const parsed = JSON.parse(out.join('\n')) as { rows: { model: string; batch: number }[] };
  assert.equal(parsed.rows.length, 1);
  assert.equal(parsed.rows[0]!.batch, 2);
});
