/**
 * Digits from strokes: which pen strokes make up which digit of a number
 * written left to right. Pure functions, no DOM.
 *
 * A stroke is an array of [x, y] points in any units that are the same along
 * both axes (x to the right, y down). The rule, in order:
 *
 *   1. strokes belong to one digit when their horizontal extents overlap by
 *      at least `overlap` of the narrower one's width (the bar and the stem of
 *      a 4, the flag of a 5, the crossbar of a 7), or when one's end touches
 *      the other (within `touch` of the taller one's height: a 9's tail drawn on
 *      from its loop, a bar that ends at a stem): merged until nothing changes;
 *   2. a group much smaller than the typical digit (a dot, a tick that does
 *      not overlap its digit) joins the nearest group beside it, if that is
 *      close;
 *   3. a group much shorter than the typical digit joins the nearer of its
 *      neighbours in reading order when the gap between them is small and
 *      together they are no taller nor much wider than a digit: the parts of
 *      a digit whose ink broke (a 4 whose stem does not reach its bar, a 5
 *      whose flag stands apart);
 *   4. the groups are read left to right by their horizontal centre.
 *
 * Every size in the rules (`Rules`) is the build's (pipeline/contract.py,
 * rendered into the page's config as `segmentation`): pipeline/tools/segment.py
 * applies the same ones to an image's ink.
 *
 * The rules see only strokes, so they still split a digit now and then (a 5
 * whose flag stands a little further off). `secondLooks` names, once the
 * model has read the groups, which neighbours are worth reading again as one:
 * a group the model doubts and a neighbour close beside it that, together,
 * are the size of one digit (the page keeps the joined reading only when the
 * model is surer of it: joinedWhereSurer).
 *
 * Every extent is computed with a loop: a stroke may hold hundreds of
 * thousands of points, too many for Math.min(...points) (a RangeError).
 */
/**
 * @typedef {object} Rules the segmentation's sizes, × the typical digit height unless said (pipeline/contract.py)
 * @property {number} typical marks at least this fraction of the tallest one's height set the typical digit height
 * @property {number} overlap fraction of the narrower group's width that must overlap for one digit
 * @property {number} touch a stroke's end this close to another stroke (× the taller one's height) touches it
 * @property {number} small a group whose longer side is under this × the median digit height is a fragment
 * @property {number} near a fragment joins a group at most this × the median digit height away
 * @property {number} part a group shorter than this may be part of a digit ...
 * @property {number} partGap ... and joins the nearer neighbour at most this to its side ...
 * @property {number} tallest ... if together they are at most this high ...
 * @property {number} widest ... and this wide
 * @property {{gap: number, tallest: number, widest: number}} look a second look (the model doubts one of two
 *   neighbours) may join more, since the model judges the result: gap, height and width of the pair
 */

/**
 * @typedef {object} Box extent of some points, in their units
 * @property {number} left
 * @property {number} top
 * @property {number} right
 * @property {number} bottom
 */

/**
 * @typedef {object} Digit
 * @property {number[]} strokes indices into the strokes given, ascending
 * @property {Box} box extent of those strokes' points
 */

/**
 * The extent of some points (a loop, so any number of them).
 * @param {Iterable<[number, number]>} points
 * @returns {Box | null} null when there are no points
 */
export function extent(points) {
  let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
  for (const [x, y] of points) {
    if (x < left) left = x;
    if (x > right) right = x;
    if (y < top) top = y;
    if (y > bottom) bottom = y;
  }
  return left === Infinity ? null : { left, top, right, bottom };
}

/** The smallest box holding both boxes. */
export function union(a, b) {
  return {
    left: Math.min(a.left, b.left),
    top: Math.min(a.top, b.top),
    right: Math.max(a.right, b.right),
    bottom: Math.max(a.bottom, b.bottom),
  };
}

/**
 * The digits in some strokes, left to right.
 * @param {Array<Array<[number, number]>>} strokes points per stroke; empty strokes are skipped
 * @param {Rules} rules
 * @returns {Digit[]} in reading order; empty when there is no point
 */
