"""Hidden cases: with a grading seed, every check draws other random cases, and the solutions still pass them."""

import numpy as np
import pytest

from latent_course.checks import _framework
from latent_course.checks._summary import check_task
from latent_course.tools.solutions import load_solution
from latent_course.topics import tasks, topics


@pytest.fixture(params=[1, 20261204])
def grading_seed(request, monkeypatch):
    monkeypatch.setattr(_framework, "GRADING_SEED", request.param)
    return request.param


def test_a_grading_seed_changes_the_cases(monkeypatch):
    shown = _framework.case_rng(3).normal(size=4)
    monkeypatch.setattr(_framework, "GRADING_SEED", 1)
    hidden = _framework.case_rng(3).normal(size=4)
    assert not np.allclose(shown, hidden)
    assert np.array_equal(hidden, _framework.case_rng(3).normal(size=4))  # reproducible for a given seed


@pytest.mark.slow
@pytest.mark.parametrize("topic", topics())
def test_the_solutions_pass_the_hidden_cases(grading_seed, topic):
    solution = load_solution(topic)
    results = [check_task(topic, task, getattr(solution, task, None)) for task in tasks(topic)]
    assert [result for result in results if result.status != "passed"] == []
