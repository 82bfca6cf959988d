// Unit tests of the page's MNIST-style preprocessing: `node --test tests/js/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  alphaChannel, areaResample, boxWeights, centringShift, inkBounds, toMnist,
} from '../../site_template/js/preprocess.js';

const MNIST = { imageSize: 28, fitSize: 20 }; // as in the page's config

/** A blank width×height canvas alpha channel (Uint8ClampedArray, 0–255). */
function blank(width, height = width) {
  return { ink: new Uint8ClampedArray(width * height), width, height };
}

/** Ink a solid rectangle [x0, x0+w) × [y0, y0+h) into a canvas from `blank`. */
function fillRect(canvas, x0, y0, w, h, value = 255) {
  for (let y = y0; y < y0 + h; y++) canvas.ink.fill(value, y * canvas.width + x0, y * canvas.width + x0 + w);
  return canvas;
}

/**
 * Rasterise a shape given in unit coordinates (`inside(u, v)`, u and v in 0–1)
 * onto a side×side canvas at `offset`, `size` pixels across, with 4×4
 * supersampling so its edges are anti-aliased like a canvas stroke.
 */
function rasterise(inside, side, offset, size) {
  const canvas = blank(side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const u = (x + (sx + 0.5) / 4 - offset[0]) / size;
          const v = (y + (sy + 0.5) / 4 - offset[1]) / size;
          if (u >= 0 && u <= 1 && v >= 0 && v <= 1 && inside(u, v)) hits++;
        }
      }
      canvas.ink[y * side + x] = Math.round((255 * hits) / 16);
    }
  }
  return canvas;
}

/** A ring with a tail, like a "6": not symmetric, so a misplacement shows. */
function six(u, v) {
  const r = Math.hypot(u - 0.5, v - 0.7);
  const ring = r > 0.18 && r < 0.3;
  const tail = Math.abs(u - (0.2 + 0.35 * (0.7 - v))) < 0.08 && v > 0.05 && v < 0.7;
  return ring || tail;
}

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

/** Centre of mass (x, y) of a size×size image, pixel centres at i + 0.5. */
function centreOfMass(image, size) {
  let m = 0, mx = 0, my = 0;
  image.forEach((v, i) => {
    m += v;
    mx += v * ((i % size) + 0.5);
    my += v * (Math.floor(i / size) + 0.5);
  });
  return [mx / m, my / m];
}

/** Rows and columns (indices) of a size×size image that hold any ink. */
function inkedRowsAndColumns(image, size) {
  const rows = new Set(), cols = new Set();
  image.forEach((v, i) => {
    if (v > 0) {
      rows.add(Math.floor(i / size));
      cols.add(i % size);
    }
  });
  return { rows: [...rows].sort((a, b) => a - b), cols: [...cols].sort((a, b) => a - b) };
}

test('the alpha channel is the ink, whatever the colour', () => {
  const rgba = new Uint8ClampedArray([255, 0, 0, 7, 0, 0, 0, 0, 12, 34, 56, 255]);
  assert.deepEqual([...alphaChannel(rgba)], [7, 0, 255]);
});

test('a blank canvas gives null, so the page clears the prediction', () => {
  const { ink, width, height } = blank(50, 40);
  assert.equal(toMnist(ink, width, height, MNIST), null);
  assert.equal(toMnist(new Float32Array(100), 10, 10, { ...MNIST, fullInk: 1 }), null);
  assert.equal(inkBounds(ink, width, height), null);
});

test('the crop is the bounding box of every pixel with any ink at all', () => {
  const canvas = fillRect(blank(30, 20), 5, 3, 4, 2);
  canvas.ink[19 * 30 + 29] = 1; // one faint anti-aliased pixel still counts
  assert.deepEqual(inkBounds(canvas.ink, 30, 20), { left: 5, top: 3, width: 25, height: 17 });
  const edge = fillRect(blank(30, 20), 0, 0, 1, 1); // ink in the first column and row only
  assert.deepEqual(inkBounds(edge.ink, 30, 20), { left: 0, top: 0, width: 1, height: 1 });
});

