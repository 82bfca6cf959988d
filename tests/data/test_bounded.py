"""pipeline.data.bounded in process: each bound holds at its edge, and each refusal is one line naming the file.
(tests/data/test_bad_files.py drives the same refusals through the `pipeline` command.)"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import DataError, bounded


@pytest.fixture
def small_bound(monkeypatch):
    """MAX_FILE_BYTES of 1000, so a bound can be met and passed by a byte without writing 256 MiB."""
    monkeypatch.setattr(bounded, "MAX_FILE_BYTES", 1000)
    return 1000


def test_a_file_at_the_bound_is_read_and_one_byte_more_is_refused(tmp_path, small_bound):
    (tmp_path / "at").write_bytes(b"x" * small_bound)
    assert bounded.read_file(tmp_path / "at") == b"x" * small_bound
    (tmp_path / "over").write_bytes(b"x" * (small_bound + 1))
    with pytest.raises(DataError, match=rf"^{tmp_path / 'over'}: 0 MiB, more than the 256 MiB a digit data file may be$"):
        bounded.read_file(tmp_path / "over")


def test_what_is_no_regular_file_or_cannot_be_read_is_named(tmp_path):
    with pytest.raises(DataError, match=rf"^{tmp_path}: not a regular file$"):
        bounded.read_file(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(DataError, match=r"fifo: not a regular file$"):
        bounded.read_file(tmp_path / "fifo")
    with pytest.raises(DataError, match=r"gone: cannot read \(No such file or directory\)$"):
        bounded.read_file(tmp_path / "gone")


def test_gzip_is_bounded_once_decompressed_and_a_broken_stream_is_named(small_bound):
    assert bounded.gunzip(gzip.compress(b"y" * small_bound), "g.gz") == b"y" * small_bound
    with pytest.raises(DataError, match=r"^g.gz: more than 256 MiB once decompressed, more than a digit data file holds"):
        bounded.gunzip(gzip.compress(b"y" * (small_bound + 1)), "g.gz")
    two_members = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert bounded.gunzip(two_members, "g.gz") == b"abcd"
    for broken in (b"\x1f\x8bnot gzip", gzip.compress(b"z" * 100)[:-6]):
        with pytest.raises(DataError, match=r"^g.gz: broken gzip data \("):
            bounded.gunzip(broken, "g.gz")


def test_only_what_starts_with_the_gzip_magic_is_gunzipped(tmp_path):
    assert bounded.maybe_gunzip(b"\x1f\x8c raw", "r") == b"\x1f\x8c raw"
    (tmp_path / "f.gz").write_bytes(gzip.compress(b"inside"))
    assert bounded.read_maybe_gzip(tmp_path / "f.gz") == b"inside"
    (tmp_path / "f").write_bytes(b"\x1f")
    assert bounded.read_maybe_gzip(tmp_path / "f") == b"\x1f"


def npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_arrays_are_read_in_the_archive_s_order_or_by_key(tmp_path):
    path = npz(tmp_path / "a.npz", b=np.arange(3), a=np.ones((2, 2), np.float32))
    whole = bounded.read_npz(path)
    assert list(whole) == ["b", "a"] and whole["a"].dtype == np.float32
    assert np.array_equal(whole["b"], np.arange(3))
    assert list(bounded.read_npz(path, ["a"])) == ["a"]
    with pytest.raises(DataError, match=r"a.npz: .npz lacks the arrays c, d$"):
        bounded.read_npz(path, ["a", "c", "d"])


def member(path, name: str, header: bytes, data: bytes = b""):
    """A one-member zip holding `header` + `data` as NAME.npy."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name + ".npy", header + data)
    return path


