/**
 * A seeded generator of uniform numbers in [0, 1) (mulberry32, a small, fast, well-mixed
 * 32-bit generator): the same seed, the same sequence. Shared by js/adapt.js (its augmented
 * copies) and js/train/model.js (its shifted images).
 * @param {number} seed
 * @returns {function(): number}
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
