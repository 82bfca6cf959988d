// Unit tests of finding the digits of a number in its strokes: `node --test tests/js/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { judge } from '../../site_template/js/doubt.js';
import { distanceTo, extent, findDigits as findDigitsWith, joinedWhereSurer, overlapping as overlappingBy,
  secondLooks as secondLooksWith } from '../../site_template/js/segment.js';
import { pageConfig } from './page_config.mjs';

const rules = pageConfig().segmentation; // the build's, from pipeline/contract.py
const findDigits = (strokes) => findDigitsWith(strokes, rules);
const overlapping = (a, b) => overlappingBy(a, b, rules.overlap);
const secondLooks = (groups, doubtful) => secondLooksWith(groups, doubtful, rules);

// Digits as strokes in a unit box (x right, y down; 0–1 of the digit's height),
// drawn the way people write them: the 4, 5 and 7 with a second stroke.
const SHAPES = {
  0: [[[0.35, 0], [0.05, 0.3], [0.1, 0.8], [0.4, 1], [0.65, 0.7], [0.6, 0.15], [0.35, 0]]],
  1: [[[0.3, 0], [0.2, 1]]],
  2: [[[0.05, 0.2], [0.35, 0], [0.6, 0.2], [0.05, 1], [0.65, 1]]],
  4: [[[0.45, 0], [0, 0.65], [0.6, 0.65]], [[0.45, 0.35], [0.45, 1]]],
  5: [[[0.15, 0], [0.1, 0.45], [0.5, 0.4], [0.6, 0.75], [0.3, 1], [0, 0.9]], [[0.15, 0], [0.65, 0]]],
  6: [[[0.55, 0], [0.1, 0.5], [0.15, 0.95], [0.5, 0.9], [0.5, 0.55], [0.1, 0.6]]],
  7: [[[0, 0], [0.6, 0], [0.25, 1]], [[0.15, 0.5], [0.55, 0.5]]],
  // a loop, and a tail drawn on from its right side, leaning right: too little overlap, but they touch
  9: [[[0.6, 0.2], [0.3, 0], [0, 0.2], [0.3, 0.45], [0.6, 0.2]], [[0.6, 0.2], [0.75, 0.6], [0.95, 1]]],
};

/**
 * A number written left to right: each digit `height` high (×1 ± the sizes
 * given), its box followed by `gap`, each baseline `drift` lower than the last.
 */
function write(text, { height = 100, gap = 0.2, drift = 0.05, sizes = [] } = {}) {
  const strokes = [];
  let x = 10;
  [...text].forEach((char, i) => {
    const size = height * (sizes[i] ?? 1);
    const shape = SHAPES[char];
    const box = extent(shape.flat());
    const y = 20 + i * drift * height + (height - size);
    for (const stroke of shape) strokes.push(stroke.map(([u, v]) => [x + (u - box.left) * size, y + v * size]));
    x += (box.right - box.left) * size + gap * height;
  });
  return strokes;
}

/** The digits found, as text: the character of each group's first stroke (write() keeps them in order). */
function read(text, strokes) {
  const starts = [];
  [...text].forEach((char) => starts.push(...SHAPES[char].map(() => char)));
  return findDigits(strokes).map(({ strokes: mine }) => starts[mine[0]]).join('');
}

test('extent: the box of the points, null for none', () => {
  assert.deepEqual(extent([[3, 4], [-1, 8], [2, 0]]), { left: -1, top: 0, right: 3, bottom: 8 });
  assert.equal(extent([]), null);
});

test('overlap: half of the narrower width, or a zero-width stroke inside the other', () => {
  const box = (left, right) => ({ left, right, top: 0, bottom: 1 });
  assert.ok(overlapping(box(0, 10), box(4, 4)), "the stem of a 4 inside its bar");
  assert.ok(overlapping(box(0, 10), box(7, 12)), '3 of 5 overlap');
  assert.ok(!overlapping(box(0, 10), box(9, 14)), '1 of 5 overlap: neighbours that lean into each other');
  assert.ok(!overlapping(box(0, 10), box(11, 20)), 'apart');
});

