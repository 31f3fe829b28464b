import assert from 'node:assert/strict';
import { test } from 'node:test';
import { html } from '../../../gateway/auditor/html.ts';

test('interpolated values are escaped for text and quoted attributes', () => {
  const value = `"><script>alert('x')</script>&amp;`;
  assert.equal(
    html`<td title="${value}">${value}</td>`.markup,
    '<td title="&#34;&#62;&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#38;amp;">' +
      '&#34;&#62;&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#38;amp;</td>',
  );
});

test('control and bidi characters are shown, not obeyed', () => {
  assert.equal(
    html`<td>${'evil\u202egnp.exe\u0000\u001b[2J'}</td>`.markup,
    '<td>evil\\u202egnp.exe\\u0000\\u001b[2J</td>',
  );
});

test('null and undefined render as nothing, numbers as text, arrays concatenated', () => {
  assert.equal(html`${null}|${undefined}|${42}|${['<a>', html`<b>`]}`.markup, '||42|&#60;a&#62;<b>');
});

test('only markup built by html passes through: a look-alike object is escaped', () => {
  const forged = { markup: '<script>alert(1)</script>' };
  assert.equal(html`${forged}`.markup, '[object Object]');
  assert.equal(html`<p>${html`<em>${'<i>'}</em>`}</p>`.markup, '<p><em>&#60;i&#62;</em></p>');
});
