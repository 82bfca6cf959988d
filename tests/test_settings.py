"""Training settings, from the flags and from a settings file (`train --config`, `sweep --base`), are
checked against one table (pipeline.config.SETTINGS): a bad value is one line naming the file and the
field, exit 1, before TensorFlow starts and before anything is written.

The CLI cases run the real `python -m pipeline`; the table's own cases run in-process.
"""

from __future__ import annotations

import json

import pytest

from pipeline.cli import TRAIN_SETTINGS
from pipeline.config import MAX_SETTINGS_BYTES, MEANINGS, SETTINGS, ConfigFileError, TrainConfig, read_train_config
from tests.helpers import check_one_line, finished, start_cli

# settings file content -> fragments of the one line (after the file's name)
BAD_SETTINGS = {
    "zero batch size": ('{"batch_size": 0}', ["batch_size: 0 is out of range (>= 1 and <= 2147483647)"]),
    "zero epochs": ('{"epochs": 0}', ["epochs: 0 is out of range (>= 1 and <= 2147483647)"]),
    "negative epochs": ('{"epochs": -3}', ["epochs: -3 is out of range"]),
    "dropout above one": ('{"model": {"dropout": 1.5}}', ["model.dropout: 1.5 is out of range"]),
    "seed not a number": ('{"seed": "x"}', ["seed: expected a whole number, got 'x'"]),
    "two filters": ('{"model": {"filters": [16, 32]}}', ["model.filters: expected a list of three whole numbers"]),
    "negative test limit": ('{"test_limit": -5}', ["test_limit: -5 is out of range (>= 0 and <= 2147483647)"]),
    "NaN learning rate": ('{"learning_rate": NaN}', ["learning_rate: expected a number, got nan"]),
    "infinite weight decay": ('{"weight_decay": Infinity}', ["weight_decay: expected a number, got inf"]),
    "epochs as a fraction": ('{"epochs": 2.5}', ["epochs: expected a whole number, got 2.5"]),
    "epochs as true": ('{"epochs": true}', ["epochs: expected a whole number, got True"]),
    "seed past 32 bits": ('{"seed": 4294967296}', ["seed: 4294967296 is out of range"]),
    "a batch no int32 holds": ('{"batch_size": 2147483648}', ["batch_size: 2147483648 is out of range (>= 1 and <= 2147483647)"]),
    "a rate past a float's range": ('{"learning_rate": 1' + "0" * 400 + '}', ["learning_rate: expected a number, got inf"]),
    "a long unknown key": ('{"' + "k" * 5000 + '": 1}', ["unknown training setting(s): 'kkkk", "kkkk..."]),
    "unknown strategy": ('{"strategy": "tpu"}', ["strategy: expected one of auto, default, mirrored, multiworker"]),
    "model not an object": ('{"model": [1, 2]}', ["model: expected an object, got a list"]),
    "a key twice": ('{"epochs": 1, "epochs": 50}', ["not valid JSON (key 'epochs' appears twice in one object)"]),
    "a list": ("[1, 2]", ["expected a JSON object of training settings, got a list"]),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, ["not valid JSON"]),
    "not UTF-8": (b'{"epochs": "\xff"}', ["not UTF-8 text (byte 12)"]),
    "a metrics.json whose config is bad": ('{"test_accuracy": 0.99, "config": {"epochs": 0}}', ["epochs: 0 is out of range"]),
}


def test_train_refuses_every_bad_settings_file_in_one_line(work):
    """Before: batch_size 0 was a ZeroDivisionError, epochs 0 replaced model.keras with an untrained network,
    and dropout 1.5, seed "x", two filters and test_limit -5 were accepted."""
    for i, (content, _) in enumerate(BAD_SETTINGS.values()):
        (work / f"s{i}.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    processes = {case: start_cli("train", "--config", f"s{i}.json", "--artifacts", "out")
                 for i, case in enumerate(BAD_SETTINGS)}
    failures = []
    for i, (case, process) in enumerate(processes.items()):
        try:
            check_one_line(*finished(process), [f"Error: s{i}.json: ", *BAD_SETTINGS[case][1]])
        except AssertionError as err:
            failures.append(f"{case}: {err}")
    assert failures == []
    assert not (work / "out").exists()


