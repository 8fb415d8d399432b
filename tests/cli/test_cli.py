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
