import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorCode, MandateError } from '../../../gateway/errors.ts';
import { canonicalizeTarget } from '../../../gateway/pipeline/2-resolve/canonical-path.ts';

const AMBIGUOUS = 'MANDATE_PATH_AMBIGUOUS';
const MALFORMED = 'MANDATE_REQUEST_MALFORMED';

function codeOf(target: string): ErrorCode | 'accepted' {
  try {
    canonicalizeTarget(target);
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof MandateError, `not a MandateError: ${String(error)}`);
    return error.code;
  }
}

describe('canonicalizeTarget refuses every trick of STANDARDS §7.2', () => {
  const cases: [string, string, ErrorCode][] = [
    ['dot-dot segment', '/procurement/contracts/../contracts/1', AMBIGUOUS],
    ['dot segment', '/procurement/./contracts', AMBIGUOUS],
    ['leading dot segment', '/./procurement/contracts', AMBIGUOUS],
    ['final dot-dot', '/procurement/contracts/..', AMBIGUOUS],
    ['encoded dots', '/procurement/%2e%2e/admin', AMBIGUOUS],
    ['mixed-case encoded dots', '/procurement/%2E%2e/admin', AMBIGUOUS],
    ['half-encoded dots', '/procurement/.%2e/admin', AMBIGUOUS],
    ['encoded single dot', '/procurement/%2e/contracts', AMBIGUOUS],
    ['double-encoded dots', '/procurement/%252e%252e/admin', AMBIGUOUS],
    ['double-encoded slash', '/procurement%252Fcontracts', AMBIGUOUS],
    ['encoded slash', '/procurement%2Fcontracts', AMBIGUOUS],
    ['encoded slash, lower case', '/procurement%2fcontracts', AMBIGUOUS],
    ['encoded backslash', '/procurement%5Ccontracts', AMBIGUOUS],
    ['encoded backslash, lower case', '/procurement%5ccontracts', AMBIGUOUS],
    ['raw backslash', '/procurement\\contracts', AMBIGUOUS],
    ['leading backslash', '/\\procurement/contracts', AMBIGUOUS],
    ['leading double slash', '//procurement/contracts', AMBIGUOUS],
    ['inner double slash', '/procurement//contracts', AMBIGUOUS],
    ['matrix parameter', '/procurement/contracts;x=1', AMBIGUOUS],
    ['dot-dot-semicolon', '/procurement/..;/contracts', AMBIGUOUS],
    ['encoded semicolon', '/procurement/contracts%3B', AMBIGUOUS],
    ['encoded semicolon, lower case', '/procurement/contracts%3bx', AMBIGUOUS],
    ['encoded NUL', '/procurement/contracts%00.json', AMBIGUOUS],
    ['encoded line feed', '/procurement/contracts/%0a', AMBIGUOUS],
    ['encoded tab', '/procurement/contracts%09', AMBIGUOUS],
    ['encoded DEL', '/procurement/contracts%7F', AMBIGUOUS],
    ['raw space', '/procurement/contracts /x', AMBIGUOUS],
    ['raw tab', '/procurement/contracts\t', AMBIGUOUS],
    ['raw DEL', '/procurement/contracts\x7f', AMBIGUOUS],
    ['raw NUL', '/procurement/contracts\x00', AMBIGUOUS],
    ['fragment', '/procurement/contracts#frag', AMBIGUOUS],
    ['fragment hiding a path', '/admin#/procurement/contracts', AMBIGUOUS],
    ['encoded question mark', '/procurement/contracts%3F/x', AMBIGUOUS],
    ['encoded hash', '/procurement/contracts%23x', AMBIGUOUS],
    ['overlong UTF-8 slash', '/procurement%C0%AFcontracts', AMBIGUOUS],
    ['fullwidth solidus', '/procurement%EF%BC%8Fcontracts', AMBIGUOUS],
    ['any encoded non-ASCII byte', '/procurement/caf%C3%A9', AMBIGUOUS],
    ['IIS %u escape', '/procurement%u002fcontracts', AMBIGUOUS],
    ['truncated escape', '/procurement/contracts%2', AMBIGUOUS],
    ['lone percent', '/procurement/contracts%', AMBIGUOUS],
    ['non-hex escape', '/procurement/contracts%zz', AMBIGUOUS],
    ['escape cut by the query', '/procurement/contracts%2?x', AMBIGUOUS],
    ['raw non-ASCII (latin1 view of the bytes)', '/procurement/caf\u00c3\u00a9', AMBIGUOUS],
    ['raw fullwidth solidus', '/procurement\uff0fcontracts', AMBIGUOUS],
    ['raw double quote', '/procurement/"x"', AMBIGUOUS],
    ['raw angle brackets', '/procurement/<x>', AMBIGUOUS],
    ['raw braces (outside pchar)', '/procurement/{contract_id}', AMBIGUOUS],
    ['trailing slash', '/procurement/contracts/', AMBIGUOUS],
    ['trailing slash after one segment', '/procurement/', AMBIGUOUS],
    ['absolute form', 'http://evil/procurement/contracts', MALFORMED],
    ['opaque absolute form', 'http:http://internal/admin', MALFORMED],
    ['asterisk form', '*', MALFORMED],
    ['authority form', 'procurement.demo:443', MALFORMED],
    ['empty target', '', MALFORMED],
    ['fragment in the query', '/procurement/contracts?vendor=X#frag', MALFORMED],
    ['space in the query', '/procurement/contracts?vendor=X Y', MALFORMED],
    ['control in the query', '/procurement/contracts?vendor=X\n', MALFORMED],
    ['raw non-ASCII in the query', '/procurement/contracts?vendor=\u00e9', MALFORMED],
    ['malformed escape in the query', '/procurement/contracts?vendor=%zz', MALFORMED],
    ['truncated escape in the query', '/procurement/contracts?vendor=%4', MALFORMED],
  ];
  for (const [name, target, expected] of cases) {
    it(`${name}: ${JSON.stringify(target)} → ${expected}`, () => {
      assert.equal(codeOf(target), expected);
    });
  }
});

