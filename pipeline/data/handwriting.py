"""Turn MNIST images into pen strokes: real handwriting for the browser tests to draw, and for training to redraw.

An MNIST test image is handwriting the model never trained on. To draw it with
the mouse we recover the pen's path: upsample the 28×28 image (bilinear, ×4),
threshold it into an ink mask, open blobs where a loop was filled in, thin the
mask to a 1-px skeleton (Zhang–Suen, then a clean-up that keeps it minimally
8-connected), cut off the spurs thinning grows towards bumps of the outline,
and trace the skeleton into polylines (from its endpoints, preferring straight
continuation, then the closed loops of a "0" or an "8"). The polylines are
smoothed, resampled and scaled into a unit box (`Strokes`); bench/placement.py puts
them on a canvas, alone or as the digits of a number, for the tests and benchmarks.

numpy, and scipy for connected components. Coordinates are (x, y): x to the right, y down, like a canvas.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.ndimage

UPSAMPLE = 4  # the image is traced at this many pixels per MNIST pixel
INK_THRESHOLD = 0.3  # upsampled intensity (0-1) from which a pixel counts as ink
MIN_HOLE = 2.0  # holes in the ink smaller than this (MNIST pixels²) are noise, filled
MIN_SPECK = 3.0  # ink blobs smaller than this (MNIST pixels²) are noise, dropped
MIN_STROKE = 0.08  # strokes shorter than this (fraction of the digit's size) are dropped
BLOB_DEPTH = 1.7  # ink this many times deeper than the typical stroke is a filled-in loop
MIN_BLOB = 1.0  # ... if the deep part covers at least this much (MNIST pixels²)
POINTS_PER_SIDE = 40  # resampling density: points per digit-size of stroke length

# The 8 neighbours of a pixel as (row, col) offsets, clockwise from north.
OFFSETS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


@dataclasses.dataclass(frozen=True)
class Strokes:
    """A digit as pen strokes in a unit box.

    paths: each float64, shape (K, 2), (x, y) in 0-1; the digit's longer side
        spans 0-1 and the shorter one is centred (aspect preserved).
    width: the ink's mean width (twice its depth along the skeleton), as a
        fraction of the box side.
    frame: (x, y, side) of the unit box in the source image, MNIST pixels
        (pixel (r, c) covers x in [c, c+1), y in [r, r+1)); maps the strokes back.
    """

    paths: tuple[np.ndarray, ...]
    width: float
    frame: tuple[float, float, float]


# ------------------------------------------------------------------ raster ops


def upsample(image: np.ndarray, factor: int = UPSAMPLE) -> np.ndarray:
    """Bilinear upsampling. image: uint8 (H, W) 0-255 -> float64 (H*f, W*f) 0-1,
    pixel centres aligned (output pixel u samples input coordinate (u+0.5)/f-0.5)."""

    def weights(n: int) -> np.ndarray:
        src = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        w = np.zeros((n * factor, n))
        rows = np.arange(n * factor)
        np.add.at(w, (rows, lo), 1 - (src - lo))
        np.add.at(w, (rows, hi), src - lo)
        return w

    h, w = image.shape
    return weights(h) @ (image.astype(np.float64) / 255.0) @ weights(w).T


def _neighbours(img: np.ndarray) -> list[np.ndarray]:
    """The 8 neighbour planes of a 0/1 array, clockwise from north (zero outside)."""
    h, w = img.shape
    p = np.zeros((h + 2, w + 2), img.dtype)  # np.pad(img, 1), without its overhead: this runs ~100 times a digit
    p[1:-1, 1:-1] = img
    return [p[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w] for dr, dc in OFFSETS]


def label(mask: np.ndarray) -> np.ndarray:
    """8-connected component labels of a bool mask: int (H, W), -1 = background, components 1, 2, ..."""
    labels, _ = scipy.ndimage.label(mask, structure=np.ones((3, 3), bool))
    return np.where(mask, labels, -1)


def _small_components(mask: np.ndarray, max_area: float) -> np.ndarray:
    lab = label(mask)
    ids, counts = np.unique(lab[mask], return_counts=True)
    return np.isin(lab, ids[counts < max_area]) & mask


def clean_mask(mask: np.ndarray, factor: int = UPSAMPLE) -> np.ndarray:
    """Drop ink specks and fill pinholes (sizes MIN_SPECK, MIN_HOLE in MNIST pixels²).
    A hole is a background component that does not touch the border."""
    mask = mask & ~_small_components(mask, MIN_SPECK * factor**2)
    background = ~mask
    lab = label(background)
    outside = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    holes = background & ~np.isin(lab, outside)
    return mask | _small_components(holes, MIN_HOLE * factor**2)


def zhang_suen(mask: np.ndarray) -> np.ndarray:
    """Thin a bool mask to a 1-px skeleton (Zhang & Suen 1984), vectorised.

    The skeleton runs along the middle of each stroke. It can keep a few
    pixels a minimal 8-connected line would not need; see `clean_skeleton`.
    """
    img = np.pad(mask, 1).astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for first in (True, False):
            core = img[1:-1, 1:-1]
            p2, p3, p4, p5, p6, p7, p8, p9 = _neighbours(core)
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            count = sum(ring[:8])
            transitions = sum((a == 0) & (b == 1) for a, b in zip(ring, ring[1:]))
            if first:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            delete = (core == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if delete.any():
                core[delete] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def clean_skeleton(skel: np.ndarray) -> np.ndarray:
    """Remove skeleton pixels an 8-connected line does not need (the inner corner
    of each staircase step), so that every line pixel has two neighbours.

    A pixel goes if two perpendicular 4-neighbours are set and it is simple
    (Yokoi 8-connectivity number 1), so the topology is kept. Pixels are removed
    in four 2×2-parity classes, so no two removed at once are neighbours.
    """
    img = skel.astype(np.uint8)
    rows, cols = np.indices(img.shape)
    changed = True
    while changed:
        changed = False
        for parity in ((0, 0), (0, 1), (1, 0), (1, 1)):
            n, ne, e, se, s, sw, w, nw = _neighbours(img)
            # Yokoi's connectivity number for 8-connectivity, on complements.
            x = [1 - v for v in (e, ne, n, nw, w, sw, s, se, e)]
            yokoi = sum(x[k] - x[k] * x[k + 1] * x[k + 2] for k in (0, 2, 4, 6))
            corner = (n & e) | (e & s) | (s & w) | (w & n)
            cls = (rows % 2 == parity[0]) & (cols % 2 == parity[1])
            delete = (img == 1) & corner.astype(bool) & (yokoi == 1) & cls
            if delete.any():
                img[delete] = 0
                changed = True
    return img.astype(bool)


def degree(skel: np.ndarray) -> np.ndarray:
    """Number of 8-neighbours of each pixel of a bool skeleton: int (H, W)."""
    return sum(_neighbours(skel.astype(np.int32))) * skel


def depth(mask: np.ndarray) -> np.ndarray:
    """Approximate distance of each ink pixel to the background, in pixels:
    float (H, W). Erosions alternate 4- and 8-neighbourhoods (octagonal metric)."""
    out = np.zeros(mask.shape)
    level = mask.copy()
    step = 0
    while level.any():
        out += level
        around = _neighbours(level)
        four = around[0::2] if step % 2 == 0 else around
        level = level & np.logical_and.reduce(four)
        step += 1
    return out


def prune_spurs(skel: np.ndarray, radius: np.ndarray, slack: float = 1.4) -> np.ndarray:
    """Remove spurs: branches from an endpoint to a junction whose ink stays
    inside the ink disc around the junction (distance to the endpoint plus the
    ink's radius there under `slack` × the radius at the junction; `radius` is
    `depth(ink)`). Thinning grows them towards bumps of the outline; a real
    stroke end, however short (the tail of a "9", the bar of a "7"), carries
    ink beyond that disc and stays."""
    skel = skel.copy()
    deg = degree(skel)
    for start in zip(*np.nonzero(deg == 1)):
        branch, here = [start], start
        while True:
            nxt = [p for p in _pixel_neighbours(skel, here) if p not in branch]
            if len(nxt) != 1 or deg[nxt[0]] >= 3:
                break
            here = nxt[0]
            branch.append(here)
        junctions = [p for p in _pixel_neighbours(skel, here) if p not in branch and deg[p] >= 3]
        if not junctions:
            continue
        joint = junctions[0]
        reach = np.hypot(start[0] - joint[0], start[1] - joint[1])
        if reach + radius[start] < slack * radius[joint]:
            for p in branch:
                skel[p] = False
    return skel


# -------------------------------------------------------------------- tracing


def _pixel_neighbours(skel: np.ndarray, p: tuple[int, int]) -> list[tuple[int, int]]:
    h, w = skel.shape
    out = []
    for dr, dc in OFFSETS:
        r, c = p[0] + dr, p[1] + dc
        if 0 <= r < h and 0 <= c < w and skel[r, c]:
            out.append((r, c))
    return out


def _across(
    skel: np.ndarray, visited: np.ndarray, here: tuple[int, int], heading: np.ndarray, reach: int = 4
) -> tuple[int, int] | None:
    """An unvisited pixel straight ahead (within `reach` px) that the pen reaches
    by crossing only skeleton pixels, or None."""
    norm = np.linalg.norm(heading)
    if norm == 0:
        return None
    best, best_cos = None, 0.85
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            q = (here[0] + dr, here[1] + dc)
            if not (0 <= q[0] < skel.shape[0] and 0 <= q[1] < skel.shape[1]) or not skel[q] or visited[q]:
                continue
            dist = np.hypot(dr, dc)
            cos = (dr * heading[0] + dc * heading[1]) / (dist * norm)
            on_skeleton = all(
                skel[round(here[0] + dr * t), round(here[1] + dc * t)] for t in np.linspace(0, 1, 2 * reach + 1)
            )
            if dist <= reach and cos > best_cos and on_skeleton:
                best, best_cos = q, cos
    return best


def _walk(skel: np.ndarray, visited: np.ndarray, path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Extend `path` through unvisited pixels, preferring straight continuation;
    finish on an already visited neighbour (a junction, or the start of a loop)."""
    for p in path:
        visited[p] = True
    while True:
        here = path[-1]
        around = _pixel_neighbours(skel, here)
        fresh = [p for p in around if not visited[p]]
        back = path[max(0, len(path) - 5)]
        heading = np.array([here[0] - back[0], here[1] - back[1]], float)
        if not fresh:
            recent = set(path[-6:])
            joins = [p for p in around if p not in recent]
            if not joins or len(path) <= 2:
                return path
            beyond = _across(skel, visited, here, heading)
            if beyond is None:
                path.append(min(joins, key=lambda p: (p[0] - here[0]) ** 2 + (p[1] - here[1]) ** 2))
                return path
            visited[beyond] = True  # the pen crosses a traced stroke, as in a "+" or a "4"
            path.append(beyond)
            continue

        def cost(p: tuple[int, int]) -> tuple[float, int]:
            step = np.array([p[0] - here[0], p[1] - here[1]], float)
            turn = -float(step @ heading) / (np.linalg.norm(step) * (np.linalg.norm(heading) or 1.0))
            return (round(turn, 6), abs(step[0]) + abs(step[1]))

        nxt = min(fresh, key=cost)
        visited[nxt] = True
        path.append(nxt)