def npy_header(shape, descr="<i8", version=1) -> bytes:
    buffer = io.BytesIO()
    writer = np.lib.format.write_array_header_1_0 if version == 1 else np.lib.format.write_array_header_2_0
    writer(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()  # the writer puts the magic string first itself


def test_a_member_s_header_is_checked_before_its_data_is_read(tmp_path):
    with pytest.raises(DataError, match=r"x.npy holds Python objects; only arrays of numbers are read$"):
        bounded.read_npz(member(tmp_path / "o.npz", "x", npy_header((1,), "|O")))
    with pytest.raises(DataError, match=r"x.npy promises 8000000000 bytes of data \(shape \(1000000000,\), int64\) but holds"):
        bounded.read_npz(member(tmp_path / "h.npz", "x", npy_header((10**9,))))
    # the bound is the member's whole size (header included): one byte over it is refused before any is read
    whole = len(npy_header((100,), "|u1")) + 10  # a header (padded to 64 bytes: any 3-digit shape) and 10 bytes
    with pytest.raises(DataError, match=rf"x.npy promises {whole + 1} bytes of data .* but holds {whole} bytes in all$"):
        bounded.read_npz(member(tmp_path / "over.npz", "x", npy_header((whole + 1,), "|u1"), bytes(10)))
    with pytest.raises(DataError, match=r"not a readable .npz file"):  # within it: numpy finds the data short
        bounded.read_npz(member(tmp_path / "at.npz", "x", npy_header((whole,), "|u1"), bytes(10)))
    exact = np.arange(4, dtype="<i8").tobytes()
    assert np.array_equal(bounded.read_npz(member(tmp_path / "e.npz", "x", npy_header((4,)), exact))["x"], np.arange(4))
    assert np.array_equal(bounded.read_npz(member(tmp_path / "v2.npz", "x", npy_header((4,), version=2), exact))["x"],
                          np.arange(4))


def test_a_member_larger_than_the_bound_once_decompressed_is_refused(tmp_path, small_bound):
    path = npz(tmp_path / "big.npz", x=np.zeros(small_bound, np.uint8))  # its .npy header makes it larger still
    with pytest.raises(DataError, match=r"big.npz: x.npy is 0 MiB once decompressed, more than the 256 MiB a digit data array may be"):
        bounded.read_npz(path)
    fits = npz(tmp_path / "fits.npz", x=np.zeros(small_bound - 200, np.uint8))
    assert bounded.read_npz(fits)["x"].size == small_bound - 200


def test_what_is_no_npz_is_one_line(tmp_path):
    (tmp_path / "n.npz").write_bytes(b"PK not a zip")
    with pytest.raises(DataError, match=r"n.npz: not a readable .npz file \(File is not a zip file\)$"):
        bounded.read_npz(tmp_path / "n.npz")
    with pytest.raises(DataError, match=r"missing.npz: not a regular file$"):
        bounded.read_npz(tmp_path / "missing.npz")


def test_a_refusal_names_the_size_in_mib(tmp_path, small_bound):
    """The figure in the message is the file's (or the member's) own size in MiB, rounded."""
    with open(tmp_path / "big", "wb") as file:
        file.truncate(3 * 2**20)  # sparse: nothing written
    with pytest.raises(DataError, match=r"big: 3 MiB, more than the 256 MiB"):
        bounded.read_file(tmp_path / "big")
    with zipfile.ZipFile(tmp_path / "big.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_header((3 * 2**20,), "|u1") + bytes(3 * 2**20))
    with pytest.raises(DataError, match=r"big.npz: x.npy is 3 MiB once decompressed"):
        bounded.read_npz(tmp_path / "big.npz")


def test_a_member_exactly_at_the_bound_is_read(tmp_path, small_bound):
    n = small_bound - len(npy_header((small_bound,), "|u1"))  # the header's length does not change with n here
    path = member(tmp_path / "at.npz", "x", npy_header((n,), "|u1"), bytes(n))
    assert zipfile.ZipFile(path).getinfo("x.npy").file_size == small_bound
    assert bounded.read_npz(path)["x"].size == n


def test_an_empty_array_is_read_and_a_negative_dimension_is_named(tmp_path):
    empty = bounded.read_npz(npz(tmp_path / "e.npz", x=np.zeros((0, 28, 28), np.float32)))["x"]
    assert empty.shape == (0, 28, 28)
    with pytest.raises(DataError, match=r"n.npz: x.npy has a negative dimension \(-1, 28\)$"):
        bounded.read_npz(member(tmp_path / "n.npz", "x", npy_header((-1, 28))))


def test_a_file_whose_size_is_not_reported_is_read_no_further_than_the_bound(small_bound):
    """A /proc file says it is 0 bytes long and holds more: reading stops one byte past the bound."""
    assert len(bounded.read_file(Path("/proc/self/maps"))) <= small_bound + 1


def test_a_gzip_bomb_is_refused_before_it_is_read_to_its_end(small_bound):
    """Only the bound and one byte are decompressed: a stream broken far past the bound is refused as too large."""
    whole = gzip.compress(b"z" * (100 * small_bound))
    with pytest.raises(DataError, match=r"^g.gz: more than 256 MiB once decompressed"):
        bounded.gunzip(whole[:-6], "g.gz")  # its CRC and length cut off: broken only at the very end


def test_a_broken_gzip_file_is_named(tmp_path):
    (tmp_path / "f.gz").write_bytes(gzip.compress(b"z" * 100)[:-6])
    with pytest.raises(DataError, match=rf"^{tmp_path / 'f.gz'}: broken gzip data"):
        bounded.read_maybe_gzip(tmp_path / "f.gz")
