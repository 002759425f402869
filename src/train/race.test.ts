// trainTogether: a race's nets step in turn or side by side (step s of each before step s + 1 of any), each
// is evaluated at every epoch's end, a run resumed further joins at its own next epoch, one progress line per
// net; shareThreads: which threads each net of a race gets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RaceRun, shareThreads, TrainingCancelled, trainTogether } from './trainer';

function fakeRun(model: string, calls: string[], start = 0): RaceRun {
  return {
    model, recipe: { epochs: 2 }, stepsPerEpoch: 3, start, secondsPerStep: 0.5,
    beginEpoch: (e) => calls.push(`${model} begin ${e}`),
    step: async (e, s) => {
      calls.push(`${model} step ${e}.${s}`);
    },
    progress: (e, s, eta, prefix = '') => `${prefix}epoch ${e + 1} step ${s + 1} ETA ${eta}`,
    secondsLeft: (e, s) => ((2 - e) * 3 - s - 1) * 0.5,
    endEpoch: async (e) => {
      calls.push(`${model} end ${e}`);
    },
  };
}

describe('racing two nets', () => {
  it('interleaves them step by step, evaluates both at each epoch end, with one progress line per net', async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    await trainTogether([fakeRun('resnet20', calls), fakeRun('plain20', calls)], (l) => lines.push(l));
    const expected: string[] = [];
    for (const e of [0, 1]) {
      expected.push(`resnet20 begin ${e}`, `plain20 begin ${e}`);
      for (const s of [0, 1, 2]) expected.push(`resnet20 step ${e}.${s}`, `plain20 step ${e}.${s}`);
      expected.push(`resnet20 end ${e}`, `plain20 end ${e}`);
    }
    assert.deepEqual(calls, expected);
    // The last step of each epoch logs both nets, names aligned, with the race's ETA (both nets' steps left).
    assert.deepEqual(lines.slice(0, 2), ['resnet20  epoch 1 step 3 ETA epoch 0s, run 3s', 'plain20   epoch 1 step 3 ETA epoch 0s, run 3s']);
  });

  it('a run resumed further joins at its own next epoch', async () => {
    const calls: string[] = [];
    await trainTogether([fakeRun('resnet20', calls, 1), fakeRun('plain20', calls, 0)], () => {});
    assert.equal(calls.filter((c) => c.startsWith('resnet20 step 0')).length, 0);
    assert.equal(calls.filter((c) => c.startsWith('plain20 step 0')).length, 3);
    assert.deepEqual(calls.filter((c) => c.includes('step 1.0')), ['resnet20 step 1.0', 'plain20 step 1.0']);
  });

  it('stops between two steps when its signal is aborted, saying which checkpoint is kept', async () => {
    const calls: string[] = [];
    const ac = new AbortController();
    const run = fakeRun('resnet20', calls);
    const step = run.step;
    const stopping: RaceRun = { ...run, step: async (e, s) => {
      await step(e, s);
      if (e === 1 && s === 1) ac.abort();
    } };
    await assert.rejects(trainTogether([stopping], () => {}, ac.signal), (e: Error) => e instanceof TrainingCancelled &&
      /cancelled at epoch 2, step 3: the checkpoint of epoch 1 is kept/.test(e.message));
    assert.equal(calls.at(-1), 'resnet20 step 1.1');
  });

  it("side by side, both nets step s at once (both begun before either ends), and the ETA is the slower net's", async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    const slow = (run: RaceRun): RaceRun => ({ ...run, step: async (e, s) => {
      calls.push(`${run.model} start ${e}.${s}`);
      await new Promise((r) => setTimeout(r, 5));
      calls.push(`${run.model} done ${e}.${s}`);
    } });
    await trainTogether([slow(fakeRun('resnet20', calls)), slow(fakeRun('plain20', calls))], (l) => lines.push(l), undefined, true);
    const step0 = calls.filter((c) => c.endsWith(' 0.0'));
    assert.deepEqual(step0, ['resnet20 start 0.0', 'plain20 start 0.0', 'resnet20 done 0.0', 'plain20 done 0.0']);
    assert.ok(calls.indexOf('plain20 done 0.0') < calls.indexOf('resnet20 start 0.1'), 'step 1 waits for both nets\' step 0');
    assert.deepEqual(lines.slice(0, 2), ['resnet20  epoch 1 step 3 ETA epoch 0s, run 1s', 'plain20   epoch 1 step 3 ETA epoch 0s, run 1s']);
  });

  it('shares threads: a race on 2+ threads side by side (the first net in workers), else all threads each in turn', () => {
    assert.deepEqual(shareThreads(2, 2), [{ count: 1, inThisThread: false }, { count: 1, inThisThread: true }]);
    assert.deepEqual(shareThreads(5, 2), [{ count: 2, inThisThread: false }, { count: 3, inThisThread: true }]);
    assert.deepEqual(shareThreads(1, 2), [{ count: 1, inThisThread: true }, { count: 1, inThisThread: true }]);
    assert.deepEqual(shareThreads(4, 1), [{ count: 4, inThisThread: true }]);
  });
});
