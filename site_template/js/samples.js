/**
 * Sample digits for a visitor who cannot draw (keyboard only, a screen reader): MNIST test digits the build
 * traced into pen strokes (pipeline/build/subset.py, data/samples.json), fetched at the first request, never
 * on a first visit: js/main.js imports this module at the first request too. No DOM.
 */

let shared = null; // the page's samples (createSamples), made at the first request

/** The page's next sample digit, from samples.json at `url`: see createSamples. */
export function nextSample(url) {
  shared ??= createSamples(() => fetchJson(url));
  return shared.next();
}

/**
 * @param {function(): Promise<{digits: Array<{label: string, strokes: Array<Array<[number, number]>>}>}>} load
 *   fetches samples.json; strokes in the digit's unit box (0–1 of its longer side)
 * @param {number} [first] which digit comes first (then the next, in turn); by chance when not given
 * @returns {{next: function(): Promise<{label: string, strokes: Array<Array<[number, number]>>}>}} each
 *   sample in turn, as samples.json has it
 */
export function createSamples(load, first) {
  let samples = null; // the promise of samples.json, once asked for
  let turn = first;
  return {
    async next() {
      samples ??= load().catch((err) => {
        samples = null; // offline before the first sample, say: the next request tries again
        throw err;
      });
      const { digits } = await samples;
      turn ??= Math.floor(Math.random() * digits.length);
      return digits[turn++ % digits.length];
    },
  };
}

/** The JSON at `url`; rejects with the HTTP status when it is not 200-299. */
export async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}
