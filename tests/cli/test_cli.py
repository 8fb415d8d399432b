import subprocess
import sys

import pytest

from blazeforge.cli import main
from blazeforge.config import compose


def test_bare_keys_set_the_verbs_section_and_experiments_override():
    cfg = compose("render", ["n=5", "experiment=smoke", "trainer.epochs=3"])
    assert cfg.render.n == 5
    assert cfg.render.resolution == 128  # from experiment=smoke
    assert cfg.trainer.epochs == 3
    assert compose("train", ["hydra.run.dir=/tmp/x"]).run_dir == "/tmp/x"


@pytest.mark.parametrize(
    "args, message",
    [
        (["render", "nope=1"], "config: Could not override 'nope'"),
        (["render", "experiment=huge"], "choices for experiment: ablation, demo, full, smoke"),
        (["frobnicate"], "frobnicate: unknown verb"),
        (["datasets"], "datasets: expected an action"),
        (["render", "n"], "n: expected key=value"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_help_lists_verbs_and_verb_keys(capsys):
    assert main(["--help"]) == 0
    assert "render" in capsys.readouterr().out
    assert main(["render", "--help"]) == 0
    out = capsys.readouterr().out
    assert "n: 200" in out and "experiment=ablation|demo|full|smoke" in out


def test_console_script_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "blazeforge", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: blazeforge VERB" in out.stdout


def test_the_help_names_every_registered_task(capsys):
    from blazeforge import recipes

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in recipes.names())


def test_a_run_directory_without_its_task_is_one_line_naming_the_key(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("recipe:\n  name: hand_landmarks\n")  # made before tasks were recorded
    assert main(["export", f"checkpoint={tmp_path}", f"run_dir={tmp_path / 'export'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected a `task:` key" in err and "add `task: hand_landmarks`" in err and len(err.splitlines()) == 1


def test_a_published_model_no_task_trains_is_one_line(tmp_path, capsys):
    assert main(["evaluate", "checkpoint=mediapipe:selfie_segmentation", f"run_dir={tmp_path}"]) == 2
    assert "no registered task trains selfie_segmentation" in capsys.readouterr().err
