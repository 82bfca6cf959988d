/**
 * MNIST-style preprocessing of a drawing: pure functions, no DOM, no tfjs.
 *
 * MNIST digits were cropped, scaled (aspect kept, anti-aliased) so that the
 * longer side is 20 px, and placed in a 28×28 image with their centre of mass
 * at the centre. `toMnist` does the same to the ink of the canvas:
 *
 *   1. crop to the bounding box of every pixel with ink > 0 (no threshold);
 *   2. scale by fitSize / L (L = the crop's longer side, in canvas pixels)
 *      with an exact area-averaging box filter (see `areaResample`);
 *   3. shift by whole pixels so that the intensity-weighted centre of mass
 *      lands on the image centre (see `centringShift`), clipping what falls out.
 *
 * Coordinates: pixel (x, y) is the unit square [x, x+1) × [y, y+1), so its
 * centre is at (x + 0.5, y + 0.5); x to the right, y down; images are
 * row-major (index y * width + x).
 *
 * With integer ink (0–255 alpha, the canvas case) every sum below is an exact
 * integer and there is one division per output pixel, so another
 * implementation (numpy with int64 sums, float64 division, float32 cast)
 * reproduces the output bit for bit.
 */

/**
 * The alpha channel of RGBA pixels: the ink, whatever colour it was drawn in.
 * @param {Uint8ClampedArray} rgba length 4·width·height, as from getImageData
 * @returns {Uint8ClampedArray} length width·height, 0–255
 */
export function alphaChannel(rgba) {
  const alpha = new Uint8ClampedArray(rgba.length / 4);
  for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3];
  return alpha;
}

/**
 * Bounding box of the pixels with ink > 0.
 * @param {ArrayLike<number>} ink length width·height, row-major
 * @param {number} width
 * @param {number} height
 * @returns {{left: number, top: number, width: number, height: number} | null}
 *   in pixels; null when there is no ink at all
 */