export function findDigits(strokes, rules) {
  let groups = [];
  strokes.forEach((points, i) => {
    const box = extent(points);
    if (box) groups.push({ strokes: [i], box });
  });
  groups = mergeTogether(groups, strokes, rules);
  groups = joinFragments(groups, rules);
  groups.sort((a, b) => centreX(a.box) - centreX(b.box));
  groups = joinParts(groups, rules);
  for (const group of groups) group.strokes.sort((a, b) => a - b);
  return groups;
}

/** Rule 1: merge groups that overlap enough or touch, until none do. */
function mergeTogether(groups, strokes, rules) {
  let merged = true;
  while (merged) {
    merged = false;
    groups.sort((a, b) => a.box.left - b.box.left);
    const out = [];
    for (const group of groups) {
      const previous = out.find((other) => overlapping(other.box, group.box, rules.overlap)
        || touching(other, group, strokes, rules.touch));
      if (previous) {
        join(previous, group);
        merged = true;
      } else {
        out.push(group);
      }
    }
    groups = out;
  }
  return groups;
}

/** Whether two boxes overlap horizontally by at least `overlap` of the narrower one's width. */
export function overlapping(a, b, overlap) {
  const extent = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const narrower = Math.min(a.right - a.left, b.right - b.left);
  return extent >= 0 && extent >= overlap * narrower;
}

/** Whether an end of a stroke of one group is within `touch` × the taller group's height of the other group's ink. */
function touching(a, b, strokes, touch) {
  const reach = touch * Math.max(a.box.bottom - a.box.top, b.box.bottom - b.box.top);
  if (boxDistance(a.box, b.box) > reach) return false;
  const endsNear = (group, other) => group.strokes.some((i) => {
    const points = strokes[i];
    return [points[0], points[points.length - 1]].some((end) => other.strokes.some((j) => distanceTo(end, strokes[j]) <= reach));
  });
  return endsNear(a, b) || endsNear(b, a);
}

/** The distance from a point to a polyline (a loop over its segments; a single point is a polyline too). */
export function distanceTo([x, y], points) {
  let best = Infinity;
  for (let k = 0; k < points.length; k++) {
    const [ax, ay] = points[k], [bx, by] = points[Math.min(k + 1, points.length - 1)];
    const [dx, dy] = [bx - ax, by - ay];
    const length2 = dx * dx + dy * dy;
    const t = length2 > 0 ? Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / length2)) : 0;
    best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
  }
  return best;
}

/** Rule 2: small groups join the nearest group beside them, when it is near. */
function joinFragments(groups, { small, near }) {
  const height = median(groups.map(({ box }) => box.bottom - box.top));
  if (groups.length < 2 || height <= 0) return groups;
  const isFragment = ({ box }) => Math.max(box.right - box.left, box.bottom - box.top) < small * height;
  const out = groups.filter((group) => !isFragment(group));
  if (out.length === 0) return groups;
  for (const fragment of groups.filter(isFragment)) {
    let nearest = null, distance = Infinity;
    for (const group of out) {
      const gap = boxDistance(group.box, fragment.box);
      if (gap < distance) [nearest, distance] = [group, gap];
    }
    if (distance <= near * height) join(nearest, fragment);
    else out.push(fragment);
  }
  return out;
}

/**
 * Rule 3: a short group joins the nearer of its neighbours in reading order
 * (groups sorted left to right) when together they make one digit; until none does.
 */
function joinParts(groups, rules) {
  const height = typicalHeight(groups, rules.typical);
  const fits = (a, b) => oneDigitTogether(a, b, height, { gap: rules.partGap, tallest: rules.tallest, widest: rules.widest });
  for (;;) {
    const index = groups.findIndex((group, i) => group.box.bottom - group.box.top < rules.part * height
      && [groups[i - 1], groups[i + 1]].some((other) => other && fits(group, other)));
    if (index < 0) return groups;
    const [before, part, after] = [groups[index - 1], groups[index], groups[index + 1]];
    const into = [before, after].filter((other) => other && fits(part, other))
      .sort((a, b) => horizontalGap(part, a) - horizontalGap(part, b))[0];
    join(into, part);
    groups.splice(index, 1);
  }
}

