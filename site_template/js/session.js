/**
 * The visitor's session with their own digits: which digit of the reading on screen is listed (and would
 * be taught), teaching it, the personal head learnt from every kept digit, downloading and forgetting them.
 * No DOM: the store (js/personal.js), the model client, the view (js/ui.js) and the clock are handed in.
 *
 * The visitor's digits are kept in IndexedDB (js/personal.js); the worker learns a personal head from all
 * of them (js/adapt.js), kept there too with the features it was learnt on. One adaptation runs at a
 * time; digits taught meanwhile start one more when it ends. #personal says 'personal' with N examples
 * only once the head in use learnt from all N. Forget ends the generation: an adaptation still running
 * then keeps nothing. So does Undo, offered for UNDO_MS after each correction: it deletes the digit just
 * kept and puts back the head kept before it, so IndexedDB holds what it held before the correction.
 */
import { listedDigit } from './reader.js';

export const UNDO_MS = 10_000; // how long Undo is offered after a correction

/**
 * @param {object} parts
 * @param {object} parts.store js/personal.js's keptExamples, exampleFault, addExample, deleteExample,
 *   countExamples, loadHead, saveHead, forgetHead, forgetAll, toKaggleCsv
 * @param {Promise<object>} parts.ready the model client (js/model.js); rejected: the shipped model never loaded
 * @param {object} parts.view js/ui.js's showPersonal, relearntNote, showPersonalProblem, showListed, saveFile,
 *   offerUndo, withdrawUndo, showUndone, showForgotten
 * @param {{imageSize: number, labels: string[], notADigit: string, featuresVersion: string}} parts.contract the
 *   page's config: a visitor's label is one of `labels` or `notADigit` (the class after the digits)
 * @param {function(): Date} parts.now the clock, for when a digit was kept
 * @param {function({onlyIfShown?: boolean}): void} parts.readAgain read the drawing again (scheduler.again)
 */
export function createSession({ store, ready, view, contract, now, readAgain, setTimer = setTimeout }) {
  const { imageSize, labels, notADigit, featuresVersion } = contract;
  const classOf = (label) => (label === notADigit ? labels.length : labels.indexOf(label));
  let loaded = null; // the model client once ready
  ready.then((model) => { loaded = model; }, () => {}); // a failure is shown by whoever started the model
  let reading = { digits: [], picked: -1 }; // the reading on screen; the digit the visitor picked, -1 for none
  let adapting = null; // the running adaptation, a promise
  let adaptAgain = false;
  let generation = 0;
  let undoable = null; // the last correction, while Undo is offered: {key, label, head} (head: the one kept before)

  /** Why a kept record cannot be learnt from, '' when it can (js/personal.js's exampleFault, with this page's contract). */
  const unusable = (example) => store.exampleFault(example, { ...contract, labels: [...labels, notADigit] });

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
          const head = await model.adapt(images, examples.map(({ label }) => classOf(label)));
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

    /**
     * Keep the listed digit, labelled `label` by the visitor (a digit, or notADigit), and learn from it;
     * nothing when none is listed. Undo is offered for UNDO_MS.
     */
    async teach(label) {
      const digit = reading.digits[listedDigit(reading.digits, reading.picked)];
      if (!digit) return;
      const { image, strokes } = digit;
      const example = { label, image: Uint8Array.from(image, (v) => Math.round(255 * v)), strokes, added: now().toISOString() };
      let kept;
      try {
        const head = await store.loadHead().catch(() => undefined); // what Undo puts back
        const { key, count } = await store.addExample(example);
        kept = { key, label, head };
        view.showPersonal(count, { taught: label, state: loaded ? 'adapting' : 'shipped' });
      } catch (err) {
        view.showPersonalProblem(`Sorry, this browser would not keep your digit (${err.message}).`);
        return;
      }
      undoable = kept;
      view.offerUndo(UNDO_MS / 1000);
      setTimer(() => {
        if (undoable !== kept) return; // undone, forgotten or followed by another correction meanwhile
        undoable = null;
        view.withdrawUndo();
      }, UNDO_MS);
      const model = await ready.catch(() => null);
      if (model) await adapt(model);
    },

    /**
     * Take back the last correction, while Undo is offered: its digit is deleted and the head kept before it
     * is kept and read with again (none: the shipped model); an adaptation still running keeps nothing. A
     * head that had not learnt every digit still kept (the one before was still learning) is learnt again.
     */
    async undo() {
      const last = undoable;
      if (!last) return;
      undoable = null;
      generation += 1;
      await adapting?.catch(() => {});
      await store.deleteExample(last.key);
      if (last.head === undefined) await store.forgetHead();
      else await store.saveHead(last.head);
      const count = await store.countExamples();
      view.showUndone(last.label, count);
      const model = await ready.catch(() => null);
      if (!model) return;
      if (count > 0 && last.head?.examples !== count) {
        await adapt(model);
        return;
      }
      await model.useHead(last.head ?? null).catch(() => {}); // a head the worker refuses leaves the shipped model
      view.showPersonal(count, { state: count > 0 ? 'personal' : 'shipped' });
      readAgain();
    },

    /** Offer the kept digits as a Kaggle-style CSV: the digits (the CSV has no label for "not a digit"). */
    async download() {
      const { examples } = await store.keptExamples(unusable);
      view.saveFile('my-digits.csv', store.toKaggleCsv(examples.filter(({ label }) => labels.includes(label))), 'text/csv');
    },

    /** Delete the kept digits and head, read with the shipped model again, and say so. */
    async forget() {
      generation += 1;
      undoable = null;
      await store.forgetAll();
      const model = await ready.catch(() => null);
      await model?.useHead(null);
      view.showPersonal(0, { state: 'shipped' });
      view.showForgotten();
      readAgain();
    },
  };
}
