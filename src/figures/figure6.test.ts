import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { curveRun, type CurveRun, figure6, niceStep } from './figure6';
import { figure6Svg } from './figure6-svg';

const run = (id: string, train: number[], test: number[]): CurveRun =>
  curveRun(id, train.map((t, i) => ({ epoch: i + 1, trainError: t, testError: test[i]! })))!;

describe('Figure 6 model', () => {
  const fig = figure6([
    run('resnet56', [0.4, 0.1], [0.3, 0.12]),
    run('plain56', [0.5, 0.3, 0.2], [0.4, 0.3, 0.25]),
    run('plain20', [0.45, 0.25, 0.15], [0.35, 0.25, 0.2]),
  ]);

  it('puts plain nets left and ResNets right, shallowest first, a test then a training line per run', () => {
    assert.deepEqual(fig.panels.map((p) => [p.title, ...p.lines.map((l) => `${l.run} ${l.kind} ${l.depthIndex} ${l.x.length}`)]), [
      ['Plain networks', 'plain20 test 0 3', 'plain20 train 0 3', 'plain56 test 1 3', 'plain56 train 1 3'],
      ['ResNets', 'resnet56 test 1 2', 'resnet56 train 1 2'],
    ]);
    assert.deepEqual(fig.depths, [20, 56]);
    assert.deepEqual(fig.panels[0]!.lines[0]!.y.map((v) => Math.round(v)), [35, 25, 20], 'errors in percent');
    assert.deepEqual(fig.panels[1]!.finals, [{ run: 'resnet56', depthIndex: 1, test: 12, train: 10 }]);
  });

  it('shares one scale: x from 0 to the last epoch, y from 0 to a round value above every error', () => {
    assert.deepEqual(fig.x, { max: 3, ticks: [0, 1, 2, 3] });
    assert.deepEqual(fig.y, { max: 50, ticks: [0, 10, 20, 30, 40, 50] });
    assert.equal(niceStep(8.4), 10);
    assert.equal(niceStep(0.3), 0.5);
    assert.equal(niceStep(2.5, true), 5);
    assert.equal(niceStep(0.4, true), 1);
  });

  it('spans the x axis over a run still training when told its length', () => {
    assert.deepEqual(figure6([run('plain20', [0.5], [0.6])], { epochs: 15 }).x, { max: 16, ticks: [0, 2, 4, 6, 8, 10, 12, 14, 16] });
  });

  it('takes only plainN and resnetN runs with a history', () => {
    assert.equal(curveRun('mynet', [{ epoch: 1, trainError: 0.1, testError: 0.1 }]), null);
    assert.equal(curveRun('resnet20', []), null);
    assert.deepEqual(figure6([run('resnet20', [0.2], [0.3])]).panels.map((p) => p.family), ['residual']);
  });
});

describe('Figure 6 as SVG', () => {
  it('draws a bold test and a dashed training polyline per run, points placed by epoch and error', () => {
    const svg = figure6Svg(figure6([
      run('plain20', [0.5, 0.3, 0.2], [0.4, 0.3, 0.25]),
      run('resnet20', [0.4, 0.1], [0.3, 0.12]),
    ]), 'caption & more');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="840"/);
    assert.match(svg, /caption &amp; more/);
    const lines = [...svg.matchAll(/<polyline class="(train|test)" data-run="([^"]+)" points="([^"]+)"[^>]*stroke-width="([\d.]+)"/g)];
    assert.deepEqual(lines.map((m) => `${m[1]} ${m[2]} ${m[3]!.split(' ').length}`), ['test plain20 3', 'train plain20 3', 'test resnet20 2', 'train resnet20 2']);
    assert.ok(lines.every((m) => (m[1] === 'test') === (Number(m[4]) > 2)), 'test lines are the bold ones');
    // Error axis points up and SVG's y down: as plain20's test error drops, its points' y grows.
    const ys = lines[0]![3]!.split(' ').map((p) => Number(p.split(',')[1]));
    assert.ok(ys[0]! < ys[1]! && ys[1]! < ys[2]!, `test error curve y: ${ys}`);
    assert.match(svg, /plain20: 25.0% test, 20.0% train/);
  });
});