test('distance from a point to a polyline', () => {
  assert.equal(distanceTo([5, 3], [[0, 0], [10, 0]]), 3);
  assert.equal(distanceTo([13, 4], [[0, 0], [10, 0]]), 5);
  assert.equal(distanceTo([3, 4], [[0, 0]]), 5);
  // away from the origin, on slanted segments, and the nearest of several segments
  assert.equal(distanceTo([15, 13], [[10, 10], [20, 10]]), 3);
  assert.equal(distanceTo([23, 14], [[10, 10], [20, 10]]), 5);
  assert.equal(distanceTo([14, 11], [[10, 30], [10, 10]]), 4, 'a vertical segment drawn upwards');
  assert.ok(Math.abs(distanceTo([10, 14], [[10, 10], [14, 14]]) - Math.SQRT2 * 2) < 1e-12, 'a diagonal');
  assert.equal(distanceTo([18, 19], [[10, 10], [12, 16], [20, 16]]), 3, 'the nearest of several segments');
});

test('a stroke that starts where another ends is the same digit, though they hardly overlap', () => {
  const [loop, tail] = write('9');
  assert.ok(!overlapping(extent(loop), extent(tail)));
  assert.deepEqual(findDigits([loop, tail]).map((d) => d.strokes), [[0, 1]]);
  const moved = tail.map(([x, y]) => [x + 30, y]); // the tail 0.3 of the height away: apart
  assert.equal(findDigits([loop, moved]).length, 2);
});

test('each digit of a number is found, left to right, in one group per digit', () => {
  for (const text of ['2026', '17', '450', '7104', '5', '65', '949']) {
    const strokes = write(text);
    const digits = findDigits(strokes);
    assert.equal(read(text, strokes), text, text);
    assert.equal(digits.length, text.length);
    for (let i = 1; i < digits.length; i++) assert.ok(digits[i - 1].box.left < digits[i].box.left);
  }
});

test('a 4, 5 and 7 drawn with two strokes are one digit each, whatever order the strokes come in', () => {
  for (const char of ['4', '5', '7']) {
    const strokes = write(char);
    assert.deepEqual(findDigits(strokes).map((d) => d.strokes), [[0, 1]], char);
    assert.deepEqual(findDigits(strokes.reverse()).map((d) => d.strokes), [[0, 1]], `${char}, second stroke first`);
  }
  const strokes = write('474');
  assert.deepEqual(findDigits(strokes).map((d) => d.strokes), [[0, 1], [2, 3], [4, 5]]);
});

test('a 1 close beside another digit stays its own digit', () => {
  for (const text of ['11', '14', '41', '71', '17', '101']) {
    assert.equal(read(text, write(text, { gap: 0.08 })), text, text);
  }
});

test('small gaps, a drifting baseline and digits of different sizes', () => {
  const text = '2045';
  const strokes = write(text, { gap: 0.1, drift: 0.15, sizes: [1, 0.8, 1.2, 0.9] });
  assert.equal(read(text, strokes), text);
});

test('a stroke whose end reaches another\'s ink (within 5 % of the taller\'s height) is one digit with it', () => {
  // a ] shape and a long slanted stroke drawn from its right side: they do not overlap, and neither is small
  // nor short (rules 2 and 3), so only the touch joins them
  const bracket = [[200, 200], [210, 200], [210, 300], [200, 300]];
  const bar = (from) => [[from, 250], [from + 60, 340]];
  assert.deepEqual(findDigits([bracket, bar(214)]).map((d) => d.strokes), [[0, 1]], '4 away: touching');
  assert.deepEqual(findDigits([bar(214), bracket]).map((d) => d.strokes), [[0, 1]], 'either stroke first');
  assert.equal(findDigits([bracket, bar(217)]).length, 2, '7 away: apart');
  const reversed = [...bar(214)].reverse(); // drawn towards the bracket: its last point touches
  assert.deepEqual(findDigits([bracket, reversed]).map((d) => d.strokes), [[0, 1]]);
  const middle = [[300, 180], [212, 250], [300, 340]]; // only its middle comes near: no end touches
  assert.equal(findDigits([bracket, middle]).length, 2);
});

