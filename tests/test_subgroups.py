import numpy as np
import pandas as pd
import pytest

from genxai.trains.subgroups import accuracy_by_group


def test_accuracy_by_group_counts_and_error_shares():
    table = pd.DataFrame({"a": [True, True, False, False, False], "b": [1, 1, 1, 2, 2]})
    correct = [True, False, True, False, False]
    out = accuracy_by_group(table, correct, ["a"]).set_index("a")
    assert out.loc[True, "n"] == 2 and out.loc[True, "accuracy"] == 0.5
    assert out.loc[False, "n"] == 3 and out.loc[False, "accuracy"] == pytest.approx(1 / 3)
    # 3 errors in all: 1 in group a=True, 2 in a=False
    assert out.loc[True, "errors_share"] == pytest.approx(1 / 3)
    assert out["errors_share"].sum() == pytest.approx(1.0)
    assert out["share"].sum() == pytest.approx(1.0)
    two = accuracy_by_group(table, np.array(correct), ["a", "b"])
    assert len(two) == 3 and two["n"].sum() == 5


def test_accuracy_by_group_rejects_bad_input():
    table = pd.DataFrame({"a": [True, False]})
    with pytest.raises(ValueError, match="one right/wrong flag per row"):
        accuracy_by_group(table, [True], ["a"])
    with pytest.raises(ValueError, match="not in the table"):
        accuracy_by_group(table, [True, False], ["nope"])
