import hashlib

import pytest

from blazeforge import zoo
from blazeforge.cli import main
from blazeforge.errors import BlazeforgeError


def test_every_model_in_the_registry_is_cached_with_its_checksum():
    paths = zoo.fetch()
    assert set(paths) == set(zoo.MODELS)
    for name, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == zoo.MODELS[name].sha256


def test_a_corrupted_cache_entry_is_replaced(tmp_path, monkeypatch):
    wheel = zoo._wheel()  # the default cache's wheel, fetched by `make` before the tests
    monkeypatch.setenv("BLAZEFORGE_CACHE", str(tmp_path))
    (tmp_path / "zoo" / "wheels").mkdir(parents=True)
    (tmp_path / "zoo" / "wheels" / wheel.name).symlink_to(wheel)
    path = zoo.tflite_path("hand_landmark_lite")
    path.write_bytes(b"truncated")
    assert zoo.tflite_path("hand_landmark_lite").stat().st_size > 1_000_000


def test_unknown_model_is_one_line(capsys):
    with pytest.raises(BlazeforgeError, match="not in the zoo"):
        zoo.tflite_path("hand_landmark_huge")
    assert main(["zoo", "fetch", "nope"]) == 2
    assert "not in the zoo" in capsys.readouterr().err
