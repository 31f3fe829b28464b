import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectQueryParams } from '../../../gateway/pipeline/2-resolve/query-params.ts';

const code = (c: string) => (e: unknown) => (e as { code: string }).code === c;

test('listed parameters are decoded as a form query; absent ones are null; others are ignored', () => {
  assert.deepEqual(selectQueryParams('?vendor=ACME%20Corp&page=2&status=a+b', ['vendor', 'status', 'since']), {
    vendor: 'ACME Corp',
    status: 'a b',
    since: null,
  });
  assert.deepEqual(selectQueryParams('', ['vendor']), { vendor: null });
  assert.deepEqual(selectQueryParams('?vendor&x=1', ['vendor']), { vendor: '' });
  assert.deepEqual(selectQueryParams('?vendor=&&', ['vendor']), { vendor: '' });
  assert.deepEqual(selectQueryParams('?vendor=X', []), {});
  assert.deepEqual(selectQueryParams('?vendor=%C3%A9%2B', ['vendor']), { vendor: 'é+' });
});

test('a listed parameter twice is refused, however its name is spelled', () => {
  assert.throws(() => selectQueryParams('?vendor=X&vendor=Y', ['vendor']), code('MANDATE_QUERY_PARAM_REPEATED'));
  assert.throws(() => selectQueryParams('?vendor=X&vend%6Fr=Y', ['vendor']), code('MANDATE_QUERY_PARAM_REPEATED'));
  assert.throws(() => selectQueryParams('?vendor=X&vendor', ['vendor']), code('MANDATE_QUERY_PARAM_REPEATED'));
  assert.doesNotThrow(() => selectQueryParams('?tag=a&tag=b&vendor=X', ['vendor']), 'unlisted ones may repeat');
});

test('a value that is not UTF-8 once decoded is refused, never replaced by U+FFFD', () => {
  assert.throws(() => selectQueryParams('?vendor=%FF', ['vendor']), code('MANDATE_QUERY_PARAM_MALFORMED'));
  assert.throws(() => selectQueryParams('?vendor=%C3', ['vendor']), code('MANDATE_QUERY_PARAM_MALFORMED'));
});
