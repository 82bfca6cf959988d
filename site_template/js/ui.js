/**
 * Everything the page shows: every DOM lookup lives here. The elements come
 * from index.html (rendered by `pipeline build`); the probability rows are
 * rendered there from config.labels, then one for config.notADigit. It renders
 * what it is given and keeps no reading of its own.
 *
 * What a screen reader hears: #announcer is the page's one live region, told
 * at pen-up and after what the visitor did (a correction, Undo, Forget),
 * never while a stroke is drawn. #status is the visible sentence beside the
 * reading (the doubt's reason, or the invitation to correct it); it is not
 * live, since it follows the pen.
 */
import { doubtSentence } from './doubt.js';

const $ = (id) => document.getElementById(id);

export const elements = {
  pad: $('pad'), // <canvas>: the drawing surface
  clear: $('clear'), // <button>
  prediction: $('prediction'), // <output>: the digits read, left to right; data-strokes
  digits: $('digits'), // one <li> per digit read (shown from two digits on): its top choices, a button to pick it
  probabilities: $('probabilities'), // one child per class: data-digit, data-p (of the picked digit)
  modelView: $('model-view'), // one <canvas> per digit read: the imageSize² image the model was given
  status: $('status'), // data-state: loading | ready | error; beside the reading: why a "?", or how to correct it
  undo: $('undo'), // button: takes back the last correction, offered for UNDO_MS after it
  sample: $('sample'), // button: draws a sample MNIST digit on the pad
  backend: $('backend'), // the tfjs backend's name, small print
  announcer: $('announcer'), // aria-live region: what a screen reader hears
  personal: $('personal'), // data-examples: the visitor's digits kept; data-state: shipped | adapting | personal
  personalText: $('personal-text'),
  personalControls: document.querySelector('#personal .personal-controls'),
  download: $('download'), // button: the kept digits as a CSV file
  forget: $('forget'), // button: asks to delete every kept digit (#forget-yes does)
  forgetConfirm: document.querySelector('#personal .forget-confirm'),
  forgetYes: $('forget-yes'),
  forgetNo: $('forget-no'),
  seeNetwork: $('see-network'), // <a>: network.html with the listed digit's image in its #digit= fragment
};

const rows = [...elements.probabilities.children]; // one per class: the digits, then not a digit
const TOP_CHOICES = 3; // choices listed under each digit of a number
const READY = 'Ready: draw a digit, or a number.';
const INVITE = 'Wrong? Pick the right one below.'; // beside a sure reading
const ASK_TO_TEACH = elements.personalText.textContent; // index.html's note, shown while nothing is kept

/** The page's contract rendered by the build (pipeline/build/site.py page_config): {imageSize, fitSize, numClasses,
 * labels, doubtBelow, tornAbove, segmentation (js/segment.js's rules), pen (js/drawing.js's), modelUrl, ...}. */
export function readConfig() {
  return JSON.parse($('app-config').textContent);
}

/** The build's content hash, for cache-busting URLs the scripts build themselves. */
export function assetVersion() {
  return document.querySelector('meta[name="asset-version"]').content;
}

/** Run `handler` on the Clear button, and on Escape or Delete anywhere on the page. */
export function onClear(handler) {
  elements.clear.addEventListener('click', handler);
  document.addEventListener('keydown', (event) => {
    if ((event.key === 'Escape' || event.key === 'Delete') && !event.repeat) {
      event.preventDefault();
      handler();
    }
  });
}

/** A human sentence for why the model could not load: a ModelError (js/model.js) or anything else. */
export function loadFailure(err) {
  if (err?.stage === 'backend') return `${err.message} Please try a current Chrome, Firefox, Safari or Edge.`;
  if (err?.stage === 'model') {
    return `Sorry, the digit model could not be loaded: its files are missing or damaged. Please reload the page; if that does not help, the site needs to be rebuilt. (${err.message})`;
  }
  return `Sorry, the digit model could not be loaded. Please reload the page. (${err.message})`;
}

