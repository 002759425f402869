import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { TrainingLog } from '../sidecar';
import { fixtureHistory, fixtureRecipe } from '../testing/sidecar';
import { figure } from './draw-curves';

const tmp = mkdtempSync(join(tmpdir(), 'rl-curves-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

it('reads training logs from a run directory and names what it found', () => {
  const log: TrainingLog = { recipe: fixtureRecipe('resnet56', 2), recipeText: 'the recipe', history: fixtureHistory([[0.3, 0.2], [0.2, 0.15]]) };
  writeFileSync(join(tmp, 'resnet56.log.json'), JSON.stringify(log));
  writeFileSync(join(tmp, 'plain56.json'), JSON.stringify(log));
  const { svg, found } = figure(tmp);
  assert.deepEqual(found.sort(), ['plain56', 'resnet56']);
  assert.equal([...svg.matchAll(/<polyline/g)].length, 4);
  assert.match(svg, /Fashion-MNIST, 2 epochs, batch 128, lr 0.1/);
  assert.throws(() => figure(join(tmp, 'none')), /no training logs of plain20, plain56, resnet20, resnet56/);
  writeFileSync(join(tmp, 'plain20.json'), JSON.stringify({ history: [{ epoch: 1 }] }));
  assert.throws(() => figure(tmp), /plain20\.json: recipe must be an object/);
});