def trace(skel: np.ndarray) -> list[np.ndarray]:
    """Trace a 1-px skeleton into polylines: int (K, 2) arrays of (row, col).

    Strokes start at endpoints (one neighbour); branches left at a junction then
    start from that junction; what remains are closed loops, traced from any
    pixel back to where they started.
    """
    visited = np.zeros_like(skel, dtype=bool)
    ends = list(zip(*np.nonzero(degree(skel) == 1)))
    paths = []
    while True:
        left = skel & ~visited
        if not left.any():
            return paths
        start = next((p for p in ends if not visited[p]), None)
        path: list[tuple[int, int]]
        if start is not None:
            path = [start]
        else:
            # A branch hanging off the traced part starts at its junction.
            free = degree(left)
            touching = [
                p for p in zip(*np.nonzero(left & (free <= 1))) if any(visited[q] for q in _pixel_neighbours(skel, p))
            ]
            if touching:
                p = touching[0]
                anchor = next(q for q in _pixel_neighbours(skel, p) if visited[q])
                path = [anchor, p]
            else:
                path = [next(zip(*np.nonzero(left)))]
        paths.append(np.array(_walk(skel, visited, path)))


# ----------------------------------------------------------------- polylines


def smooth(path: np.ndarray, window: int = 7) -> np.ndarray:
    """Moving average of a float (K, 2) polyline; the two ends stay where they are."""
    if len(path) < 3:
        return path.astype(float)
    half = min(window // 2, (len(path) - 1) // 2)
    padded = np.pad(path.astype(float), ((half, half), (0, 0)), mode="edge")
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    out = np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(2)], axis=1)
    out[0], out[-1] = path[0], path[-1]
    return out


