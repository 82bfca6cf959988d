/**
 * The visitor's own digits: drawings they labelled ("Wrong? Tap the right
 * digit"), kept in this browser's IndexedDB and nowhere else, downloadable as
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

/** Keep one labelled example; resolves to the number kept. */
export function addExample(example) {
  return withStore('readwrite', (store) => {
    store.add(example);
    return store.count(); // in the same transaction: counts the one just added
  });
}

/** The number of examples kept (0 when there is no database). */
export function countExamples() {
  return withStore('readonly', (store) => store.count());
}

/** Every example kept, oldest first. */
export function allExamples() {
  return withStore('readonly', (store) => store.getAll());
}

/** Keep `head` (js/adapt.js's Head, plus `examples`: how many it learnt from) as the one in use. */
export function saveHead(head) {
  return withStore('readwrite', (store) => store.put(head, HEAD_KEY), HEAD_STORE);
}

/** The head kept by saveHead, or undefined. */
export function loadHead() {
  return withStore('readonly', (store) => store.get(HEAD_KEY), HEAD_STORE);
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
