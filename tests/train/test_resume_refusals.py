"""`pipeline train --resume` with a checkpoint that `pipeline train` did not write: one line naming
latest.json (or the state file) and what is wrong, exit 1, before TensorFlow starts; a "file" that
points outside the checkpoint folder is never opened.

The latest.json cases run the real `python -m pipeline` side by side; the truncated state file is
restored in-process (it is read only after the model is built).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import TrainConfig
from pipeline.train.latest import ResumeError, read_state
from tests.helpers import check_one_line, finished, start_cli

GOOD = {"epoch": 1, "file": "state-epoch001.npz", "config": TrainConfig(epochs=3).to_dict(), "replicas": 1,
        "history": [{"epoch": 1, "seconds": 2.0}], "train_seconds": 2.0}

# latest.json's bytes -> what the one line says after "latest.json: "
BAD_LATEST = {
    "not UTF-8": (b'{"epoch": 1, "file": "\xff"}', "not UTF-8 text (byte 22)"),
    "empty object": (b"{}", "not a checkpoint of pipeline train ('epoch' missing or of the wrong type)"),
    "a list": (b"[]", "not a checkpoint of pipeline train (not a JSON object)"),
    "empty file": (b"", "not valid JSON"),
    "an absolute file": (json.dumps({**GOOD, "file": "/etc/passwd"}).encode(), "'file' '/etc/passwd' is not a state-epochNNN.npz"),
    "a file up a folder": (json.dumps({**GOOD, "file": "../../state-epoch001.npz"}).encode(), "is not a state-epochNNN.npz"),
    "epoch zero": (json.dumps({**GOOD, "epoch": 0}).encode(), "'epoch' and 'replicas' must be at least 1"),
    "epoch as text": (json.dumps({**GOOD, "epoch": "1"}).encode(), "'epoch' missing or of the wrong type"),
    "history of numbers": (json.dumps({**GOOD, "history": [1, 2]}).encode(), "'history' must be a list of objects"),
    "settings out of range": (json.dumps({**GOOD, "config": {"batch_size": 0}}).encode(),
                              "config: batch_size: 0 is out of range"),
    "a key twice": (b'{"epoch": 1, "epoch": 2}', "key 'epoch' appears twice"),
}


def test_resume_refuses_a_latest_json_it_did_not_write(tmp_path):
    """Before: not UTF-8 or {} was a traceback, and a "file" outside the checkpoint folder was followed."""
    processes = {}
    for i, (case, (content, _)) in enumerate(BAD_LATEST.items()):
        folder = tmp_path / str(i) / "checkpoint"
        folder.mkdir(parents=True)
        (folder / "latest.json").write_bytes(content)
        processes[case] = start_cli("train", "--resume", "--artifacts", str(tmp_path / str(i)), cwd=tmp_path)
    failures = []
    for i, (case, process) in enumerate(processes.items()):
        try:
            check_one_line(*finished(process), [f"{tmp_path / str(i) / 'checkpoint' / 'latest.json'}: ",
                                                BAD_LATEST[case][1]])
            assert sorted(p.name for p in (tmp_path / str(i)).iterdir()) == ["checkpoint"], "nothing written"
        except AssertionError as err:
            failures.append(f"{case}: {err}")
    assert failures == []


def test_a_file_outside_the_folder_is_never_opened(tmp_path):
    """The path is refused by its shape, whether or not a file is there to open."""
    outside = tmp_path / "state-epoch001.npz"
    outside.write_bytes(b"a user's file")
    folder = tmp_path / "run" / "checkpoint"
    folder.mkdir(parents=True)
    (folder / "latest.json").write_text(json.dumps({**GOOD, "file": str(outside)}))
    with pytest.raises(ResumeError, match="is not a state-epochNNN.npz in the checkpoint folder"):
        read_state(folder)
    (folder / "latest.json").write_text(json.dumps(GOOD))
    assert read_state(folder)["file"] == "state-epoch001.npz"


@pytest.mark.parametrize("cut", [0, 30, 200, -1])
def test_a_truncated_state_file_is_one_line(tmp_path, cut):
    from pipeline.train import checkpoint
    from pipeline.train.loop import build_trainer

    config = TrainConfig(epochs=2)
    trainer, _ = build_trainer(config, 3e-3, steps_per_epoch=4, jit_compile=False)
    checkpoint.save(tmp_path, trainer, {**GOOD, "config": config.to_dict()})
    state = tmp_path / "state-epoch001.npz"
    whole = state.read_bytes()
    state.write_bytes(whole[:cut] if cut >= 0 else whole[:100] + bytes(len(whole) - 100))  # -1: zeroed after 100 bytes
    with pytest.raises(ResumeError, match=f"{state}: unreadable checkpoint"):
        checkpoint.restore(tmp_path, trainer, read_state(tmp_path))


def test_a_state_file_with_a_broken_array_header_is_one_line(tmp_path):
    """A member whose .npy header never closes makes numpy's own reader raise tokenize.TokenError; the
    checkpoint is read through pipeline.data.bounded like every other outside file, so it is one line."""
    import io
    import struct
    import tokenize
    import zipfile

    import numpy as np

    from pipeline.train import checkpoint
    from pipeline.train.loop import build_trainer

    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3,"
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(12)
    state = tmp_path / "state-epoch001.npz"
    with zipfile.ZipFile(state, "w") as archive:
        archive.writestr("arr_0.npy", member)
    with pytest.raises(tokenize.TokenError):  # what numpy itself does with it
        np.lib.format.read_array(io.BytesIO(member))
    config = TrainConfig(epochs=2)
    trainer, _ = build_trainer(config, 3e-3, steps_per_epoch=4, jit_compile=False)
    (tmp_path / "latest.json").write_text(json.dumps({**GOOD, "config": config.to_dict()}))
    with pytest.raises(ResumeError, match=f"{state}: unreadable checkpoint"):
        checkpoint.restore(tmp_path, trainer, read_state(tmp_path))