test('digits are read left to right, a far dot drawn last included; a dot far below a digit is its own', () => {
  const strokes = write('17');
  const left = [[-1000, 50]];
  assert.deepEqual(findDigits([...strokes, left]).map((d) => d.strokes), [[3], [0], [1, 2]]);
  const rightmost = Math.max(...strokes.flat().map(([x]) => x));
  const below = [[rightmost + 10, 1000]]; // beside the 7 across, far below it
  assert.equal(findDigits([...strokes, below]).length, 3);
  const right = [[5000, 50]];
  assert.deepEqual(findDigits([right, ...strokes]).map((d) => d.strokes), [[1], [2, 3], [0]]);
});

test('a dot or tick beside a digit joins it; far from every digit it is its own', () => {
  const strokes = write('17');
  const tick = [[strokes[0][0][0] - 8, strokes[0][0][1] + 5], [strokes[0][0][0] - 4, strokes[0][0][1]]]; // the 1's flag, apart
  assert.deepEqual(findDigits([...strokes, tick]).map((d) => d.strokes), [[0, 3], [1, 2]]);
  const far = [[1000, 1000]];
  assert.equal(findDigits([...strokes, far]).length, 3);
});

test('the parts of a digit whose ink broke are one digit: a 5 with its flag apart, a 4 with its stem apart', () => {
  SHAPES.F = [[[0.15, 0.15], [0.1, 0.45], [0.5, 0.4], [0.6, 0.75], [0.3, 1], [0, 0.9]], [[0.3, 0.05], [0.75, 0]]]; // flag 0.1 right of the body
  SHAPES.R = [[[0.45, 0], [0, 0.55], [0.4, 0.55]], [[0.5, 0.45], [0.55, 1]]]; // the bar stops short of a stem that starts low
  try {
    for (const text of ['F', '1F0', 'F1', '0R', '1R1', 'FR']) {
      const strokes = write(text, { gap: 0.2 });
      const owners = [...text].flatMap((char, i) => SHAPES[char].map(() => i));
      const groups = findDigits(strokes).map((d) => d.strokes.map((i) => owners[i]));
      assert.deepEqual(groups, [...text].map((char, i) => SHAPES[char].map(() => i)), text);
    }
  } finally {
    delete SHAPES.F;
    delete SHAPES.R;
  }
});

test('the digits found do not depend on where on the pad, nor how large, the number is written', () => {
  SHAPES.F = [[[0.15, 0.15], [0.1, 0.45], [0.5, 0.4], [0.6, 0.75], [0.3, 1], [0, 0.9]], [[0.3, 0.05], [0.75, 0]]];
  SHAPES.R = [[[0.45, 0], [0, 0.55], [0.4, 0.55]], [[0.5, 0.45], [0.55, 1]]];
  try {
    const numbers = ['1F0', 'F1', '0R', '1R1', '2079', '4517', '20'].map((text) => write(text, { gap: 0.2 }));
    const ticked = write('17');
    numbers.push([...ticked, [[ticked[0][0][0] - 8, ticked[0][0][1] + 5], [ticked[0][0][0] - 4, ticked[0][0][1]]]]);
    const fours = write('44');
    numbers.push([...fours, [[225, 60], [226, 61]]], [...fours, [[265, 60], [266, 61]]]); // a dot near, then far
    numbers.push(write('20', { gap: 0.1, sizes: [1, 0.7] }), write('11', { gap: 0.6 }));
    const moves = { 'far down the pad': ([x, y]) => [x + 4000, y + 2500], 'four times larger': ([x, y]) => [4 * x, 4 * y],
      'smaller and elsewhere': ([x, y]) => [0.25 * x + 700, 0.25 * y + 900] };
    for (const strokes of numbers) {
      const groups = findDigits(strokes).map((d) => d.strokes);
      for (const [how, move] of Object.entries(moves)) {
        assert.deepEqual(findDigits(strokes.map((stroke) => stroke.map(move))).map((d) => d.strokes), groups, how);
      }
    }
  } finally {
    delete SHAPES.F;
    delete SHAPES.R;
  }
});

test('a dot 0.3 digit heights beside a digit joins it (rule 2: too far for rule 3), at 0.7 it is its own', () => {
  const fours = write('44');
  const right = Math.max(...fours.flat().map(([x]) => x));
  const dot = (gap) => [[right + gap, 60], [right + gap + 1, 61]];
  assert.deepEqual(findDigits([...fours, dot(30)]).map((d) => d.strokes), [[0, 1], [2, 3, 4]]);
  assert.deepEqual(findDigits([...fours, dot(70)]).map((d) => d.strokes), [[0, 1], [2, 3], [4]]);
});

