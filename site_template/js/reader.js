/**
 * Reading a drawing: strokes -> the digits of the number, left to right, each
 * with the image the model read, its probabilities and its verdict (doubt.js's
 * judge, run once per digit). No DOM: the model's `predict` and the renderer of
 * one digit's ink (drawing.js's digitInk) are handed in.
 *
 * A digit: {image: Float32Array(imageSize²), 0–1, white ink on black;
 * probabilities: numClasses of them, 0–1; verdict: {shown, sure, between};
 * last: whether it holds the latest stroke; strokes: its strokes relative to
 * its box (0–1 of its longer side); group: {strokes: indices, box} (segment.js)}.
 */
import { judge } from './doubt.js';
import { toMnist } from './preprocess.js';
import { findDigits, joinedWhereSurer, secondLooks, union } from './segment.js';

/**
 * Find the digits in the strokes, preprocess each, read them all in one batch. Neighbours the model doubts
 * are read again as one digit (segment.js, secondLooks), in a second batch; the joined reading replaces the
 * two when it names a digit more surely than either did (joinedWhereSurer).
 *
 * @param {Array<Array<[number, number]>>} strokes every stroke's points, pad units
 * @param {object} parts
 * @param {function(Float32Array, number): Promise<Float32Array>} parts.predict N images -> N·numClasses probabilities
 * @param {function(Array, object): {ink: ArrayLike<number>, width: number, height: number}} parts.ink
 *   one digit's strokes and box rendered for the model (alpha 0–255, row-major)
 * @param {{imageSize: number, fitSize: number, labels: string[], numClasses: number,
 *   doubtBelow: number, tornAbove: number, segmentation: object}} contract the page's config (segmentation:
 *   js/segment.js's Rules)
 * @returns {Promise<object[]>} the digits, left to right
 */
export async function readDigits(strokes, { predict, ink }, contract) {
  const { imageSize, fitSize } = contract;
  const digitFrom = ({ strokes: mine, box }) => {
    const drawn = ink(mine.map((i) => strokes[i]), box);
    return { image: toMnist(drawn.ink, drawn.width, drawn.height, { imageSize, fitSize }), last: mine.includes(strokes.length - 1),
      strokes: inBox(mine.map((i) => strokes[i]), box), group: { strokes: mine, box } };
  };
  const readable = (digits) => digits.filter(({ image }) => image !== null);
  const digits = readable(findDigits(strokes, contract.segmentation).map(digitFrom));
  await read(digits, predict, contract);
  const pairs = secondLooks(digits.map(({ group }) => group), digits.map(({ verdict }) => !verdict.sure), contract.segmentation);
  if (!pairs.length) return digits;
  const joined = pairs.map(([i, j]) => digitFrom(joinedGroup(digits[i].group, digits[j].group)));
  await read(readable(joined), predict, contract);
  return joinedWhereSurer(digits, pairs, joined, contract.labels);
}

/**
 * What a reading of `strokes` depends on, as a string: the pad only adds points and strokes until it is
 * cleared, so the number of points in each stroke names the ink.
 */
export function inkKey(strokes) {
  return strokes.map((points) => points.length).join(',');
}

/**
 * Which digit's probabilities are listed: the one the visitor picked while it exists, else the one
 * written last (or the first); -1 when there are none.
 * @param {Array<{last: boolean}>} digits
 * @param {number} picked an index, -1 for none
 */
export function listedDigit(digits, picked) {
  if (digits.length === 0) return -1;
  if (picked >= 0 && picked < digits.length) return picked;
  return Math.max(0, digits.findIndex(({ last }) => last));
}

/** Read `digits` in one batch: each gets its `probabilities` and `verdict`. */
async function read(digits, predict, { imageSize, numClasses, labels, doubtBelow, tornAbove }) {
  if (!digits.length) return;
  const size = imageSize * imageSize;
  const batch = new Float32Array(digits.length * size);
  digits.forEach(({ image }, i) => batch.set(image, i * size));
  const probabilities = await predict(batch, digits.length);
  digits.forEach((digit, i) => {
    digit.probabilities = probabilities.subarray(i * numClasses, (i + 1) * numClasses);
    digit.verdict = judge(digit.probabilities, labels, { doubtBelow, tornAbove });
  });
}

function joinedGroup(a, b) {
  return { strokes: [...a.strokes, ...b.strokes].sort((x, y) => x - y), box: union(a.box, b.box) };
}

/** Strokes relative to their box: 0–1 of its longer side. */
function inBox(strokes, box) {
  const side = Math.max(box.right - box.left, box.bottom - box.top) || 1;
  return strokes.map((points) => points.map(([x, y]) => [(x - box.left) / side, (y - box.top) / side]));
}