test('a small square anywhere lands in the centre as a 20×20 block', () => {
  const expected = new Float32Array(28 * 28);
  for (let y = 4; y < 24; y++) expected.fill(1, y * 28 + 4, y * 28 + 24);
  for (const [x, y] of [[0, 0], [37, 61], [96, 2], [50, 96]]) {
    const canvas = fillRect(blank(100), x, y, 4, 4);
    const image = toMnist(canvas.ink, canvas.width, canvas.height, MNIST);
    assert.deepEqual(image, expected, `square at ${x},${y}`);
    assert.deepEqual(centreOfMass(image, 28), [14, 14]);
  }
});

test('the centre of mass lands within half a pixel of the centre', () => {
  const canvas = rasterise(six, 200, [23, 41], 117);
  const image = toMnist(canvas.ink, canvas.width, canvas.height, MNIST);
  const [cx, cy] = centreOfMass(image, 28);
  assert.ok(Math.abs(cx - 14) <= 0.5 && Math.abs(cy - 14) <= 0.5, `${cx}, ${cy}`);
});

test('a big and a small drawing of the same shape give nearly the same image', () => {
  const big = rasterise(six, 400, [30, 50], 340);
  const small = rasterise(six, 400, [300, 10], 60);
  const a = toMnist(big.ink, big.width, big.height, MNIST);
  const b = toMnist(small.ink, small.width, small.height, MNIST);
  const diffs = a.map((v, i) => Math.abs(v - b[i]));
  const meanDiff = sum(diffs) / diffs.length;
  assert.ok(meanDiff < 0.02, `mean |difference| ${meanDiff}`);
  assert.ok(Math.max(...diffs) < 0.35, `max |difference| ${Math.max(...diffs)}`);
});

test('the aspect ratio is kept: a tall bar stays tall, 20 px high, centred', () => {
  const canvas = fillRect(blank(300), 140, 50, 10, 200); // 10 × 200 px
  const image = toMnist(canvas.ink, canvas.width, canvas.height, MNIST);
  const { rows, cols } = inkedRowsAndColumns(image, 28);
  assert.deepEqual(rows, Array.from({ length: 20 }, (_, i) => 4 + i));
  assert.deepEqual(cols, [14]); // 10 px at scale 1/10: exactly one column
  const wide = fillRect(blank(300), 20, 100, 260, 26); // 260 × 26 px -> 20 × 2
  const lying = inkedRowsAndColumns(toMnist(wide.ink, 300, 300, MNIST), 28);
  assert.equal(lying.cols.length, 20);
  assert.deepEqual(lying.rows, [13, 14]);
});

test('the output is a 28×28 Float32Array of 0–1, from 0–255 or 0–1 ink', () => {
  const canvas = blank(64, 48);
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  canvas.ink.forEach((_, i) => { canvas.ink[i] = random() < 0.3 ? Math.floor(random() * 256) : 0; });
  fillRect(canvas, 20, 20, 12, 12); // solid ink: some output pixels are wholly inside it
  const image = toMnist(canvas.ink, canvas.width, canvas.height, MNIST);
  assert.ok(image instanceof Float32Array && image.length === 784);
  assert.ok(image.every((v) => v >= 0 && v <= 1));
  assert.equal(Math.max(...image), 1);
  const floats = Float32Array.from(canvas.ink, (v) => v / 255);
  const fromFloats = toMnist(floats, canvas.width, canvas.height, { ...MNIST, fullInk: 1 });
  assert.ok(fromFloats.every((v, i) => Math.abs(v - image[i]) < 1e-6));
});

test('box weights: each source pixel spreads exactly its own length', () => {
  for (const [n, F, L] of [[37, 20, 37], [23, 20, 37], [3, 20, 3], [1, 20, 7], [400, 20, 400]]) {
    const { size, taps } = boxWeights(n, F, L);
    assert.equal(size, Math.ceil((n * F) / L));
    for (const pairs of taps) {
      assert.equal(sum(pairs.map(([, w]) => w)), F);
      assert.ok(pairs.every(([j, w]) => j >= 0 && j < size && w > 0 && Number.isInteger(w)));
    }
  }
});

