/**
 * The network view's DOM, every lookup of network.html: one section per layer ([data-layer=NAME], its tiles as
 * canvases, one per channel or unit), the first convolution's filters, the digits that excite a tile most, the
 * saliency map over the input. Keyboard: each layer's tiles are one tab stop; the arrow keys, Home and End move
 * across its channels, and the focused (or hovered, or tapped) tile shows its digits.
 */
import { channelMaxima, channels, describeLayer, fillTiles, filterTiles, tileSize } from './layers.js';

const $ = (id) => document.getElementById(id);

export const elements = {
  root: $('network'), // data-ready: "true" once it shows the current drawing
  pad: $('pad'),
  clear: $('clear'),
  layers: $('layers'),
  filters: $('filters'),
  excites: $('excites'), // data-layer, data-channel: the tile whose digits are shown
  excitesTitle: $('excites-title'),
  excitesDigits: $('excites-digits'),
  saliency: $('saliency'), // data-ready: "true" once its map is the current drawing's
  saliencyCanvas: $('saliency-map'),
  saliencyText: $('saliency-text'),
  status: $('status'), // data-state: loading | ready | error
};

/** The page's config (pipeline/build/site.py page_config) and the build's hash. */
export function readConfig() {
  return JSON.parse($('app-config').textContent);
}
export function assetVersion() {
  return document.querySelector('meta[name="asset-version"]').content;
}

/**
 * One section per layer, in order, with a canvas per channel.
 * @param {object} network network.json (js/network/layers.js)
 * @param {function(object, number): void} onPick a tile was hovered, focused or tapped: (layer, channel)
 * @returns {{show: function(object): void}} show(activations): draws every layer and its sentence
 */
export function buildLayers(network, labels, onPick) {
  const parts = network.layers.map((layer) => buildLayer(layer, labels, onPick));
  return {
    show(values) {
      for (const part of parts) part.show(values[part.layer.name].values);
    },
  };
}

function buildLayer(layer, labels, onPick) {
  const [h, w] = tileSize(layer.shape);
  const count = channels(layer.shape);
  const section = document.createElement('section');
  section.className = `layer layer-${layer.kind}`;
  section.dataset.layer = layer.name;
  const heading = document.createElement('h3');
  heading.id = `layer-${layer.name}`;
  heading.textContent = layer.name;
  const facts = document.createElement('p');
  facts.className = 'layer-facts';
  facts.textContent = `${layer.type} · ${layer.shape.join('×')}${layer.weights ? ` · ${layer.weights.toLocaleString('en')} weights` : ''}`;
  const tiles = document.createElement('div');
  tiles.className = 'tiles';
  tiles.setAttribute('role', 'group');
  tiles.setAttribute('aria-labelledby', heading.id);
  const text = document.createElement('p');
  text.className = 'layer-text';
  const canvases = [], images = [];
  for (let c = 0; c < count; c++) {
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [w, h];
    canvas.className = 'tile';
    canvas.dataset.channel = String(c);
    canvas.tabIndex = c === 0 ? 0 : -1;
    canvas.setAttribute('role', 'img');
    const unit = layer.kind === 'output' ? (labels[c] ?? 'not a digit') : `${layer.shape.length === 3 ? 'channel' : 'unit'} ${c + 1}`;
    canvas.setAttribute('aria-label', `${layer.name} ${unit}`);
    canvas.title = unit;
    tiles.append(canvas);
    canvases.push(canvas);
    images.push(new ImageData(w, h));
  }
  if (layer.kind === 'output') tiles.append(...labels.concat('?').slice(0, count).map(labelOf));
  const pick = (c) => onPick(layer, c);
  if (layer.top) {
    tiles.addEventListener('pointerover', ({ target }) => target.dataset.channel && pick(Number(target.dataset.channel)));
    tiles.addEventListener('click', ({ target }) => target.dataset.channel && pick(Number(target.dataset.channel)));
    tiles.addEventListener('focusin', ({ target }) => target.dataset.channel && pick(Number(target.dataset.channel)));
  }
  tiles.addEventListener('keydown', (event) => moveFocus(event, canvases));
  section.append(heading, facts, tiles, text);
  elements.layers.append(section);
  const scale = layer.kind === 'output' || layer.kind === 'input' ? 1 : undefined; // else the layer's largest value
  const pixels = images.map((image) => new Uint32Array(image.data.buffer));
  const contexts = canvases.map((canvas) => canvas.getContext('2d'));
  return {
    layer,
    show(values) {
      const maxima = channelMaxima(values, layer.shape);
      fillTiles(values, layer.shape, pixels, scale ?? Math.max(...maxima));
      contexts.forEach((context, c) => context.putImageData(images[c], 0, 0));
      text.textContent = describeLayer(layer, values, labels, maxima);
    },
  };
}

