"""A seeded mutation fuzzer for the readers of outside bytes (tests/data/test_fuzz_data.py,
tests/tools/test_fuzz_images.py).

Each case is a real file (a seed) changed by one to three mutations drawn from a seeded
random.Random: bit flips, a truncation, an insertion of random bytes, a header field set to an
edge value (0, 1, 0x7f..., 0xff..., 2^31, ...), or a slice of the file copied elsewhere.
`fuzz` writes each case to a file, calls the reader on it and sorts the outcome: it parsed, or it
raised the expected one-line error. Anything else, a call over CALL_LIMIT_S seconds of CPU, a warning, or
any file opened for writing (or renamed, removed, made) while a reader runs fails the test.
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import signal
import struct
import sys
import time
import warnings
from pathlib import Path

CALL_LIMIT_S = 10  # seconds of CPU one reader call may use: a loop that never ends goes over it, a busy machine not
BLOCKED_LIMIT_S = 60  # seconds of wall-clock time: a read that blocks (a FIFO, say) goes over it
EDGE_VALUES = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


# ------------------------------------------------------------------- mutations


def flip_bits(raw: bytes, rng: random.Random, header: int) -> bytes:
    out = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(raw: bytes, rng: random.Random, header: int) -> bytes:
    return raw[: rng.randrange(len(raw))]


def insert(raw: bytes, rng: random.Random, header: int) -> bytes:
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + rng.randbytes(rng.randint(1, 64)) + raw[at:]


def set_header_field(raw: bytes, rng: random.Random, header: int) -> bytes:
    """One 1-, 2- or 4-byte field within the first `header` bytes set to an edge value, either byte order."""
    width = rng.choice((1, 2, 4))
    at = rng.randrange(max(1, min(header, len(raw)) - width + 1))
    value = rng.choice(EDGE_VALUES + (rng.getrandbits(32),)) & ((1 << 8 * width) - 1)
    field = value.to_bytes(width, rng.choice(("big", "little")))
    return raw[:at] + field + raw[at + width :]


def duplicate_chunk(raw: bytes, rng: random.Random, header: int) -> bytes:
    start = rng.randrange(len(raw))
    chunk = raw[start : start + rng.randint(1, 256)]
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + chunk + raw[at:]


MUTATORS = (flip_bits, truncate, insert, set_header_field, duplicate_chunk)


def mutate(raw: bytes, rng: random.Random, header: int) -> tuple[bytes, list[str]]:
    """`raw` after one to three random mutations, and their names."""
    names = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        mutator = rng.choice(MUTATORS)
        raw = mutator(raw, rng, header) if raw else rng.randbytes(rng.randint(0, 16))
        names.append(mutator.__name__)
    return raw, names


# ------------------------------------------------------------------ the harness

_writes: list | None = None  # while a reader runs: every write-like event seen; None otherwise
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.truncate", "os.symlink", "os.link",
                 "os.chmod", "shutil.rmtree", "shutil.move", "shutil.copyfile", "tempfile.mkstemp", "tempfile.mkdtemp"}


def _audit(event: str, args: tuple) -> None:
    if _writes is None:
        return
    if event == "open" and len(args) >= 3:
        path, mode, flags = args[:3]
        if path == os.devnull:  # writing there writes nothing (predict drops libtiff's chatter there)
            return
        if (isinstance(mode, str) and set(mode) & set("wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS):
            _writes.append((event, path))
    elif event in _WRITE_EVENTS:
        _writes.append((event, args[0] if args else None))


_hooked = False


@contextlib.contextmanager
def no_writes():
    """Record every file opened for writing, renamed, removed or made inside; the list is empty if none."""
    global _writes, _hooked
    if not _hooked:  # an audit hook cannot be removed: one per process, idle outside this block
        sys.addaudithook(_audit)
        _hooked = True
    _writes = seen = []
    try:
        yield seen
    finally:
        _writes = None


class CallTooLong(Exception):
    pass


@contextlib.contextmanager
def time_limit(cpu_seconds: float, wall_seconds: float):
    """Raise CallTooLong in the main thread if the block uses more than `cpu_seconds` of CPU (a loop that
    never ends, however loaded the machine) or runs longer than `wall_seconds` (a read that blocks)."""
    def expire(signum, frame):
        raise CallTooLong(f"over {cpu_seconds} s of CPU" if signum == signal.SIGPROF else f"over {wall_seconds} s")
    previous = {sig: signal.signal(sig, expire) for sig in (signal.SIGPROF, signal.SIGALRM)}
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    signal.setitimer(signal.ITIMER_REAL, wall_seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def fuzz(seeds: list[bytes], read, expected: type[Exception], folder: Path, name: str, count: int, seed: int,
         header: int = 64, variants=None) -> collections.Counter:
    """Feed `count` mutations of `seeds` (in turn) to `read(path)`, each written to folder/name.

    variants: optional functions (raw, rng) -> bytes, drawn from instead of a plain mutation half of the
    time (a mutation inside a container, say: a gzip's content, an .npz member, a PNG with its CRCs fixed).
    Returns the outcomes: "parsed" and "refused" (the expected error). Fails on anything else.
    """
    rng = random.Random(seed)
    outcomes = collections.Counter()
    path = folder / name
    stderr = os.open(folder / f".{name}.stderr", os.O_RDWR | os.O_CREAT)  # what the reader prints to fd 2
    try:
        for n in range(count):
            raw = seeds[n % len(seeds)]
            if variants and rng.random() < 0.5:
                variant = rng.choice(variants)
                case, how = variant(raw, rng), [variant.__name__]
            else:
                case, how = mutate(raw, rng, header)
            path.write_bytes(case)
            try:
                outcome, cpu_ms = _one_call(read, path, expected, stderr)
            except Exception as err:
                raise AssertionError(f"case {n} ({' + '.join(how)}, {len(case)} bytes, seed {seed}): "
                                     f"{type(err).__name__}: {err}") from err
            outcomes[outcome] += 1
            outcomes["slowest_cpu_ms"] = max(outcomes["slowest_cpu_ms"], cpu_ms)
    finally:
        os.close(stderr)
    return outcomes


def _one_call(read, path: Path, expected: type[Exception], stderr: int) -> tuple[str, int]:
    """Call read(path): ("parsed" or "refused", its CPU time in ms); raise on anything else (another
    exception, a warning, output on file descriptor 2, a file written, a call over the time limits)."""
    os.ftruncate(stderr, 0)
    os.lseek(stderr, 0, os.SEEK_SET)
    started = time.process_time()
    outcome = "parsed"
    with no_writes() as writes, warnings.catch_warnings(record=True) as warned, _fd2_to(stderr):
        warnings.simplefilter("always")
        try:
            with time_limit(CALL_LIMIT_S, BLOCKED_LIMIT_S):
                read(path)
        except expected as err:
            assert "\n" not in str(err) and str(path) in str(err), str(err)
            outcome = "refused"
    assert writes == [], f"wrote {writes}"
    assert [str(w.message) for w in warned] == [], "warned"  # a warning is more lines on stderr
    printed = os.pread(stderr, 4096, 0)
    assert printed == b"", f"printed {printed[:200]!r}"  # native code (libtiff, say) writing to stderr
    return outcome, round((time.process_time() - started) * 1000)


@contextlib.contextmanager
def _fd2_to(fd: int):
    """File descriptor 2 (stderr, for C code too) points at `fd` inside."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def fix_png_crcs(raw: bytes) -> bytes:
    """`raw` with every PNG chunk's CRC recomputed (as far as the chunk lengths make sense), so that a
    mutation reaches Pillow's decoder instead of stopping at the checksum."""
    import zlib

    out, at = bytearray(raw), 8
    while at + 12 <= len(out):
        length = struct.unpack(">I", out[at : at + 4])[0]
        end = at + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(out[at + 4 : end]))
        at = end + 4
    return bytes(out)
