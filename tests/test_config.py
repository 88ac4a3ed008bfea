import re

import pytest

from enaslite.config import PRESETS, Config, preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_roundtrip_json(name):
    """Every preset survives config.json and back unchanged."""
    cfg = preset(name)
    assert Config.from_json(cfg.to_json()) == cfg
    assert cfg.preset == name


def test_reference_values():
    """enas-* presets carry the reference scripts' hyperparameters (spec section 0)."""
    m, u = preset("enas-macro"), preset("enas-micro")
    assert (m.search.num_layers, m.search.out_filters, m.search.batch_size, m.search.l2) == (12, 36, 128, 2.5e-4)
    assert (m.final.num_layers, m.final.out_filters, m.final.batch_size, m.final.keep_prob) == (24, 96, 100, 0.5)
    assert (m.controller.train_steps, m.controller.num_aggregate, m.controller.lstm_size) == (50, 20, 64)
    assert (u.final.drop_path_keep_prob, u.final.aux_weight, u.final.epochs) == (0.6, 0.4, 630)
    assert (u.controller.lr, u.controller.tanh_constant, u.controller.num_aggregate) == (0.0035, 1.1, 10)


def test_thesis_values():
    """thesis-* presets carry the thesis' tables (24x96 macro, 15x36 micro, 310-epoch retrains)."""
    m, u = preset("thesis-macro"), preset("thesis-micro")
    assert (m.search.num_layers, m.search.out_filters, m.search.l2, m.controller.lstm_size) == (24, 96, 2.5e-4, 100)
    assert (u.final.num_layers, u.final.out_filters, u.final.batch_size, u.final.epochs) == (15, 36, 160, 310)


def test_override_dotted():
    """Dotted overrides replace one leaf and keep the rest."""
    cfg = preset("smoke").override(**{"final.epochs": 7, "seed": 3, "data.dataset": "cifar10"})
    assert (cfg.final.epochs, cfg.seed, cfg.data.dataset) == (7, 3, "cifar10")
    assert cfg.search == preset("smoke").search


def test_unknown_preset_lists_valid():
    """An unknown preset name is rejected with the list of valid ones."""
    with pytest.raises(ValueError, match=re.escape("argument `preset`: expected one of ['cpu-macro', "
                                                   "'cpu-macro-bug', 'cpu-micro', 'enas-macro', 'enas-micro', "
                                                   "'smoke', 'thesis-macro', 'thesis-macro-bug', 'thesis-micro'], "
                                                   "received 'fast'")):
        preset("fast")


def test_unknown_field_lists_valid():
    """An unknown field is rejected with the valid field names of its section."""
    with pytest.raises(ValueError, match=r"argument `final.epoch`: expected a field of final, one of \[.*'epochs'"):
        preset("smoke", **{"final.epoch": 3})
    with pytest.raises(ValueError, match=r"expected fields among \[.*received unknown \['bogus'\]"):
        Config.from_dict({**preset("smoke").to_dict(), "bogus": 1})


@pytest.mark.parametrize("key,value,msg", [
    ("space", "meso", "argument `space`: expected one of ['macro', 'micro'], received 'meso'"),
    ("final.keep_prob", 0.0, "argument `final.keep_prob`: expected a number in (0, 1], received 0.0"),
    ("search.out_filters", 15, "argument `search.out_filters`: expected an even int"),
    ("controller.mode", "greedy", "argument `controller.mode`: expected one of ['reinforce', 'frozen', 'uniform']"),
    ("final.epochs", "10", "argument `final.epochs`: expected an int > 0, received '10'"),
    ("controller.save_epochs", 5, "argument `controller.save_epochs`: expected a list of 1-based epoch ints, "
                                  "received 5"),
    ("controller.save_epochs", "abc", "argument `controller.save_epochs`: expected a list of 1-based epoch ints, "
                                      "received 'abc'"),
    ("controller.save_epochs", [0, 2], "argument `controller.save_epochs`: expected a list of 1-based epoch ints"),
    ("final.grad_bound", 0, "argument `final.grad_bound`: expected None or a number > 0, received 0"),
    ("search.grad_bound", "5", "argument `search.grad_bound`: expected None or a number > 0, received '5'"),
    ("final.aux_trainable", 0, "argument `final.aux_trainable`: expected a bool, received 0"),
    ("search.eval_dropout", "yes", "argument `search.eval_dropout`: expected a bool, received 'yes'"),
    ("search.reference_fan_in", None, "argument `search.reference_fan_in`: expected a bool, received None"),
    ("final.macro_sep_as_conv", 1, "argument `final.macro_sep_as_conv`: expected a bool, received 1"),
])
def test_bad_values_fail_early(key, value, msg):
    """Bad values are rejected at construction, naming the field, expectation and value."""
    with pytest.raises(ValueError, match=re.escape(msg)):
        preset("smoke", **{key: value})


def test_macro_bug_presets():
    """thesis-macro-bug / cpu-macro-bug are thesis-macro / cpu-macro with only the reference's op bug switched on."""
    for name in ("thesis-macro", "cpu-macro"):
        intended, bug = preset(name), preset(f"{name}-bug")
        assert not intended.reference_macro_bug and bug.reference_macro_bug
        assert bug.override(reference_macro_bug=False, preset=name) == intended


def test_reference_switches_default_to_todays_behaviour():
    """New reference switches default off (no clipping, trained aux head, no eval dropout, real fan-in, sep convs)."""
    for c in (preset("enas-micro").search, preset("thesis-micro").final, preset("thesis-macro").final):
        assert (c.grad_bound, c.aux_trainable, c.eval_dropout, c.reference_fan_in, c.macro_sep_as_conv) == (
            None, True, False, False, False)
    cfg = preset("smoke", **{"final.grad_bound": 5.0, "final.aux_trainable": False, "search.eval_dropout": True,
                             "search.reference_fan_in": True, "controller.save_epochs": [1, 3]})
    assert Config.from_json(cfg.to_json()) == cfg and cfg.controller.save_epochs == (1, 3)


def test_old_config_json_without_new_fields_loads():
    """A config.json written before the reference switches existed still loads, with the defaults."""
    d = preset("smoke").to_dict()
    for phase in ("search", "final"):
        for name in ("grad_bound", "aux_trainable", "eval_dropout", "reference_fan_in", "macro_sep_as_conv"):
            del d[phase][name]
    assert Config.from_dict(d) == preset("smoke")


def test_every_switch_in_the_departures_page_is_a_config_field():
    """Each `FIELD=VALUE` switch docs/departures.md offers (also inside `--set ...`) is accepted by the config."""
    import json
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "departures.md").read_text()
    switches = set(re.findall(r"(?:`|--set )((?:search|final|data|controller)\.[a-z_]+)=([^`\s]+)", text))
    assert len(switches) >= 7
    for field, value in switches:
        value = {"true": True, "false": False}.get(value, value)
        preset("cpu-micro", **{field: json.loads(value) if isinstance(value, str) and value[0].isdigit() else value})