describe('canonicalizeTarget canonical form', () => {
  const cases: [string, string, { path: string; segments: string[]; query: string }][] = [
    ['root', '/', { path: '/', segments: [], query: '' }],
    ['root with query', '/?a=1', { path: '/', segments: [], query: '?a=1' }],
    [
      'plain path',
      '/procurement/contracts/12345',
      { path: '/procurement/contracts/12345', segments: ['procurement', 'contracts', '12345'], query: '' },
    ],
    [
      'encoded unreserved characters are decoded',
      '/procurement/contr%61cts/%31%32%33%34%35',
      { path: '/procurement/contracts/12345', segments: ['procurement', 'contracts', '12345'], query: '' },
    ],
    ['every unreserved class', '/%41%7a%30%2D%2e%5F%7E', { path: '/Az0-._~', segments: ['Az0-._~'], query: '' }],
    [
      'other escapes keep upper-case hex, the segment value is decoded',
      '/files/a%20b%3ac%40d',
      { path: '/files/a%20b%3Ac%40d', segments: ['files', 'a b:c@d'], query: '' },
    ],
    [
      'a rewritten segment after verbatim ones, then a verbatim one',
      '/a/b/%63/d',
      { path: '/a/b/c/d', segments: ['a', 'b', 'c', 'd'], query: '' },
    ],
    [
      'sub-delims, colon and at are kept raw',
      "/x/a!$&'()*+,=:@",
      { path: "/x/a!$&'()*+,=:@", segments: ['x', "a!$&'()*+,=:@"], query: '' },
    ],
    ['three dots is an ordinary segment', '/a/...', { path: '/a/...', segments: ['a', '...'], query: '' }],
    [
      'query kept verbatim, including ? and / inside it',
      '/procurement/contracts?vendor=X&next=/a?b%2F',
      { path: '/procurement/contracts', segments: ['procurement', 'contracts'], query: '?vendor=X&next=/a?b%2F' },
    ],
    ['empty query kept', '/a?', { path: '/a', segments: ['a'], query: '?' }],
    [
      'case is kept',
      '/PROCUREMENT/Contracts',
      { path: '/PROCUREMENT/Contracts', segments: ['PROCUREMENT', 'Contracts'], query: '' },
    ],
  ];
  for (const [name, target, expected] of cases) {
    it(name, () => {
      assert.deepEqual({ ...canonicalizeTarget(target) }, expected);
    });
  }
});
