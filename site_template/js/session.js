/**
 * The visitor's session with their own digits: which digit of the reading on screen is listed (and would
 * be taught), teaching it, the personal head learnt from every kept digit, downloading and forgetting them.
 * No DOM: the store (js/personal.js), the model client, the view (js/ui.js) and the clock are handed in.
 *
 * The visitor's digits are kept in IndexedDB (js/personal.js); the worker learns a personal head from all
 * of them (js/adapt.js), kept there too with the features it was learnt on. One adaptation runs at a
 * time; digits taught meanwhile start one more when it ends. #personal says 'personal' with N examples
 * only once the head in use learnt from all N. Forget ends the generation: an adaptation still running
 * then keeps nothing.
 */
import { listedDigit } from './reader.js';

/**
 * @param {object} parts
 * @param {object} parts.store js/personal.js's keptExamples, exampleFault, addExample, countExamples,
 *   loadHead, saveHead, forgetHead, forgetAll, toKaggleCsv
 * @param {Promise<object>} parts.ready the model client (js/model.js); rejected: the shipped model never loaded
 * @param {object} parts.view js/ui.js's showPersonal, relearntNote, showPersonalProblem, showListed, saveFile
 * @param {{imageSize: number, labels: string[], featuresVersion: string}} parts.contract the page's config
 * @param {function(): Date} parts.now the clock, for when a digit was kept
 * @param {function({onlyIfShown?: boolean}): void} parts.readAgain read the drawing again (scheduler.again)
 */
