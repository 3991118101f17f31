"""Accuracy per subgroup of a labelled table: where a classifier errs, not only how often.

Used on the trains, whose attribute table names every concept of each image: grouping the test set by the
concepts a task is defined from (TypeA = EmptyTrain or (PassengerCar and ReinforcedCar)) shows which part of the
rule a classifier has not learned.  Plain pandas; a function so notebooks and tests share it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def accuracy_by_group(table: pd.DataFrame, correct: Sequence[bool] | np.ndarray, by: Sequence[str]) -> pd.DataFrame:
    """One row per combination of the columns ``by`` present in ``table``: its size, share of the table and
    accuracy (mean of ``correct``), plus ``errors_share``, the share of all errors that fall in it.

    Raises ValueError when ``correct`` does not have one entry per row or a column of ``by`` is missing.
    """
    correct = np.asarray(correct, dtype=bool).reshape(-1)
    if len(correct) != len(table):
        raise ValueError(
            f"correct has {len(correct)} entries but the table has {len(table)} rows: pass one right/wrong flag per row"
        )
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {list(table.columns)[:12]}...")
    df = table[list(by)].copy()
    df["_correct"] = correct
    g = df.groupby(list(by), dropna=False)["_correct"]
    out = pd.DataFrame({"n": g.size(), "accuracy": g.mean()}).reset_index()
    out["share"] = out["n"] / len(df)
    n_err = int((~correct).sum())
    out["errors_share"] = (out["n"] * (1 - out["accuracy"]) / n_err) if n_err else 0.0
    return out