function labelOf(label) {
  const span = document.createElement('span');
  span.className = 'tile-label';
  span.setAttribute('aria-hidden', 'true');
  span.textContent = label;
  return span;
}

/** Roving focus across a layer's tiles: arrows step, Home and End jump. */
function moveFocus(event, canvases) {
  const at = canvases.indexOf(document.activeElement);
  if (at < 0) return;
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  const next = event.key === 'Home' ? 0 : event.key === 'End' ? canvases.length - 1 : step ? at + step : -1;
  if (next < 0 || next >= canvases.length) return;
  event.preventDefault();
  canvases[at].tabIndex = -1;
  canvases[next].tabIndex = 0;
  canvases[next].focus();
}

/** The first convolution's filters as tiles. */
export function showFilters(filters) {
  if (!filters?.shape) return;
  const [kh, kw] = filters.shape;
  for (const [f, tile] of filterTiles(filters).entries()) {
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [kw, kh];
    canvas.className = 'tile';
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `filter ${f + 1} of ${filters.layer}`);
    canvas.getContext('2d').putImageData(new ImageData(tile, kw, kh), 0, 0);
    elements.filters.append(canvas);
  }
}

/**
 * Show the MNIST test digits that excite a tile most, cut from the sprite.
 * @param {object} layer network.json's; layer.top[channel]: indices into the sprite
 * @param {number} channel
 * @param {ImageBitmap} sprite network.png
 * @param {object} digits network.json's digits: {tile, columns, test_indices}
 */
export function showExcites(layer, channel, sprite, digits) {
  const unit = layer.shape.length === 3 ? 'channel' : 'unit';
  elements.excites.dataset.layer = layer.name;
  elements.excites.dataset.channel = String(channel);
  elements.excitesTitle.textContent = `The MNIST test digits that excite ${layer.name} ${unit} ${channel + 1} most`;
  const { tile, columns } = digits;
  elements.excitesDigits.replaceChildren(...layer.top[channel].map((i) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = tile;
    canvas.className = 'tile';
    canvas.dataset.testIndex = String(digits.test_indices[i]);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `MNIST test digit ${digits.test_indices[i]}`);
    canvas.getContext('2d').drawImage(sprite, (i % columns) * tile, Math.floor(i / columns) * tile, tile, tile, 0, 0, tile, tile);
    return canvas;
  }));
}

/** The saliency map (0–1 importance per input pixel) drawn in the accent colour over a copy of the input. */
export function showSaliency(image, map, sentence, size) {
  const canvas = elements.saliencyCanvas;
  [canvas.width, canvas.height] = [size, size];
  const pixels = new ImageData(size, size);
  const top = Math.max(...map, 1e-9);
  for (let i = 0; i < size * size; i++) {
    const heat = map[i] / top, ink = image[i] * 255 * (1 - heat);
    pixels.data.set([ink + 255 * heat, ink + 120 * heat, ink, 255], i * 4);
  }
  canvas.getContext('2d').putImageData(pixels, 0, 0);
  elements.saliencyText.textContent = sentence;
}

export function setReady(element, ready) {
  element.dataset.ready = String(ready);
}

export function showStatus(state, message) {
  elements.status.dataset.state = state;
  elements.status.textContent = message;
}

/** Run `handler` on the Clear button, and on Escape or Delete when focus is not in the layers. */
export function onClear(handler) {
  elements.clear.addEventListener('click', handler);
  document.addEventListener('keydown', (event) => {
    if ((event.key === 'Escape' || event.key === 'Delete') && !elements.layers.contains(document.activeElement)) handler();
  });
}
