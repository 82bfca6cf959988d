// Doubt (site_template/js/doubt.js): when the page shows "?" and what it says instead of a digit.
import assert from 'node:assert/strict';
import test from 'node:test';

import { doubtSentence, judge } from '../../site_template/js/doubt.js';

const labels = [...'0123456789'];
const thresholds = { doubtBelow: 0.5, tornAbove: 0.8 };

function probabilities(entries) {
  const p = new Float32Array(10);
  for (const [label, value] of Object.entries(entries)) p[Number(label)] = value;
  return p;
}

test('a sure digit is named', () => {
  assert.deepEqual(judge(probabilities({ 7: 0.93, 1: 0.07 }), labels, thresholds), { shown: '7', sure: true, between: [] });
  assert.equal(judge(probabilities({ 4: 0.5, 9: 0.5 }), labels, thresholds).shown, '4', 'the threshold itself is sure');
});

test('torn between two digits, it names both, the likelier first', () => {
  const verdict = judge(probabilities({ 4: 0.41, 9: 0.45, 7: 0.14 }), labels, thresholds);
  assert.deepEqual(verdict, { shown: '?', sure: false, between: ['9', '4'] });
  assert.equal(doubtSentence([verdict]), '9 or 4?');
});

test('two digits holding exactly tornAbove together are torn between', () => {
  const exact = { doubtBelow: 0.5, tornAbove: 0.75 }; // 0.375 + 0.375 is 0.75 exactly in float32
  assert.deepEqual(judge(probabilities({ 4: 0.375, 9: 0.375, 1: 0.25 }), labels, exact).between, ['4', '9']);
});

test('spread over many digits, it is not a digit', () => {
  const spread = probabilities(Object.fromEntries(labels.map((label) => [label, 0.1])));
  const verdict = judge(spread, labels, thresholds);
  assert.deepEqual(verdict, { shown: '?', sure: false, between: [] });
  assert.equal(doubtSentence([verdict]), 'That does not look like a digit.');
});

test('a number names its doubtful places', () => {
  const verdicts = [
    judge(probabilities({ 2: 0.99 }), labels, thresholds),
    judge(probabilities({ 0: 0.45, 6: 0.4, 5: 0.15 }), labels, thresholds),
    judge(probabilities({ 2: 0.98 }), labels, thresholds),
    judge(probabilities(Object.fromEntries(labels.map((label) => [label, 0.1]))), labels, thresholds),
  ];
  assert.equal(verdicts.map(({ shown }) => shown).join(''), '2?2?');
  assert.equal(doubtSentence(verdicts), 'digit 2: 0 or 6?; digit 4: not a digit?');
  assert.equal(doubtSentence([verdicts[0], verdicts[2]]), '', 'nothing to say when every digit is sure');
  assert.equal(doubtSentence([verdicts[0]]), '', 'nor when the one digit is');
});

test("the model's 11th output, not a digit, shows ? whenever it beats every digit", () => {
  const withOther = (entries, other) => Float32Array.from([...probabilities(entries), other]);
  assert.deepEqual(judge(withOther({ 3: 0.35 }, 0.65), labels, thresholds), { shown: '?', sure: false, between: [] });
  assert.equal(doubtSentence([judge(withOther({ 3: 0.35 }, 0.65), labels, thresholds)]), 'That does not look like a digit.');
  assert.deepEqual(judge(withOther({ 3: 0.55 }, 0.45), labels, thresholds), { shown: '3', sure: true, between: [] });
  assert.equal(judge(withOther({ 3: 0.5 }, 0.5), labels, thresholds).shown, '?', 'a tie is not a digit');
  assert.deepEqual(judge(withOther({ 4: 0.42, 9: 0.4 }, 0.18), labels, thresholds), { shown: '?', sure: false, between: ['4', '9'] });
});
