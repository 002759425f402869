// Per-class precision and recall, the confusion matrix and the worst mistakes, checked by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { perClassScores, ReportBuilder, reportLines } from './metrics';

describe('class report', () => {
  it('matches a confusion worked out by hand', () => {
    const labels = ['a', 'b', 'c'];
    const b = new ReportBuilder(labels, 2);
    const one = (k: number, p = 0.9): number[] => labels.map((_, i) => (i === k ? Math.log(p) : Math.log((1 - p) / 2)));
    // true a: predicted a, a, b; true b: b, c; true c: c, a, c, c, b.
    const cases: [number, number, number][] = [[0, 0, 0.9], [0, 0, 0.9], [0, 1, 0.6], [1, 1, 0.9], [1, 2, 0.8], [2, 2, 0.9], [2, 0, 0.7], [2, 2, 0.9], [2, 2, 0.9], [2, 1, 0.5]];
    cases.forEach(([t, p, conf], i) => b.add(t, one(p, conf), `img${i}`));
    const r = b.report();
    assert.deepEqual(r.confusion, [[2, 1, 0], [0, 1, 1], [1, 1, 3]]);
    assert.equal(r.images, 10);
    assert.equal(r.correct, 6);
    assert.equal(r.accuracy, 0.6);
    const close = (x: number, y: number): void => assert.ok(Math.abs(x - y) < 1e-12, `${x} vs ${y}`);
    const [pa, pb, pc] = r.perClass;
    // precision: a 2/(2+0+1), b 1/(1+1+1), c 3/(0+1+3); recall: a 2/3, b 1/2, c 3/5.
    close(pa!.precision, 2 / 3);
    close(pb!.precision, 1 / 3);
    close(pc!.precision, 3 / 4);
    close(pa!.recall, 2 / 3);
    close(pb!.recall, 1 / 2);
    close(pc!.recall, 3 / 5);
    assert.deepEqual(r.perClass.map((c) => [c.images, c.predicted]), [[3, 3], [2, 3], [5, 4]]);
    // The two most confident mistakes: b predicted c at 0.8, c predicted a at 0.7.
    assert.deepEqual(r.mistakes.map((m) => [m.image, m.trueClass, m.predicted]), [['img4', 'b', 'c'], ['img6', 'c', 'a']]);
    close(r.mistakes[0]!.confidence, 0.8);
    const text = reportLines(r).join('\n');
    assert.match(text, /^b +2 +33\.3% +50\.0%$/m);
    assert.match(text, /^c +1 +1 +3 +2$/m);
    assert.match(text, /img4: b, predicted c \(80\.0%\)/);
  });

  it('a class never predicted has precision 0, a class without images recall 0', () => {
    const s = perClassScores([[2, 0], [0, 0]], ['x', 'y']);
    assert.deepEqual(s.map((c) => [c.precision, c.recall]), [[1, 1], [0, 0]]);
  });
});
