import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatCount } from './format';

it('counts as the paper writes them', () => {
  assert.equal(formatCount(950), '950');
  assert.equal(formatCount(269_722), '269.7K');
  assert.equal(formatCount(11_689_512), '11.69M');
  assert.equal(formatCount(1_814_073_344), '1.81G');
});
