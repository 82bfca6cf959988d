/**
 * The MNIST subset the build ships (pipeline/subset.py): fetch and decode it.
 *
 * data/subset.json names two parts, "train" and "test". Each part is a
 * grayscale sprite PNG, one row of imageSize² pixels per image (white ink on
 * black, row-major), and a file of uint8 labels in the same order.
 */

/**
 * @typedef {object} Part
 * @property {Float32Array} images count·imageSize², 0–1, white ink on black
 * @property {Uint8Array} labels count labels, 0…numClasses−1
 * @property {number} count images
 */

/**
 * Fetch and decode both parts.
 * @param {string} manifestUrl data/subset.json, relative to the page
 * @param {string} version the build's hash, appended as ?v= (cache busting)
 * @returns {Promise<{train: Part, test: Part, imageSize: number, numClasses: number, bytes: number}>}
 * @throws {Error} naming the file that could not be loaded
 */
export async function loadSubset(manifestUrl, version) {
  const query = `?v=${encodeURIComponent(version)}`;
  const manifestHref = new URL(manifestUrl + query, document.baseURI);
  const url = (name) => new URL(name + query, manifestHref); // the data files sit beside subset.json
  // The four files download in parallel; the first that fails cancels the others
  // (no point spending a phone's data on a subset that cannot be used).
  const downloads = new AbortController();
  const { signal } = downloads;
  const manifest = await (await fetchOk(manifestHref, signal)).json();
  const pixels = manifest.imageSize * manifest.imageSize;
  const load = async (part) => {
    const { images, labels, count } = manifest[part];
    const [rgba, labelBytes] = await Promise.all([
      readSprite(url(images), pixels, count, signal),
      fetchOk(url(labels), signal).then((r) => r.arrayBuffer()),
    ]);
    if (labelBytes.byteLength !== count) throw new Error(`${labels}: ${labelBytes.byteLength} labels, expected ${count}`);
    return { images: spriteToImages(rgba, pixels, count), labels: new Uint8Array(labelBytes), count };
  };
  try {
    const [train, test] = await Promise.all([load('train'), load('test')]);
    return { train, test, imageSize: manifest.imageSize, numClasses: manifest.numClasses, bytes: manifest.bytes };
  } catch (error) {
    downloads.abort();
    throw error;
  }
}

/**
 * Grayscale images from a decoded sprite. Pure.
 * @param {Uint8ClampedArray} rgba 4·pixels·count bytes, as from getImageData
 * @param {number} pixels pixels per image (one sprite row)
 * @param {number} count images (sprite rows)
 * @returns {Float32Array} pixels·count values, 0–1 (the red channel / 255)
 */
export function spriteToImages(rgba, pixels, count) {
  const images = new Float32Array(pixels * count);
  for (let i = 0; i < images.length; i++) images[i] = rgba[4 * i] / 255;
  return images;
}

async function fetchOk(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`${url.pathname.split('/').pop()}: HTTP ${response.status}`);
  return response;
}

/** Decode a sprite PNG to RGBA without colour management (the pixel values are data). */
async function readSprite(url, width, height, signal) {
  const bitmap = await createImageBitmap(await (await fetchOk(url, signal)).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  if (bitmap.width !== width || bitmap.height !== height) {
    throw new Error(`${url.pathname.split('/').pop()}: ${bitmap.width}×${bitmap.height} pixels, expected ${width}×${height}`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, width, height).data;
}