test('a digit a little smaller than its neighbours is still a digit of its own', () => {
  assert.equal(read('20', write('20', { gap: 0.1, sizes: [1, 0.7] })), '20');
  assert.equal(read('02', write('02', { gap: 0.1, sizes: [0.7, 1] })), '02');
});

test('no strokes, or empty ones, give no digits', () => {
  assert.deepEqual(findDigits([]), []);
  assert.deepEqual(findDigits([[], []]), []);
  assert.deepEqual(findDigits([[], [[5, 5]]]).map((d) => d.strokes), [[1]]);
});

test('a stroke of 300,000 points (too many for Math.min(...xs)) is measured', () => {
  const n = 300_000;
  const stroke = Array.from({ length: n }, (_, i) => [50 + (i % 101), (i / n) * 200]); // a zigzag 100 wide
  assert.throws(() => Math.min(...stroke.map(([x]) => x)), RangeError, 'spreading this many arguments overflows the stack');
  const digits = findDigits([stroke, ...write('1', { height: 50 }).map((s) => s.map(([x, y]) => [x + 300, y]))]);
  assert.equal(digits.length, 2);
  assert.deepEqual(digits[0].strokes, [0]);
  assert.equal(digits[0].box.left, 50);
  assert.equal(digits[0].box.right, 150);
});

test('second look: a doubted group and its close neighbour, together about one digit, are paired', () => {
  const box = (left, top, width, height) => ({ box: { left, top, right: left + width, bottom: top + height } });
  // a 5 whose long flag stands off to the right: together 1.9 digit heights wide, past rule 3's 1.5
  const five = [box(47, 128, 252, 267), box(244, 65, 309, 28)];
  assert.deepEqual(secondLooks(five, [false, true]), [[0, 1]]);
  assert.deepEqual(secondLooks(five, [true, false]), [[0, 1]], 'either one doubted');
  assert.deepEqual(secondLooks(five, [false, false]), [], 'nothing doubted: nothing to look at again');
  // three digits 100 high, 50 wide and 40 apart: only the doubted middle one's neighbours are paired
  const number = [box(0, 0, 50, 100), box(90, 0, 50, 100), box(180, 0, 50, 100)];
  assert.deepEqual(secondLooks(number, [false, true, false]), [[0, 1], [1, 2]]);
  // too far apart (a gap of 60 % of a digit), or together too tall, or too wide: never paired
  assert.deepEqual(secondLooks([box(0, 0, 50, 100), box(110, 0, 50, 100)], [true, true]), []);
  assert.deepEqual(secondLooks([box(0, 0, 50, 100), box(60, 60, 50, 100)], [true, true]), []);
  assert.deepEqual(secondLooks([box(0, 0, 100, 100), box(120, 0, 100, 100)], [true, true]), []);
  assert.deepEqual(secondLooks([box(0, 0, 50, 100)], [true]), [], 'one digit has no neighbour');
});

test('second look: a joined reading replaces its pair only when it names a digit more surely than both parts', () => {
  const labels = [...'0123456789'];
  const thresholds = { doubtBelow: 0.5, tornAbove: 0.8 };
  const read = (digit, p, notADigit = 0) => {
    const probabilities = new Float32Array(11).fill((1 - p - notADigit) / 9);
    probabilities[digit] = p;
    probabilities[10] = notADigit;
    return { probabilities, verdict: judge(probabilities, labels, thresholds), name: `${digit}@${p}` };
  };
  const names = (digits) => digits.map(({ name }) => name);
  // a 5 split into its body (read as a doubtful 6) and its flag (not a digit): joined, a sure 5
  const body = read(6, 0.45), flag = read(1, 0.1, 0.8), five = read(5, 0.97);
  assert.deepEqual(names(joinedWhereSurer([body, flag], [[0, 1]], [five], labels)), ['5@0.97']);
  // a sure 1 beside a scribble: the joined reading (a 4 at 0.9) is less sure than the 1, both stay
  const one = read(1, 0.99), scribble = read(0, 0.05, 0.9);
  assert.deepEqual(names(joinedWhereSurer([one, scribble], [[0, 1]], [read(4, 0.9)], labels)), ['1@0.99', '0@0.05']);
  // joined but still "?" (not a digit wins), or not readable at all: nothing changes
  assert.equal(joinedWhereSurer([body, flag], [[0, 1]], [read(8, 0.4, 0.5)], labels).length, 2);
  assert.equal(joinedWhereSurer([body, flag], [[0, 1]], [{}], labels).length, 2);
  // a doubted middle digit paired both ways: the surer joined reading wins, the other neighbour stays
  const [a, b, c] = [read(3, 0.6), read(2, 0.2, 0.7), read(7, 0.55)];
  const joined = [read(3, 0.8), read(7, 0.95)];
  assert.deepEqual(names(joinedWhereSurer([a, b, c], [[0, 1], [1, 2]], joined, labels)), ['3@0.6', '7@0.95']);
});