/** The model is ready: say so, and show the backend (also as body[data-backend]). */
export function showReady(backend) {
  elements.status.dataset.state = 'ready';
  elements.status.textContent = READY;
  elements.backend.textContent = backend;
  document.body.dataset.backend = backend;
  document.body.dataset.ready = 'true';
}

/** Loading failed: a human message in place of the status. */
export function showError(message) {
  elements.status.dataset.state = 'error';
  elements.status.textContent = message;
  elements.announcer.textContent = message;
  elements.pad.setAttribute('aria-disabled', 'true');
}

/**
 * Run `handler(label)` when the visitor taps a row of #probabilities: the listed digit is a `label`, or
 * `notADigit` (config.notADigit) for the last row.
 */
export function onTeach(handler, notADigit) {
  elements.probabilities.addEventListener('click', (event) => {
    const row = event.target.closest('li');
    if (row && !row.querySelector('button').disabled) handler(row.dataset.digit ?? notADigit);
  });
}

/** Run `handler()` on "Try a sample digit". */
export function onSample(handler) {
  elements.sample.addEventListener('click', handler);
}

/** The sample digits could not be fetched (`err`; offline before the first one, say): say so beside the reading. */
export function showSampleProblem(err) {
  elements.status.textContent = `Sorry, the sample digits could not be loaded (${err.message}).`;
  elements.announcer.textContent = elements.status.textContent;
}

/** Run `handler(index)` when the visitor picks a digit of the number in #digits. */
export function onPick(handler) {
  elements.digits.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-index]');
    if (button) handler(Number(button.dataset.index));
  });
}

/**
 * How many of the visitor's digits are kept and which model reads: state 'shipped', 'adapting' (learning
 * from them) or 'personal' (learnt); `taught`: the label just kept, said in the status; `note`: said after.
 */
export function showPersonal(count, { state = elements.personal.dataset.state, taught = null, note = '' } = {}) {
  elements.personal.dataset.examples = String(count);
  elements.personal.dataset.state = state;
  elements.personalControls.hidden = count === 0;
  const digits = count === 1 ? 'your one digit' : `${count} of your digits`;
  const texts = {
    adapting: `Learning your hand from ${digits}…`,
    personal: `Personal model: learnt from ${digits}, on this device only.`,
    shipped: `${digits} kept on this device, never sent anywhere. Download them to train a model on your hand.`,
  };
  elements.personalText.textContent = `${count === 0 ? ASK_TO_TEACH : texts[state]}${note ? ` ${note}` : ''}`;
  if (taught !== null) {
    elements.status.textContent = `Kept: that was ${named(taught)}.`;
    elements.announcer.textContent = `Kept: that was ${named(taught)}. ${count} of your digits kept.`;
  }
}

/** Offer Undo beside the status, for `seconds` (js/session.js withdraws it then); said aloud. */
export function offerUndo(seconds) {
  elements.undo.parentElement.hidden = false;
  elements.undo.dataset.strokes = elements.prediction.dataset.strokes; // the ink corrected (see showReading)
  elements.announcer.textContent += ` Undo is offered for ${seconds} seconds.`;
}

/** Undo is no longer offered; focus on it moves to the status line rather than to the page. */
export function withdrawUndo() {
  const focused = document.activeElement === elements.undo;
  elements.undo.parentElement.hidden = true;
  if (focused) elements.status.focus();
}

/** Run `handler()` on Undo. */
export function onUndo(handler) {
  elements.undo.addEventListener('click', () => {
    withdrawUndo();
    handler();
  });
}

/** The last correction was taken back: `label` is no longer kept; `count` digits are. */
export function showUndone(label, count) {
  const text = `Undone: "${named(label)}" is no longer kept; ${count} of your digits kept.`;
  elements.status.textContent = text;
  elements.announcer.textContent = text;
  elements.status.focus();
}

/**
 * The one sentence #personal's note gives when the personal model is learnt again, or '' for none: the
 * kept one was learnt on another build's features (`updated`) or was damaged or unreadable (`damaged`);
 * `records` damaged records of the visitor's digits were deleted; `learnt` usable digits are left.
 */
