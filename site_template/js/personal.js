/**
 * The visitor's own digits: drawings they labelled ("Wrong? Pick the right
 * one", a digit or "not a digit"), kept in this browser's IndexedDB and nowhere else, downloadable as
 * a Kaggle-style CSV that `pipeline train --extra-data FILE` reads, and
 * forgotten on request (the whole database is deleted), and the personal head
 * learnt from them (js/adapt.js), so the page reads with it again after a
 * reload, offline too. No DOM.
 *
 * An example: {label: string, image: Uint8Array(imageSize²) (the image the
 * model read, white ink on black, 0–255), strokes: [[x, y], ...][] (the
 * digit's strokes, in its box: 0–1 of its longer side), added: ISO date}.
 */

export const DATABASE = 'digit-pipeline-personal';
const STORE = 'examples';
const HEAD_STORE = 'head'; // one record, HEAD_KEY: the head in use, with the number of examples it learnt from
const HEAD_KEY = 'current';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  const req = indexedDB.open(DATABASE, 2);
  req.onupgradeneeded = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { autoIncrement: true });
    if (!db.objectStoreNames.contains(HEAD_STORE)) db.createObjectStore(HEAD_STORE);
  };
  return request(req);
}

async function withStore(mode, work, name = STORE) {
  const db = await open();
  try {
    const transaction = db.transaction(name, mode);
    const done = new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onerror = transaction.onabort = () => reject(transaction.error);
    });
    const result = await request(work(transaction.objectStore(name)));
    await done;
    return result;
  } finally {
    db.close();
  }
}

/** Keep one labelled example; resolves to its key (for deleteExample) and the number kept. */
export async function addExample(example) {
  let key;
  const count = await withStore('readwrite', (store) => {
    store.add(example).onsuccess = (event) => { key = event.target.result; };
    return store.count(); // in the same transaction: counts the one just added
  });
  return { key, count };
}

/** Delete the example kept under `key` (addExample's). */
export function deleteExample(key) {
  return withStore('readwrite', (store) => store.delete(key));
}

/** The number of examples kept (0 when there is no database). */
export function countExamples() {
  return withStore('readonly', (store) => store.count());
}

/**
 * Every kept example that `fault` finds nothing wrong with, oldest first, and how many others there were;
 * the others are deleted, in the same transaction. They are deleted rather than left: a record that is no
 * object, whose image is not imageSize² bytes or whose label is none of the page's can be neither learnt
 * from nor downloaded as a CSV row, and only this page writes the store (always as exampleFault accepts),
 * so such a record is damage; left, it would be skipped again at every load and counted among the digits.
 * @param {function(*): string} fault why a record cannot be used, '' when it can (exampleFault with the config)
 * @returns {Promise<{examples: object[], dropped: number}>}
 */
export async function keptExamples(fault) {
  const examples = [];
  let dropped = 0;
  await withStore('readwrite', (store) => {
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const at = cursor.result;
      if (!at) return;
      if (fault(at.value)) {
        dropped += 1;
        at.delete();
      } else {
        examples.push(at.value);
      }
      at.continue();
    };
    return store.count(); // settles before the cursor has walked the store; withStore waits for the transaction's end
  });
  return { examples, dropped };
}

/**
 * Why `example` (a kept record: anything at all) cannot be learnt from, or '' when it can: it must be an
 * object whose image is a Uint8Array of imageSize² (the page only ever keeps one; a plain array would be
 * something else's record) and whose label is one of `labels`. Pure.
 * @param {*} example
 * @param {{imageSize: number, labels: string[]}} config the page's
 * @returns {string}
 */
export function exampleFault(example, { imageSize, labels }) {
  if (typeof example !== 'object' || example === null) return 'not an object';
  if (!(example.image instanceof Uint8Array) || example.image.length !== imageSize * imageSize) {
    return `image is not ${imageSize}×${imageSize} bytes`;
  }
  if (!labels.includes(example.label)) return 'label is none of the digits';
  return '';
}

/** Keep `head` (js/adapt.js's Head, plus `examples`: how many it learnt from) as the one in use. */
export function saveHead(head) {
  return withStore('readwrite', (store) => store.put(head, HEAD_KEY), HEAD_STORE);
}

/** The head kept by saveHead, or undefined. */
export function loadHead() {
  return withStore('readonly', (store) => store.get(HEAD_KEY), HEAD_STORE);
}

/** Delete the kept head, if any (the page then reads with the shipped model until one is learnt). */
export function forgetHead() {
  return withStore('readwrite', (store) => store.delete(HEAD_KEY), HEAD_STORE);
}

/** Delete every stored byte: the whole database. */
export function forgetAll() {
  return request(indexedDB.deleteDatabase(DATABASE));
}

/**
 * The examples as Kaggle digit-recognizer CSV (`label,pixel0,…,pixelN−1`, one row each). Pure.
 * @param {Array<{label: string, image: Uint8Array}>} examples
 * @returns {string}
 */
export function toKaggleCsv(examples) {
  const pixels = examples[0]?.image.length ?? 784;
  const header = ['label', ...Array.from({ length: pixels }, (_, i) => `pixel${i}`)].join(',');
  return [header, ...examples.map(({ label, image }) => [label, ...image].join(','))].join('\n') + '\n';
}