test('second look: the typical height is the median of the heights near the tallest, and each bound holds at its edge', () => {
  const box = (left, height, width = 40) => ({ box: { left, top: 0, right: left + width, bottom: height } });
  const all = (groups) => groups.map(() => true);
  // heights 100, 80, 95, 90, in that order: the median of the four is (90 + 95) / 2 = 92.5, so a gap of
  // look.gap × 92.5 = 46.25 pairs two neighbours and one of 46.3 does not
  const four = [box(0, 100), box(86.25, 80), box(172.55, 95), box(400, 90)];
  assert.deepEqual(secondLooks(four, all(four)), [[0, 1]]);
  // a group exactly typical × the tallest high (140 of 200) counts: the typical height is 170, not 200, and
  // a gap of 90 is more than look.gap × 170
  const tall = [box(0, 200), box(130, 140)];
  assert.deepEqual(secondLooks(tall, all(tall)), []);
  // a gap of exactly look.gap × the height, and a width of exactly look.widest × it, still pair
  const edge = [box(0, 100, 75), box(125, 100, 75)];
  assert.deepEqual(secondLooks(edge, all(edge)), [[0, 1]]);
});

test('second look: how sure a reading is counts the digits only, and a tie is not surer', () => {
  const labels = [...'0123456789'];
  const thresholds = { doubtBelow: 0.5, tornAbove: 0.8 };
  const read = (digit, p, notADigit = 0) => {
    const probabilities = new Float32Array(11).fill((1 - p - notADigit) / 9);
    probabilities[digit] = p;
    probabilities[10] = notADigit;
    return { probabilities, verdict: judge(probabilities, labels, thresholds), name: `${digit}@${p}` };
  };
  const names = (digits) => digits.map(({ name }) => name);
  // two parts each surely no digit (0.9): joined, a 5 at 0.85 names a digit more surely than either part
  const [left, right] = [read(6, 0.05, 0.9), read(1, 0.05, 0.9)];
  assert.deepEqual(names(joinedWhereSurer([left, right], [[0, 1]], [read(5, 0.85)], labels)), ['5@0.85']);
  // joined exactly as sure as the surer part: the parts stay
  const [three, flag] = [read(3, 0.9), read(2, 0.1, 0.8)];
  assert.deepEqual(names(joinedWhereSurer([three, flag], [[0, 1]], [read(3, 0.9)], labels)), ['3@0.9', '2@0.1']);
});

test('rule 3: a short part joins the nearer neighbour it fits with, also when it comes first', () => {
  const strokes = (...boxes) => boxes.map(([left, top, right, bottom]) => [[left, top], [right, bottom]]);
  const groups = (found) => found.map(({ strokes: mine }) => mine);
  // a part left of its digit, first in reading order
  assert.deepEqual(groups(findDigits(strokes([0, 40, 0, 90], [15, 0, 60, 100]))), [[0, 1]]);
  // a part between two digits that fits both: it joins the nearer, on its left
  assert.deepEqual(groups(findDigits(strokes([0, 0, 50, 100], [60, 0, 70, 40], [90, 0, 140, 100]))), [[0, 1], [2]]);
  // nearer to a wide digit it would make too wide: it joins the other
  assert.deepEqual(groups(findDigits(strokes([0, 0, 140, 100], [150, 0, 160, 40], [180, 0, 230, 100]))), [[0], [1, 2]]);
});
