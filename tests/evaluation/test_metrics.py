import numpy as np
import pytest

from blazeforge.evaluation import metrics as M


def test_nme_of_a_known_offset_is_offset_over_palm_size():
    gt = np.zeros((2, 21, 2))
    gt[:, 9] = [0, 10]  # palm size 10
    pred = gt + [3, 4]  # every point 5 px off
    mask = np.ones((2, 21))
    norm = M.normalizer(gt, (0, 9))
    assert M.nme(pred, gt, mask, norm) == pytest.approx(0.5)
    mask[1] = 0  # a sample with nothing labelled is skipped, not counted as zero
    assert M.nme(pred, gt, mask, norm) == pytest.approx(0.5)


def test_pck_counts_points_inside_the_threshold():
    gt = np.zeros((1, 21, 2))
    gt[0, 9] = [0, 10]
    pred = gt.copy()
    pred[0, :10] += [0, 3]  # 10 points at 0.3 palm sizes, 11 exact
    assert M.pck(pred, gt, np.ones((1, 21)), np.array([10.0]), 0.2) == pytest.approx(11 / 21)


def test_roc_auc_perfect_inverted_tied_and_single_class():
    labels = np.array([1, 1, 0, 0])
    assert M.roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 1.0
    assert M.roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 0.0
    assert M.roc_auc(np.full(4, 0.5), labels) == 0.5
    assert np.isnan(M.roc_auc(np.ones(2), np.ones(2)))


def test_by_group_means_and_counts():
    groups = M.by_group(np.array([0.1, 0.3, 0.5, np.nan]), ["a", "a", "b", "b"])
    assert groups == {"a": {"nme": pytest.approx(0.2), "count": 2}, "b": {"nme": 0.5, "count": 1}}