test('area averaging conserves mass: Σ out = (F/L)² · Σ in, exactly for integer ink', () => {
  const canvas = blank(120, 90);
  canvas.ink.forEach((_, i) => { canvas.ink[i] = (i * 7919) % 251; });
  for (const box of [
    { left: 3, top: 5, width: 37, height: 23 },
    { left: 0, top: 0, width: 120, height: 90 },
    { left: 50, top: 40, width: 3, height: 7 }, // upscaled: F > L
  ]) {
    const { sums, width, height, denominator } = areaResample(canvas.ink, canvas.width, box, 20);
    const L = Math.max(box.width, box.height);
    assert.equal(Math.max(width, height), 20);
    assert.equal(denominator, L * L);
    let inside = 0;
    for (let y = box.top; y < box.top + box.height; y++) {
      for (let x = box.left; x < box.left + box.width; x++) inside += canvas.ink[y * canvas.width + x];
    }
    assert.ok(sums.every(Number.isInteger), 'integer ink gives integer sums');
    assert.equal(sum(sums), inside * 20 * 20); // Σ out · L² = (F/L)² · Σ in · L²
    assert.ok(sums.every((s) => s / denominator <= 255 + 1e-9), 'a mean never exceeds full ink');
  }
});

test('the centring shift rounds half up, from exact sums', () => {
  // One pixel at x = 0: cx = 0.5, 14 - 0.5 = 13.5 -> 14.
  assert.deepEqual(centringShift([1], 1, 1, 28), { dx: 14, dy: 14 });
  // Mass at x = 0 and x = 2 (cx = 1.5): 12.5 -> 13; at x = 0 and 1 (cx = 1): 13.
  assert.deepEqual(centringShift([5, 0, 5], 3, 1, 28), { dx: 13, dy: 14 });
  assert.deepEqual(centringShift([5, 5], 2, 1, 28), { dx: 13, dy: 14 });
});

test('ink shifted out past the top and left is clipped there, not wrapped into the row above', () => {
  // a heavy block in the bottom-right corner of a faint wash: its centre of mass pulls the wash's top and
  // left out of the image; what stays is the resampled drawing, shifted and cut, pixel for pixel
  const canvas = fillRect(fillRect(blank(200), 0, 0, 200, 200, 5), 140, 140, 60, 60, 255);
  const image = toMnist(canvas.ink, canvas.width, canvas.height, MNIST);
  const box = inkBounds(canvas.ink, canvas.width, canvas.height);
  const scaled = areaResample(canvas.ink, canvas.width, box, MNIST.fitSize);
  const { dx, dy } = centringShift(scaled.sums, scaled.width, scaled.height, MNIST.imageSize);
  assert.ok(dx < 0 && dy < 0, `shift ${dx}, ${dy}`);
  const expected = new Float32Array(784);
  for (let Y = 0; Y < 28; Y++) {
    for (let X = 0; X < 28; X++) {
      const [x, y] = [X - dx, Y - dy];
      if (x < scaled.width && y < scaled.height) expected[Y * 28 + X] = scaled.sums[y * scaled.width + x] / (scaled.denominator * 255);
    }
  }
  assert.deepEqual(image, expected);
});

test('ink shifted out of the image is clipped, not wrapped', () => {
  // A heavy dot far from a thin long tail pulls the centre of mass to one end.
  const canvas = fillRect(blank(200), 0, 0, 20, 20); // dot, 20×20
  fillRect(canvas, 20, 9, 180, 1, 255); // tail, 180×1 to the right
  const image = toMnist(canvas.ink, canvas.width, canvas.height, MNIST);
  assert.equal(image.length, 784);
  const { cols } = inkedRowsAndColumns(image, 28);
  assert.ok(cols[0] > 0 && cols.at(-1) === 27, `columns ${cols[0]}–${cols.at(-1)}`);
});
