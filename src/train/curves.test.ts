import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { drawCurves } from './curves';
import { figure } from './draw-curves';

const tmp = mkdtempSync(join(tmpdir(), 'rl-curves-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('training curves (Figure 6 style)', () => {
  it('draws a dashed training and a bold test polyline per run, points placed by epoch and error', () => {
    const svg = drawCurves([
      { title: 'plain', runs: [{ name: 'plain20', epochs: [1, 2, 3], trainError: [0.5, 0.3, 0.2], testError: [0.4, 0.3, 0.25] }] },
      { title: 'residual', runs: [{ name: 'resnet20', epochs: [1, 2], trainError: [0.4, 0.1], testError: [0.3, 0.12] }] },
    ], 'caption & more');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="840"/);
    assert.match(svg, /caption &amp; more/);
    const lines = [...svg.matchAll(/<polyline class="(train|test)" data-run="([^"]+)" points="([^"]+)"[^>]*stroke-width="([\d.]+)"/g)];
    assert.deepEqual(lines.map((m) => `${m[1]} ${m[2]} ${m[3]!.split(' ').length}`), ['train plain20 3', 'test plain20 3', 'train resnet20 2', 'test resnet20 2']);
    assert.ok(lines.every((m) => (m[1] === 'test') === (Number(m[4]) > 2)), 'test lines are the bold ones');
    // Error axis points up and SVG's y down: as plain20's test error drops, its points' y grows.
    const ys = lines[1]![3]!.split(' ').map((p) => Number(p.split(',')[1]));
    assert.ok(ys[0]! < ys[1]! && ys[1]! < ys[2]!, `test error curve y: ${ys}`);
    assert.match(svg, /plain20: 25.0% test, 20.0% train/);
  });

  it('reads training logs from a run directory and names what it found', () => {
    const log = { recipe: { epochs: 2, batch: 128, lr: 0.1 }, history: [{ epoch: 1, trainError: 0.3, testError: 0.2 }, { epoch: 2, trainError: 0.2, testError: 0.15 }] };
    writeFileSync(join(tmp, 'resnet56.log.json'), JSON.stringify(log));
    writeFileSync(join(tmp, 'plain56.json'), JSON.stringify(log));
    const { svg, found } = figure(tmp);
    assert.deepEqual(found.sort(), ['plain56', 'resnet56']);
    assert.equal([...svg.matchAll(/<polyline/g)].length, 4);
    assert.throws(() => figure(join(tmp, 'none')), /no training logs of plain20, plain56, resnet20, resnet56/);
  });
});