export function createSession({ store, ready, view, contract, now, readAgain }) {
  const { imageSize, labels, featuresVersion } = contract;
  let loaded = null; // the model client once ready
  ready.then((model) => { loaded = model; }, () => {}); // a failure is shown by whoever started the model
  let reading = { digits: [], picked: -1 }; // the reading on screen; the digit the visitor picked, -1 for none
  let adapting = null; // the running adaptation, a promise
  let adaptAgain = false;
  let generation = 0;

  /** Why a kept record cannot be learnt from, '' when it can (js/personal.js's exampleFault, with this page's contract). */
  const unusable = (example) => store.exampleFault(example, contract);

  /**
   * At start: the kept digits (a damaged record is deleted: js/personal.js's keptExamples), then the kept head
   * if the worker finds it whole and learnt on this build's features (js/adapt.js's headFault); else a head is
   * learnt again from the digits and #personal's note says why. With no usable digit the shipped model reads
   * and no head is kept.
   */
  async function restore() {
    let kept;
    try {
      kept = await store.keptExamples(unusable);
    } catch {
      return; // no IndexedDB: nothing is kept
    }
    const { examples: { length: count }, dropped } = kept;
    if (count === 0) {
      if (dropped) await store.forgetHead().catch(() => {}); // learnt from records now deleted as damaged
      view.showPersonal(0, { state: 'shipped', note: view.relearntNote({ records: dropped, learnt: 0 }) });
      return;
    }
    view.showPersonal(count, { state: 'shipped' });
    const model = await ready.catch(() => null);
    if (!model) return;
    const head = await store.loadHead().catch(() => null); // a head that cannot be read is as damaged as null
    const refused = await useKeptHead(model, head);
    if (!refused && !dropped) {
      view.showPersonal(count, { state: 'personal' });
      readAgain({ onlyIfShown: true }); // drawn while the page started
      return;
    }
    // Learnt again, also when records were deleted as damaged (the head may have learnt their damage). The
    // refused head is not deleted first: the one learnt replaces it, and if learning fails now (offline, say)
    // the worker still reads with the shipped model and the next load tries again, so a head the worker
    // could not check for a passing reason (js/adapt.js did not load) is not lost.
    await adapt(model, { updated: refused === 'updated', damaged: refused === 'damaged', records: dropped });
  }

  /**
   * Read with the kept head (undefined: none kept). Resolves to '' when the worker took it, else why not:
   * 'none', 'updated' (learnt on another build's features) or 'damaged' (anything else the worker refuses).
   */
  async function useKeptHead(model, head) {
    if (head === undefined) return 'none';
    if (typeof head !== 'object' || head === null) return 'damaged'; // null would ask the worker for the shipped model
    try {
      await model.useHead(head);
      return '';
    } catch {
      const other = typeof head.featuresVersion === 'string' && head.featuresVersion !== featuresVersion;
      return other ? 'updated' : 'damaged';
    }
  }

  /**
   * Learn a head from every usable kept digit, keep it and read with it; shows the state throughout. `why` the
   * head is learnt again, for #personal's note (ui.relearntNote): {updated, damaged, records}.
   */
  function adapt(model, why = {}) {
    adaptAgain = Boolean(adapting);
    adapting ??= (async () => {
      const mine = generation;
      try {
        do {
          adaptAgain = false;
          const { examples, dropped } = await store.keptExamples(unusable);
          const note = view.relearntNote({ ...why, records: (why.records ?? 0) + dropped, learnt: examples.length });
          if (examples.length === 0) { // every record was damaged: nothing to learn from
            await store.forgetHead();
            await model.useHead(null);
            if (mine !== generation) return;
            view.showPersonal(0, { state: 'shipped', note });
            readAgain();
            continue;
          }
          view.showPersonal(examples.length, { state: 'adapting' });
          const size = imageSize * imageSize;
          const images = new Float32Array(examples.length * size);
          examples.forEach(({ image }, i) => images.set(Float32Array.from(image, (v) => v / 255), i * size));
          const head = await model.adapt(images, examples.map(({ label }) => labels.indexOf(label)));
          if (mine !== generation) return; // forgotten meanwhile
          await store.saveHead({ ...head, examples: examples.length });
          if (!adaptAgain) { // else a digit taught meanwhile: learning from it too is next
            view.showPersonal(examples.length, { state: 'personal', note });
            readAgain(); // the drawing on the pad, by the new head
          }
        } while (adaptAgain);
      } catch (err) {
        if (mine === generation) {
          view.showPersonal(await store.countExamples().catch(() => 0), { state: 'shipped', note: `Could not learn from them now (${err.message}).` });
        }
      } finally {
        adapting = null;
      }
    })();
    return adapting;
  }

  return {
    restore,

    /** A reading is on screen: returns the index of the digit whose probabilities are listed (-1: none). */
    show(digits) {
      reading = { digits, picked: digits.length === 0 || reading.picked >= digits.length ? -1 : reading.picked };
      return listedDigit(digits, reading.picked);
    },

    /** The visitor picked digit `index` of the reading on screen: list its probabilities. */
    pick(index) {
      reading.picked = index;
      view.showListed(reading.digits, listedDigit(reading.digits, index));
    },

    /** Keep the listed digit, labelled `label` by the visitor, and learn from it; nothing when none is listed. */
    async teach(label) {
      const digit = reading.digits[listedDigit(reading.digits, reading.picked)];
      if (!digit) return;
      const { image, strokes } = digit;
      const example = { label, image: Uint8Array.from(image, (v) => Math.round(255 * v)), strokes, added: now().toISOString() };
      try {
        view.showPersonal(await store.addExample(example), { taught: label, state: loaded ? 'adapting' : 'shipped' });
      } catch (err) {
        view.showPersonalProblem(`Sorry, this browser would not keep your digit (${err.message}).`);
        return;
      }
      const model = await ready.catch(() => null);
      if (model) await adapt(model);
    },

    /** Offer the kept digits as a Kaggle-style CSV. */
    async download() {
      view.saveFile('my-digits.csv', store.toKaggleCsv((await store.keptExamples(unusable)).examples), 'text/csv');
    },

    /** Delete the kept digits and head, and read with the shipped model again. */
    async forget() {
      generation += 1;
      await store.forgetAll();
      const model = await ready.catch(() => null);
      await model?.useHead(null);
      view.showPersonal(0, { state: 'shipped' });
      readAgain();
    },
  };
}