def length(path: np.ndarray) -> float:
    """Arc length of a (K, 2) polyline."""
    return float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum()) if len(path) > 1 else 0.0


def resample(path: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` along the arc of a (K, 2) polyline, both ends kept."""
    total = length(path)
    if total == 0:
        return path[:1].astype(float)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    at = np.linspace(0, total, max(2, int(np.ceil(total / step)) + 1))
    return np.stack([np.interp(at, cum, path[:, i]) for i in range(2)], axis=1)


# ------------------------------------------------------------------------ API


def ink_mask(image: np.ndarray, factor: int = UPSAMPLE) -> np.ndarray:
    """The cleaned ink of an MNIST image: bool (28f, 28f)."""
    return clean_mask(upsample(image, factor) >= INK_THRESHOLD, factor)


def open_blobs(ink: np.ndarray, skel: np.ndarray, radius: np.ndarray, factor: int = UPSAMPLE) -> np.ndarray:
    """Carve the middle out of blobs: where the ink is BLOB_DEPTH times deeper
    than along the typical stroke, the writer's loop (of an "8", a "9") filled
    in. What is left is a ring about one stroke wide, whose skeleton is the loop.
    Blobs smaller than MIN_BLOB (MNIST pixels²) stay. Returns the new ink."""
    typical = float(np.median(radius[skel])) if skel.any() else 0.0
    core = radius >= BLOB_DEPTH * typical
    if typical == 0 or not core.any():
        return ink
    core &= ~_small_components(core, MIN_BLOB * factor**2)
    return ink & ~core


def skeleton(image: np.ndarray, factor: int = UPSAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """(ink, skeleton) of an MNIST image, both bool (28f, 28f); spurs pruned.
    The ink is as traced: blobs have been opened into loops (`open_blobs`)."""
    ink = ink_mask(image, factor)
    skel = clean_skeleton(zhang_suen(ink))
    if BLOB_DEPTH:
        opened = open_blobs(ink, skel, depth(ink), factor)
        if opened.sum() < ink.sum():
            ink, skel = opened, clean_skeleton(zhang_suen(opened))
    return ink, clean_skeleton(prune_spurs(skel, depth(ink)))


def image_to_strokes(image: np.ndarray, factor: int = UPSAMPLE) -> Strokes:
    """Pen strokes of a digit image. image: uint8 (28, 28) 0-255, white ink on black."""
    ink, skel = skeleton(image, factor)
    paths = [p[:, ::-1] + 0.5 for p in trace(skel)]  # (row, col) -> (x, y) at pixel centres
    if not paths:
        raise ValueError("the image has no ink to trace")
    points = np.concatenate(paths)
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = max(float((hi - lo).max()), 1.0)
    origin = lo - (side - (hi - lo)) / 2
    keep = [p for p in paths if length(p) >= MIN_STROKE * side] or [max(paths, key=length)]
    unit = tuple((resample(smooth(p), side / POINTS_PER_SIDE) - origin) / side for p in keep)
    # Along the skeleton the ink's depth is half the stroke's width (plus the half
    # pixel of the skeleton pixel itself).
    width = max(2 * float(depth(ink)[skel].mean()) - 1, 1.0) / side
    return Strokes(paths=unit, width=width, frame=(origin[0] / factor, origin[1] / factor, side / factor))