export function relearntNote({ updated = false, damaged = false, records = 0, learnt }) {
  const left = `${learnt} digit${learnt === 1 ? '' : 's'}`;
  const deleted = `${records} kept record${records === 1 ? '' : 's'} of your digits`;
  const was = records === 1 ? 'was' : 'were';
  if (records && !learnt) return `${deleted} ${was} damaged and deleted; reading with the shipped model.`;
  if (records && damaged) return `Your personal model and ${deleted} were damaged (the records deleted); learnt it again from the ${left} left.`;
  if (records) return `${deleted} ${was} damaged and deleted; learnt your personal model again from the ${left} left.`;
  if (damaged) return `Your personal model was damaged; learnt it again from your ${left}.`;
  if (updated) return 'The model was updated since: learnt again from your digits.';
  return '';
}

/** Keeping a digit failed (no IndexedDB, storage full): say so where the kept digits are counted. */
export function showPersonalProblem(message) {
  elements.personalText.textContent = message;
}

/**
 * Run `download()` on its button, and `forget()` once the visitor has confirmed it: Forget asks first
 * (#forget-yes, #forget-no), with focus on the question's answer that keeps everything.
 */
export function onPersonalButtons({ download, forget }) {
  elements.download.addEventListener('click', download);
  const asking = (ask) => {
    elements.forgetConfirm.hidden = !ask;
    elements.personalControls.hidden = ask;
  };
  elements.forget.addEventListener('click', () => {
    asking(true);
    elements.forgetNo.focus();
  });
  elements.forgetNo.addEventListener('click', () => {
    asking(false);
    elements.forget.focus();
  });
  elements.forgetYes.addEventListener('click', () => {
    elements.forgetConfirm.hidden = true;
    withdrawUndo();
    elements.status.focus(); // before the buttons hide, so focus never falls to the page
    forget();
  });
}

/** Every kept digit and the personal model were deleted: say so on the status line, focused, and aloud. */
export function showForgotten() {
  const text = 'Forgotten: your digits and personal model are deleted from this device.';
  elements.status.textContent = text;
  elements.announcer.textContent = text;
  elements.status.focus();
}

