"""Detection accuracy on the labelled corpus of real repositories (``../shared/corpus``): the
figures reached may not fall. The corpus is required; without it this test fails, loudly."""

from __future__ import annotations

import pytest

from benchmarks.bench_accuracy import CORPUS, CorpusMissing, measure, own_repository_claims

#: reached with benchmarks/bench_accuracy.py; raise them when detection improves, never lower them
MICRO_F1_FLOOR = 1.0
MACRO_F1_FLOOR = 1.0
BAND_AGREEMENT_FLOOR = 1.0


@pytest.fixture(scope="module")
def score():
    try:
        return measure(CORPUS)[0]
    except CorpusMissing as exc:
        pytest.fail(f"{exc}: this test measures detection on the labelled corpus and cannot run "
                    "without it", pytrace=False)


def test_micro_and_macro_f1_do_not_fall(score):
    assert score.micro.f1 >= MICRO_F1_FLOOR, "\n".join(f"{k} {r}: {lb} ({why})"
                                                      for r, lb, k, why in score.mistakes)
    assert score.macro_f1 >= MACRO_F1_FLOOR


def test_no_claim_cites_a_decoy(score):
    assert score.decoys == []


def test_maturity_bands_agree(score):
    assert score.band_agreement >= BAND_AGREEMENT_FLOOR, score.bands


def test_this_projects_own_repository_claims_no_ml_capability():
    assert own_repository_claims() == {}
