// The benchmark's flags, its table, and one real (tiny) run of wasm against ORT-web on resnet20.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BenchRow, formatBenchTable, runBench } from './bench';
import { formatLoadTable, runLoadBench } from './load';
import { benchMain, parseBenchArgs } from './main';

test('bench flags: defaults, lists, and refusals that name the flag', () => {
  const d = parseBenchArgs([]);
  assert.deepEqual(d.models, ['resnet18', 'resnet50', 'resnet20', 'resnet56']);
  assert.deepEqual(d.threads, [1, 2]);
  assert.equal(d.batch, 1);
  const a = parseBenchArgs(['--models', 'resnet20, resnet56', '--engines', 'wasm', '--threads', '2', '--batch', '32', '--json', '--no-relaxed']);
  assert.deepEqual(a.models, ['resnet20', 'resnet56']);
  assert.deepEqual(a.engines, ['wasm']);
  assert.deepEqual(a.threads, [2]);
  assert.equal(a.batch, 32);
  assert.equal(a.json, true);
  assert.equal(a.relaxedSimd, false);
  assert.throws(() => parseBenchArgs(['--batch', '0']), /--batch/);
  assert.throws(() => parseBenchArgs(['--threads', '1,x']), /--threads/);
  assert.throws(() => parseBenchArgs(['--frobnicate']), /--frobnicate/);
  assert.throws(() => parseBenchArgs(['--models']), /--models <value>' argument missing/);
});

test('the table has one line per row and shows the ratio to ORT', () => {
  const row = (engine: BenchRow['engine'], ms: number, vsOrt: number | null): BenchRow => ({
    model: 'resnet20', engine, threads: 2, batch: 1, ms, msMin: ms, msMax: ms, runs: 3, imagesPerSec: 1000 / ms,
    gflops: 0.082 / ms, macsPerImage: 41e6, vsOrt, diffVsOrt: vsOrt === null ? null : 1e-7,
  });
  const text = formatBenchTable([row('wasm', 2.5, 0.25), row('ort-wasm', 10, null)]);
  const lines = text.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /resnet20 .*wasm .* 2\.5 .* 0\.25x/);
  assert.match(lines[3]!, /ort-wasm .* 10\.0 /);
});

test('a real run: wasm and ORT-web agree on resnet20 and both report timings', async () => {
  const rows = await runBench({ models: ['resnet20'], engines: ['wasm', 'ort-wasm'], threads: [1], batch: 2, runs: 2, warmup: 1 });
  assert.equal(rows.length, 2);
  const wasm = rows.find((r) => r.engine === 'wasm')!;
  const ort = rows.find((r) => r.engine === 'ort-wasm')!;
  for (const r of rows) {
    assert.equal(r.runs, 2);
    assert.ok(r.ms > 0 && r.msMin <= r.ms && r.ms <= r.msMax, `${r.engine} timings ${r.msMin} ${r.ms} ${r.msMax}`);
    assert.ok(Math.abs(r.gflops - (2 * r.macsPerImage * 2) / (r.ms * 1e6)) < 1e-9);
  }
  assert.ok(wasm.macsPerImage > 40e6 && wasm.macsPerImage < 42e6, `resnet20 MACs ${wasm.macsPerImage}`);
  assert.ok(wasm.vsOrt !== null && Math.abs(wasm.vsOrt - wasm.ms / ort.ms) < 1e-9);
  assert.ok(wasm.diffVsOrt !== null && wasm.diffVsOrt < 1e-4, `wasm vs ORT relative difference ${wasm.diffVsOrt}`);
  await assert.rejects(runBench({ models: ['resnet20'], engines: ['tensorflow'], threads: [1], batch: 1 }), /unknown engine 'tensorflow'/);
});

test('the load table: parse, compile, pack + start and first run times and the peak memory of loading a model file', async () => {
  assert.equal(parseBenchArgs([]).load, true);
  assert.equal(parseBenchArgs(['--no-load']).load, false);
  const rows = await runLoadBench({ models: ['resnet20'], threads: [2], isolate: false });
  assert.equal(rows.length, 1);
  const r = rows[0]!;
  assert.equal(r.model, 'resnet20');
  assert.ok(r.fileBytes > 1e6 && r.fileBytes < 1.2e6, `file ${r.fileBytes} bytes`);
  for (const ms of [r.parseMs, r.compileMs, r.packMs, r.firstRunMs]) assert.ok(ms >= 0 && ms < r.totalMs + 1e-9, `phase ${ms} ms of ${r.totalMs}`);
  assert.ok(Math.abs(r.parseMs + r.compileMs + r.packMs + r.firstRunMs - r.totalMs) < 1e-6);
  assert.ok(r.peakRssBytes > 20 * 2 ** 20, `peak RSS ${r.peakRssBytes}`);
  const lines = formatLoadTable(rows).split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /parse ms .* compile ms .* pack\+start ms .* first run ms .* load total ms .* peak RSS MB/);
  assert.match(lines[2]!, new RegExp(`resnet20 .* wasm .* 2 .* 1\\.0 .* ${r.totalMs.toFixed(0)} .* ${(r.peakRssBytes / 2 ** 20).toFixed(1)}`));
});

test('resnet bench prints the load table after its timing table', async () => {
  const out: string[] = [];
  await benchMain(['--models', 'resnet20', '--engines', 'wasm', '--threads', '1', '--runs', '1', '--warmup', '0', '--no-memory'], (s) => out.push(s));
  const text = out.join('\n');
  assert.match(text, /load, from an ONNX file as `resnet classify` reads it \(one image: 1 thread\), wasm engine, in this process/);
  assert.match(text, /\| resnet20 \| wasm +\| +1 \| +1\.0 \| +\d+ \| +\d+ \| +\d+ \| +\d+ \| +\d+ \| +\d+\.\d\* \|/);
});