export function inkBounds(ink, width, height) {
  let left = width, right = -1, top = height, bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (ink[row + x] > 0) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        bottom = y;
      }
    }
  }
  if (right < 0) return null;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * The 1-D box filter that maps `n` source pixels onto ceil(n·F / L) output
 * pixels (scale F / L), with integer weights.
 *
 * Measured in units where a source pixel is F long and an output pixel L long
 * (so the scale F / L is exact), source pixel i covers [i·F, (i+1)·F) and
 * output pixel j covers [j·L, (j+1)·L); their overlap (an integer, 0–min(F, L))
 * is the weight. A source pixel's weights sum to F; an output pixel's to at
 * most L (less at the far edge, which the source only partly covers).
 *
 * @param {number} n source pixels (integer ≥ 1)
 * @param {number} F output length of L source pixels (fitSize, integer)
 * @param {number} L source length that becomes F (the crop's longer side, integer)
 * @returns {{size: number, taps: Array<Array<[number, number]>>}} size: output
 *   pixels; taps[i]: [output index j, integer overlap] pairs of source pixel i
 */
export function boxWeights(n, F, L) {
  const size = Math.ceil((n * F) / L);
  const taps = [];
  for (let i = 0; i < n; i++) {
    const start = i * F, end = (i + 1) * F;
    const pairs = [];
    for (let j = Math.floor(start / L); j * L < end; j++) {
      pairs.push([j, Math.min(end, (j + 1) * L) - Math.max(start, j * L)]);
    }
    taps.push(pairs);
  }
  return { size, taps };
}

/**
 * Scale a region of an image by F / L with exact area averaging (a box filter
 * with fractional pixel coverage): each output pixel is the mean ink over its
 * square, the source seen as constant over each of its pixels. The region's
 * top-left corner maps to the output's top-left corner.
 *
 * Output pixel (X, Y) = Σ ink(x, y) · wx(X, x) · wy(Y, y) / L², with the
 * integer weights of `boxWeights`; returned as integer-exact numerators
 * `sums` and the common `denominator` L².
 * Mass is conserved up to the scale: Σ output = (F / L)² · Σ region.
 *
 * @param {ArrayLike<number>} ink source, length width·height, row-major
 * @param {number} width source width, pixels
 * @param {{left: number, top: number, width: number, height: number}} box region, pixels
 * @param {number} F output size of the region's longer side, pixels (integer)
 * @returns {{sums: Float64Array, width: number, height: number, denominator: number}}
 *   value of output pixel i = sums[i] / denominator, in the units of `ink`;
 *   width = ceil(box.width·F / L), height = ceil(box.height·F / L)
 */
export function areaResample(ink, width, box, F) {
  const L = Math.max(box.width, box.height);
  const cols = boxWeights(box.width, F, L);
  const rows = boxWeights(box.height, F, L);
  const sums = new Float64Array(cols.size * rows.size);
  const rowSums = new Float64Array(cols.size);
  for (let y = 0; y < box.height; y++) {
    rowSums.fill(0);
    const src = (box.top + y) * width + box.left;
    for (let x = 0; x < box.width; x++) {
      const v = ink[src + x];
      if (v === 0) continue;
      for (const [X, w] of cols.taps[x]) rowSums[X] += v * w;
    }
    for (const [Y, w] of rows.taps[y]) {
      const out = Y * cols.size;
      for (let X = 0; X < cols.size; X++) sums[out + X] += rowSums[X] * w;
    }
  }
  return { sums, width: cols.size, height: rows.size, denominator: L * L };
}

/**
 * The whole-pixel shift that puts an image's centre of mass on the centre of
 * a size×size image.
 *
 * Centre of mass with pixel centres at i + 0.5: cx = Σ v·(x + 0.5) / Σ v.
 * The centre of the output is size / 2 (14 for 28), so the shift is
 * round(size/2 − cx), rounding halves up: floor(size/2 − cx + 0.5). It is
 * computed from integer sums, floor((size·M + M − Σ v·(2x+1)) / (2M)) with
 * M = Σ v, so ties round the same way in every implementation.
 *
 * @param {ArrayLike<number>} values length width·height, row-major, ≥ 0, Σ > 0
 *   (any common scale: `areaResample`'s sums do)
 * @param {number} width pixels
 * @param {number} height pixels
 * @param {number} size side of the output image, pixels (28)
 * @returns {{dx: number, dy: number}} whole pixels to add to x and y
 */
export function centringShift(values, width, height, size) {
  let mass = 0, momentX = 0, momentY = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[y * width + x];
      mass += v;
      momentX += v * (2 * x + 1);
      momentY += v * (2 * y + 1);
    }
  }
  const shift = (moment) => Math.floor((size * mass + mass - moment) / (2 * mass));
  return { dx: shift(momentX), dy: shift(momentY) };
}

/**
 * A drawing as an MNIST image (crop, fit, centre of mass; see the top of this file).
 *
 * @param {ArrayLike<number>} ink ink per canvas pixel, length width·height,
 *   row-major, 0–fullInk (the canvas's alpha channel: Uint8ClampedArray 0–255)
 * @param {number} width canvas width, pixels
 * @param {number} height canvas height, pixels
 * @param {{imageSize: number, fitSize: number, fullInk?: number}} options
 *   imageSize: side of the output (28); fitSize: longer side of the digit in it
 *   (20); fullInk: the ink value of a solid pixel (255; pass 1 for 0–1 floats)
 * @returns {Float32Array | null} imageSize², row-major, 0–1, white ink on black;
 *   null when there is no ink
 */
export function toMnist(ink, width, height, { imageSize, fitSize, fullInk = 255 }) {
  const box = inkBounds(ink, width, height);
  if (box === null) return null;
  const scaled = areaResample(ink, width, box, fitSize);
  const { dx, dy } = centringShift(scaled.sums, scaled.width, scaled.height, imageSize);
  const out = new Float32Array(imageSize * imageSize);
  const divisor = scaled.denominator * fullInk;
  for (let y = 0; y < scaled.height; y++) {
    const Y = y + dy;
    if (Y < 0 || Y >= imageSize) continue;
    for (let x = 0; x < scaled.width; x++) {
      const X = x + dx;
      if (X < 0 || X >= imageSize) continue;
      out[Y * imageSize + X] = scaled.sums[y * scaled.width + x] / divisor;
    }
  }
  return out;
}
