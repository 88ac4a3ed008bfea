import pytest

from enaslite.study.params import check


def test_defaults_and_plan_kwargs(tmp_path):
    """The defaults give both spaces at the cpu scale; plan keyword arguments carry the scale's preset."""
    p = check(runs_dir=str(tmp_path))
    assert p.spaces == ("macro", "micro") and p.seeds == (0, 1, 2)
    assert p.plan_kwargs("micro")["preset"] == "cpu-micro"
    q = check(scale="smoke", space="macro", epochs=3, dataset="fashion_mnist", runs_dir=tmp_path)
    kw = q.plan_kwargs("macro")
    assert kw["preset"] == "smoke" and kw["epochs"] == 3 and kw["dataset"] == "fashion_mnist"


@pytest.mark.parametrize("kw,message", [
    ({"scale": "huge"}, "argument `scale`: expected one of"),
    ({"space": "nano"}, "argument `space`: expected one of ['macro', 'micro', 'both'], received 'nano'"),
    ({"preset": "cpu-huge", "space": "macro"}, "argument `preset`: expected None or one of"),
    ({"preset": "cpu-macro"}, "argument `space`: expected 'macro' or 'micro' when a preset is given"),
    ({"dataset": "mnist"}, "argument `dataset`: expected None, one of"),
    ({"epochs": "abc"}, "argument `epochs`: expected None or an int >= 1, received 'abc'"),
    ({"epochs": 0}, "argument `epochs`: expected None or an int >= 1, received 0"),
    ({"seeds": [0, 0]}, "argument `seeds`: expected a non-empty list of distinct ints >= 0, received [0, 0]"),
    ({"seeds": 3}, "argument `seeds`: expected a non-empty list"),
])
def test_bad_parameters_fail_naming_them(kw, message):
    """Each bad parameter fails with one message naming it, what was expected and what was received."""
    with pytest.raises(ValueError) as e:
        check(**kw)
    assert message in str(e.value)


def test_runs_dir_that_is_a_file(tmp_path):
    """A runs_dir that is a file is refused."""
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="argument `runs_dir`: expected a directory path"):
        check(runs_dir=tmp_path / "f")