/**
 * Second look: neighbours that the rules kept apart but may be one digit, to be read again as one.
 * @param {Array<{box: Box}>} groups in reading order (findDigits' digits)
 * @param {boolean[]} doubtful per group: whether the model doubts it ("?")
 * @param {Rules} rules
 * @returns {Array<[number, number]>} pairs [i, i + 1] of neighbours, one of them doubtful, close
 *   beside each other and together about the size of one digit (rules.look)
 */
export function secondLooks(groups, doubtful, rules) {
  const height = typicalHeight(groups, rules.typical);
  const pairs = [];
  for (let i = 0; i + 1 < groups.length; i++) {
    if ((doubtful[i] || doubtful[i + 1]) && oneDigitTogether(groups[i], groups[i + 1], height, rules.look)) pairs.push([i, i + 1]);
  }
  return pairs;
}

/**
 * The digits after a second look: each pair replaced by its joined reading where that names a digit
 * (its verdict, doubt.js's judge, is sure) more surely than either part did; where pairs share a digit,
 * the surest wins.
 * @param {Array<{probabilities: ArrayLike<number>}>} digits read, in reading order
 * @param {Array<[number, number]>} pairs from secondLooks
 * @param {Array<{probabilities?: ArrayLike<number>, verdict?: {sure: boolean}}>} joined per pair, its
 *   joined digit as read and judged (neither: it could not be read)
 * @param {string[]} labels the digits' labels
 * @returns {object[]} digits and joined digits, in reading order
 */
export function joinedWhereSurer(digits, pairs, joined, labels) {
  const topDigit = ({ probabilities }) => Math.max(...Array.from(probabilities).slice(0, labels.length));
  const better = pairs.map((pair, k) => ({ pair, one: joined[k] })).filter(({ pair: [i, j], one }) => one.verdict?.sure
    && topDigit(one) > Math.max(topDigit(digits[i]), topDigit(digits[j])));
  better.sort((a, b) => topDigit(b.one) - topDigit(a.one));
  const taken = new Set();
  const replaced = new Map(); // a pair's left index -> its joined digit
  for (const { pair: [i, j], one } of better) {
    if (taken.has(i) || taken.has(j)) continue;
    taken.add(i).add(j);
    replaced.set(i, one);
  }
  return digits.flatMap((digit, i) => (replaced.has(i) ? [replaced.get(i)] : taken.has(i) ? [] : [digit]));
}

/** The height of a typical digit among the groups: the median of those at least `typical` × the tallest. */
function typicalHeight(groups, typical) {
  const heights = groups.map(({ box }) => box.bottom - box.top);
  const tallest = heights.reduce((a, b) => Math.max(a, b), 0);
  return median(heights.filter((h) => h >= typical * tallest)); // broken parts of digits left out
}

/**
 * Whether two groups stand close enough side by side, and are together small enough, to be one digit
 * `height` high: their gap, and the height and width of both, at most `gap`, `tallest` and `widest` × `height`.
 */
function oneDigitTogether(a, b, height, { gap, tallest, widest }) {
  const both = union(a.box, b.box);
  return horizontalGap(a, b) <= gap * height && both.bottom - both.top <= tallest * height
    && both.right - both.left <= widest * height;
}

/** The empty width between two groups' boxes (negative when they overlap). */
function horizontalGap(a, b) {
  return Math.max(a.box.left, b.box.left) - Math.min(a.box.right, b.box.right);
}

function join(into, group) {
  for (const stroke of group.strokes) into.strokes.push(stroke);
  into.box = union(into.box, group.box);
}

/** Euclidean distance between two boxes (0 when they touch or overlap). */
function boxDistance(a, b) {
  const dx = Math.max(0, a.left - b.right, b.left - a.right);
  const dy = Math.max(0, a.top - b.bottom, b.top - a.bottom);
  return Math.hypot(dx, dy);
}

function centreX(box) {
  return (box.left + box.right) / 2;
}

function median(values) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
