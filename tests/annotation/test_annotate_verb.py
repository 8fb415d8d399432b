"""`blazeforge annotate import | export`: another tool's file to labels.jsonl and back, one line on bad input."""

from __future__ import annotations

import numpy as np

from blazeforge import cli, topology
from blazeforge.annotation import interchange
from blazeforge.datasets.schema import read_jsonl
from tests.annotation.test_interchange import _samples


def test_import_then_export_through_the_verb_keeps_the_points(tmp_path, capsys):
    hand = topology.get("hand")
    samples = _samples(tmp_path, hand)
    interchange.write(samples, tmp_path / "hands.json", "coco", hand)
    assert cli.main(["annotate", "import", f"file={tmp_path / 'hands.json'}", f"run_dir={tmp_path / 'in'}"]) == 0
    imported = list(read_jsonl(tmp_path / "in" / "labels.jsonl", 21))
    assert (tmp_path / "in" / imported[0].image).resolve() == (tmp_path / samples[0].image).resolve()
    args = ["annotate", "export", f"labels={tmp_path / 'in' / 'labels.jsonl'}", "format=cvat", f"images={tmp_path}"]
    assert cli.main([*args, f"run_dir={tmp_path / 'out'}"]) == 0
    back = interchange.read(tmp_path / "out" / "labels.xml", "cvat", hand)
    assert [b.image for b in back] == [s.image for s in samples]
    for a, b in zip(samples, back):
        np.testing.assert_allclose(b.keypoints[..., :2], a.keypoints[..., :2], atol=1e-3)
    assert "labels.xml" in capsys.readouterr().err  # the summary table goes to the terminal stream


def test_a_wrong_topology_or_action_is_one_line_and_status_2(tmp_path, capsys):
    hand = topology.get("hand")
    interchange.write(_samples(tmp_path, hand, n=1), tmp_path / "hands.json", "coco", hand)
    args = ["annotate", "import", f"file={tmp_path / 'hands.json'}", "topology=pose", f"run_dir={tmp_path / 'x'}"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "are not the pose topology's 33" in err
    assert cli.main(["annotate", "relabel"]) == 2
    assert "expected an action: blazeforge annotate import | export | labelstudio" in capsys.readouterr().err
