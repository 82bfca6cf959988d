/**
 * Readings of the drawing, latest wins. No DOM.
 *
 * Readings run one at a time, each on the ink as it is when it starts, the next as soon as one is done:
 * while a stroke is drawn, about one a frame, since pointer moves come once a frame. Each reading is
 * numbered when it starts; clear() takes a number too, so a reading is shown only if nothing newer started
 * after it. A pen usually lifts where it last moved, adding no ink: the reading of that ink, done or
 * running, is then the final one, shown as soon as it is ready rather than read again (pen-up to the
 * reading on screen: BENCHMARKS.md).
 */

/**
 * @param {object} parts
 * @param {Promise<*>} parts.ready what `read` reads with (the model client); rejected: nothing is read
 *   (whoever started it says why)
 * @param {function(): {key: string, input: *}} parts.snapshot the ink as it is now, and a key that is the
 *   same exactly when a reading of it would be the same
 * @param {function(*, *): Promise<*>} parts.read (model, input) -> the reading
 * @param {function(*, *, boolean): void} parts.show (reading, input, final): final at pen-up
 * @param {function(Error): void} parts.fail a reading threw
 */
export function createScheduler({ ready, snapshot, read, show, fail }) {
  let latest = 0; // numbers the readings started and the clears
  let pending = null; // {final}: a reading asked for and not started yet
  let running = false;
  let last = null; // {key, reading}: the newest reading shown and the key of what it read; null: read again
  let heads = 0; // counts the changes of what `read` reads with: a reading by an older one is not reused

  /** Ask for a reading of the ink as it will be when it runs; final: a stroke just ended. */
  function request(final) {
    pending = { final: final || Boolean(pending?.final) };
    if (!running) readWhilePending();
  }

  async function readWhilePending() {
    running = true;
    try {
      const model = await ready.catch(() => null);
      while (model && pending) {
        const { final } = pending;
        pending = null;
        await readOnce(model, final, ++latest);
      }
    } catch (err) {
      fail(err);
    } finally {
      pending = null;
      running = false;
    }
  }

  async function readOnce(model, final, sequence) {
    const { key: ink, input } = snapshot();
    const key = `${heads}:${ink}`;
    if (last?.key === key && !final) return; // nothing new to show
    const reading = last?.key === key ? last.reading : await read(model, input);
    if (sequence !== latest) return; // cleared, or a newer reading started meanwhile
    last = { key, reading };
    show(reading, input, final);
  }

  return {
    request,
    /** The pad was cleared: a reading still running is now stale. */
    clear() {
      latest += 1;
      last = null;
    },
    /**
     * What `read` reads with changed (a personal head learnt or forgotten): read the ink again, as final;
     * with `onlyIfShown`, only when a reading is on screen (none since the start or the last clear: no ink).
     */
    again({ onlyIfShown = false } = {}) {
      heads += 1;
      if (last || !onlyIfShown) request(true);
    },
  };
}
