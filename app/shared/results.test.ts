import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agreement, argmax, csvField, formatMs, median, medianRunIndex, shouldRunAgain, toCsv } from './results';

describe('timing', () => {
  it('the median run: the middle one by time, the faster of two middles', () => {
    assert.equal(medianRunIndex([9, 1, 4]), 2);
    assert.equal(medianRunIndex([7, 2, 5, 3]), 3);
    assert.equal(medianRunIndex([4]), 0);
    assert.throws(() => medianRunIndex([]));
  });

  it('median of odd and even counts', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), /empty/);
  });
  it('runs at least once, more while under budget, never over maxRuns', () => {
    assert.equal(shouldRunAgain([], 5, 100), true);
    assert.equal(shouldRunAgain([10, 10], 5, 100), true);
    assert.equal(shouldRunAgain([10, 10, 10, 10, 10], 5, 1000), false);
    assert.equal(shouldRunAgain([60], 5, 100), false, 'a second 60 ms run would pass the 100 ms budget');
  });
});

describe('agreement', () => {
  const labels = ['a', 'b', 'c'];
  const top = (index: number) => ({ index, label: labels[index]!, probability: 0.5 });
  it('agree / disagree on the same label set', () => {
    assert.equal(agreement({ top1: top(1), labels, classes: 3 }, { top1: top(1), labels, classes: 3 }), 'agree');
    assert.equal(agreement({ top1: top(1), labels, classes: 3 }, { top1: top(2), labels, classes: 3 }), 'disagree');
  });
  it('not comparable across different classes or names', () => {
    assert.equal(agreement({ top1: top(1), labels, classes: 3 }, { top1: top(1), labels: [], classes: 1000 }), 'n/a');
    assert.equal(agreement({ top1: top(1), labels, classes: 3 }, { top1: top(1), labels: ['x', 'y', 'z'], classes: 3 }), 'n/a');
  });
  it('argmax takes the first of ties', () => assert.equal(argmax(Float32Array.of(1, 3, 3, 2)), 1));
});

describe('CSV', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    assert.equal(csvField('T-shirt/top'), 'T-shirt/top');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
  });
  it('defuses spreadsheet formulas in text', () => {
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('@cmd'), "'@cmd");
    assert.equal(csvField(-1.5), '-1.5', 'numbers stay numbers');
  });
  it('empty cells for missing values, CRLF rows', () => {
    assert.equal(toCsv(['x', 'y'], [[1, undefined], [null, true]]), 'x,y\r\n1,\r\n,true\r\n');
    assert.equal(csvField(Number.NaN), '');
  });
});

describe('formatting', () => {
  it('milliseconds', () => {
    assert.equal(formatMs(0.523), '0.52 ms');
    assert.equal(formatMs(24.93), '24.9 ms');
    assert.equal(formatMs(2204), '2.20 s');
  });
});
