"""benchmarks/movielens.py on a tiny synthetic u.data: it reads the file, chooses on validation and prints its table."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.full_course

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import movielens  # noqa: E402


def test_movielens_table_on_synthetic_u_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    users, items = np.divmod(rng.choice(60 * 40, size=1200, replace=False), 40)
    ratings = np.clip(np.rint(3 + rng.normal(size=60)[users] + rng.normal(size=40)[items]), 1, 5).astype(int)
    triples = zip(users, items, ratings, strict=True)
    lines = [f"{u + 1}\t{i + 1}\t{r}\t88125094{j % 10}" for j, (u, i, r) in enumerate(triples)]
    path = tmp_path / "u.data"
    path.write_text("user_id\titem_id\trating\ttimestamp\n" + "\n".join(lines) + "\n")
    movielens.main([str(path), "--folds", "3", "--quick"])
    out = capsys.readouterr().out
    assert "1,200 ratings, 60 users, 40 items, 3 folds" in out
    table = {line[:36].strip(): line[36:].split() for line in out.splitlines()[-4:]}
    assert set(table) == {"user mean", "plain ALS (user-mean shifted)", "ALS-WR with biases",
                          "ALS-WR, biases, implicit (SVD++)"}
    scores = {name: [float(s) for s in values] for name, values in table.items()}
    assert all(len(values) == 4 and 0 < min(values) and max(values) < 4 for values in scores.values())
    assert scores["ALS-WR with biases"][-1] < scores["user mean"][-1]
    assert scores["ALS-WR, biases, implicit (SVD++)"][-1] < scores["user mean"][-1]
    assert out.count("ALS-WR, biases, implicit (SVD++): validation chose (k, lambda, lambda_y) = (2, 0.1, 10.0)") == 3


def test_folds_partition_the_ratings():
    parts = movielens.folds(103, 5)
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
