import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isExactNumber } from '../../../gateway/pipeline/2-resolve/exact-number.ts';

const exact = (source: string) => isExactNumber(JSON.parse(source) as number, source);

test('numbers written within what a double holds are exact, however they are spelled', () => {
  for (const source of [
    '5000',
    '5000.00',
    '5e3',
    '5E+3',
    '0.1',
    '-12.50',
    '0',
    '-0',
    '0.000',
    '1e21',
    '1.5e-7',
    '9007199254740991',
  ]) {
    assert.equal(exact(source), true, source);
  }
});

test('numbers a double would round are not: the backend would book another amount than the policy saw', () => {
  for (const source of [
    '5000.0000000000001',
    '9007199254740993',
    '1e400',
    '-1e400',
    '1e-400',
    '0.10000000000000000001',
  ]) {
    assert.equal(exact(source), false, source);
  }
});