/** Offer `text` as a file download named `name`. */
export function saveFile(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * Show what was read: the number, each digit's top choices and model image,
 * and the picked digit's probabilities; or nothing, for a blank pad.
 *
 * @param {object} result
 * @param {Array<{probabilities: Float32Array, image: Float32Array, verdict: object}>} result.digits
 *   left to right (js/reader.js): numClasses probabilities (0–1), the imageSize²
 *   image the model read (0–1, white ink on black), doubt.js's verdict
 * @param {number} result.listed the digit whose probabilities are listed, -1 for none
 * @param {string[]} result.labels the class labels, config.labels
 * @param {number} result.strokes completed strokes this reading accounts for
 * @param {boolean} result.final true at pen-up (the only time a screen reader is told)
 */
export function showReading({ digits, listed, labels, strokes, final }) {
  const verdicts = digits.map(({ verdict }) => verdict);
  const shown = verdicts.map(({ shown }) => shown).join('');
  elements.prediction.textContent = shown;
  showChoices(digits, labels, verdicts);
  showModelView(digits);
  showListed(digits, listed);
  const doubt = doubtSentence(verdicts);
  // "Kept: that was a 1." stays beside Undo while the same ink is read again (by the head learnt from it).
  const corrected = !elements.undo.parentElement.hidden && String(strokes) === elements.undo.dataset.strokes;
  if (elements.status.dataset.state === 'ready' && !corrected) {
    elements.status.textContent = digits.length === 0 ? READY : doubt || INVITE;
  }
  elements.prediction.dataset.strokes = String(strokes);
  // A reading is said at pen-up, and again (a new head read the ink) only when it changed: what the visitor
  // just did (Kept, Undone, Forgotten) is not drowned by the same reading said once more.
  const sentence = spoken(digits, shown, doubt);
  if (final && sentence !== elements.announcer.dataset.reading) {
    elements.announcer.dataset.reading = sentence;
    elements.announcer.textContent = sentence;
  }
}

/** The sentence a screen reader hears at pen-up. */
function spoken(digits, shown, doubt) {
  if (digits.length === 0) return '';
  if (doubt) return `Not sure: ${doubt}`;
  if (digits.length === 1) return `Looks like ${shown}, ${percent(Math.max(...digits[0].probabilities))} sure.`;
  return `Looks like ${shown}.`;
}

/**
 * Digit `listed`'s probabilities in #probabilities (all 0 when -1), its most likely class marked (not a
 * digit too), and its button in #digits pressed. With nothing listed the rows are disabled: no focus stops
 * that would do nothing.
 */
export function showListed(digits, listed) {
  const probabilities = digits[listed]?.probabilities ?? null;
  const best = probabilities ? argmax(probabilities) : -1;
  // A row about to be disabled (Escape pressed on it) gives its focus to the status line, not to the page.
  if (!probabilities && elements.probabilities.contains(document.activeElement)) elements.status.focus();
  rows.forEach((row, i) => {
    const p = probabilities?.[i] ?? 0;
    row.dataset.p = String(p);
    row.style.setProperty('--p', p);
    row.toggleAttribute('data-best', i === best);
    row.querySelector('.value').textContent = percent(p);
    row.querySelector('button').disabled = !probabilities;
  });
  elements.digits.querySelectorAll('button').forEach((button, i) => button.setAttribute('aria-pressed', String(i === listed)));
  const image = digits[listed]?.image; // the network view opens with it, in the URL's fragment (never sent)
  elements.seeNetwork.hidden = !image;
  if (image) elements.seeNetwork.href = `network.html#digit=${btoa(String.fromCharCode(...image.map((v) => Math.round(v * 255))))}`;
}

/** Under the number, for two digits or more: each digit's top choices, as a button that picks it. */
function showChoices(digits, labels, verdicts) {
  elements.digits.hidden = digits.length < 2;
  const items = digits.length < 2 ? [] : digits.map(({ probabilities }, index) => {
    const order = [...labels.keys()].sort((a, b) => probabilities[b] - probabilities[a]).slice(0, TOP_CHOICES); // digits only
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.index = String(index);
    button.setAttribute('aria-label', `Digit ${index + 1}, ${verdicts[index].shown}: show its ten probabilities`);
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = verdicts[index].shown;
    const choices = order.map((i) => {
      const choice = document.createElement('span');
      choice.className = 'choice';
      choice.textContent = `${labels[i]} ${percent(probabilities[i], 0)}`;
      return choice;
    });
    button.append(label, ...choices);
    const item = document.createElement('li');
    item.append(button);
    return item;
  });
  elements.digits.replaceChildren(...items);
}

/** One canvas per digit, in reading order: the image the model was given, one canvas pixel per image pixel. */
function showModelView(digits) {
  const canvases = digits.map(({ image }, index) => {
    const size = Math.round(Math.sqrt(image.length));
    const canvas = elements.modelView.children[index] ?? document.createElement('canvas');
    [canvas.width, canvas.height] = [size, size];
    const pixels = new ImageData(size, size);
    image.forEach((v, i) => {
      pixels.data.fill(Math.round(255 * v), 4 * i, 4 * i + 3);
      pixels.data[4 * i + 3] = 255;
    });
    canvas.getContext('2d').putImageData(pixels, 0, 0);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `Digit ${index + 1} as the model sees it, ${size} by ${size} pixels`);
    return canvas;
  });
  elements.modelView.replaceChildren(...canvases);
}

/** Tell screen readers the pad was cleared. */
export function announceCleared() {
  elements.announcer.dataset.reading = '';
  elements.announcer.textContent = 'Cleared.';
}

/** A label in a sentence: "a 7", "an 8", "not a digit". */
function named(label) {
  if (!/^\d$/.test(label)) return label;
  return `${label === '8' ? 'an' : 'a'} ${label}`;
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function percent(p, decimals = 1) {
  return `${(100 * p).toFixed(decimals)}%`;
}