def test_sweep_base_refuses_a_bad_settings_file_like_train(work):
    (work / "settings.json").write_text('{"epochs": 0}')
    line = check_one_line(*finished(start_cli("sweep", "--grid", "learning_rate=0.001", "--base", "settings.json",
                                          "--out", "sweep")), ["settings.json", "epochs: 0 is out of range"])
    assert line == "Error: settings.json: epochs: 0 is out of range (>= 1 and <= 2147483647)"
    assert [p.name for p in work.iterdir()] == ["settings.json"]


@pytest.mark.parametrize("flag, value", [("--epochs", "-2"), ("--learning-rate", "nan"), ("--learning-rate", "inf"),
                                         ("--seed", "-1"), ("--seed", "4294967296")])
def test_the_flags_check_the_same_ranges(work, flag, value):
    check_one_line(*finished(start_cli("train", flag, value)), [flag, value])


def test_a_config_that_is_a_folder_or_too_big(work):
    (work / "folder.json").mkdir()
    check_one_line(*finished(start_cli("train", "--config", "folder.json")), ["--config", "folder.json", "is a directory"])
    (work / "huge.json").write_text('{"epochs": 1, "pad": "' + "x" * MAX_SETTINGS_BYTES + '"}')
    with pytest.raises(ConfigFileError, match=r"huge.json: larger than 1,000,000 bytes; not a settings file"):
        read_train_config(work / "huge.json")


def test_every_flag_and_the_file_share_one_table():
    """Each training flag's type is made from SETTINGS, the table the settings-file reader checks against,
    and every TrainConfig field (nested ones as section.field) has its row."""
    fields = set(TrainConfig().to_dict()) - {"model", "augment"}
    fields |= {f"{section}.{k}" for section in ("model", "augment") for k in TrainConfig().to_dict()[section]}
    assert set(SETTINGS) == fields
    for option in TRAIN_SETTINGS:
        param = option(lambda **_: None).__click_params__[0]
        field = {"augment_strength": "augment.strength"}.get(param.name, param.name)
        setting = SETTINGS[field]
        if setting.kind is str:
            assert list(param.type.choices) == list(setting.choices), field
        else:
            assert (param.type.min, param.type.max) == (setting.low, setting.top), field


def test_the_defaults_and_every_profile_pass_the_table():
    from pipeline.train.profiles import PROFILES

    for config in (TrainConfig(), *PROFILES.values()):
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_each_flag_shows_its_fields_meaning_and_name():
    """A training flag's help is the meaning declared with its field, then its profiles' default; its name is the
    field's (dashes for underscores and dots) unless FLAG_NAMES gives it another."""
    from pipeline.cli import FLAG_NAMES, SETTING_FIELDS, _profile_default, main

    flags = {param.name: param for param in main.commands["train"].params if param.name in SETTING_FIELDS}
    assert sorted(flags) == sorted(SETTING_FIELDS)
    for name, param in flags.items():
        field = SETTING_FIELDS[name]
        assert param.help == f"{MEANINGS[field]} {_profile_default(field)}", field
        assert param.opts == [FLAG_NAMES.get(field, "--" + field.replace(".", "-").replace("_", "-"))], field
    named_after_fields = {p.name for p in main.commands["train"].params} & {k.replace(".", "_") for k in SETTINGS}
    assert named_after_fields == set(flags), "a training flag made in cli.py rather than from its field"


def test_every_setting_has_one_sentence_of_meaning():
    for name, meaning in MEANINGS.items():
        assert meaning.strip() == meaning and meaning.endswith(".") and ". " not in meaning, name


def test_a_field_declared_without_its_setting_is_refused():
    """A plain field would have no range for the settings file and no meaning for its flag."""
    import dataclasses

    from pipeline.config import Setting, declared, setting

    @dataclasses.dataclass(frozen=True)
    class Plain:
        kept: int = setting(1, Setting(int, 0), "Kept.")
        bare: int = 2

    with pytest.raises(TypeError, match=r"Plain\.bare: declare it with setting\("):
        declared(Plain)
