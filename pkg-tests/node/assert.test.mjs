// The scenarios' own deepEqual must be able to fail where JSON would not
// tell the difference; otherwise it proves nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepEqual } from '../scenarios/assert.mjs';

test('deepEqual tells apart what JSON.stringify confuses', () => {
  const differ = [
    [-0, 0],
    [{ a: undefined }, {}],
    [new Map([['k', 1]]), {}],
    [new Set([1]), {}],
    [[1, , 3], [1, undefined, 3]],
    [new Uint8Array([1, 2]), { 0: 1, 1: 2 }],
    [new Uint8Array([1, 2]), new Uint8Array([1, 3])],
    [Object.create(null), {}],
    [NaN, null],
    [new Date(1), new Date(2)],
  ];
  differ.forEach(([a, b], i) => assert.throws(() => deepEqual(a, b), /values differ/, `pair ${i}`));
  const alike = [
    [NaN, NaN],
    [{ a: [1, { b: 'c' }] }, { a: [1, { b: 'c' }] }],
    [new Map([['k', [1]]]), new Map([['k', [1]]])],
    [new Uint8Array([1, 2]), new Uint8Array([1, 2])],
  ];
  for (const [a, b] of alike) deepEqual(a, b);
});
