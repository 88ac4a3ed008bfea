"""The NNI side of `python -m enaslite bench --peer nni`: one timed pass of NNI 2.8's ENAS macro search.

Run by `enaslite.peer` as a script, with the interpreter the user names (`--peer-python`, e.g. a virtualenv holding
NNI 2.8 and PyTorch), never imported by enaslite: it imports only the standard library, torch and NNI, so it works
where enaslite and Keras are not installed. Nothing of NNI is copied here. The search space is the `GeneralNetwork`
of NNI v2.8's example `examples/nas/oneshot/enas/macro.py` (with its `ops.py`), fetched at run time into a folder
(`enaslite.peer.fetch_nni_example`). The NNI wheel ships the same network as
`nni.nas.pytorch.search_space_zoo.ENASMacroGeneralModel`, but that copy adds the skip connections in place
(`out += connection`), which current PyTorch refuses in the backward pass ("modified by an inplace operation"); the
example adds them out of place. The training is NNI's v1 ENAS trainer (`nni.algorithms.nas.pytorch.enas.EnasTrainer`,
as the example's `search.py --v1` builds it): its child phase, `train_one_epoch` with `child_steps` steps and no
controller steps, so its LSTM mutator samples a new architecture before every step. The data are synthetic (uniform
pixels, random labels) in the shape the enaslite side used.

    PYTHON peer_nni_worker.py --check [DIR]    # prints the versions, or fails saying what is missing
    PYTHON peer_nni_worker.py '<json spec>'    # the timed pass; see `enaslite.peer.nni_spec`

The result is one line on stdout, `RESULT_PREFIX` + JSON: `marks`, [time.time(), process CPU-seconds] at the start
of the pass and at the end of each step (the optimizer's post-step hook), the peak resident memory and versions.
"""

import json
import os
import resource
import sys
import time

RESULT_PREFIX = "ENASLITE_PEER_RESULT "
NNI_VERSION = "2.8"

if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # run as a script: enaslite's own modules (ops.py, data.py ...) must not shadow anything


def _versions() -> dict:
    import nni
    import torch
    from nni.algorithms.nas.pytorch.enas import EnasTrainer  # noqa: F401  (the trainer this side times)
    return {"nni": nni.__version__, "torch": torch.__version__, "python": sys.version.split()[0],
            "torch_threads": torch.get_num_threads()}


def _model(spec: dict):
    h, w, channels = spec["input_shape"]
    sys.path.insert(0, os.path.abspath(spec["example_dir"]))
    from macro import GeneralNetwork  # NNI's example, fetched at run time (it imports its ops.py)
    return GeneralNetwork(num_layers=spec["num_layers"], out_filters=spec["out_filters"], in_channels=channels,
                          num_classes=spec["num_classes"])


def _accuracy(logits, y) -> dict:
    """Top-1 accuracy, the metric the trainer logs each step (NNI's example passes its own `utils.accuracy`)."""
    return {"acc1": (logits.argmax(1) == y).float().mean().item()}


def run(spec: dict) -> dict:
    import torch
    import torch.nn as nn
    from torch.utils.data import TensorDataset
    from nni.algorithms.nas.pytorch.enas import EnasTrainer

    torch.manual_seed(spec["seed"])
    h, w, channels = spec["input_shape"]

    def synthetic(n):
        return TensorDataset(torch.rand(n, channels, h, w), torch.randint(0, spec["num_classes"], (n,)))

    model = _model(spec)
    # The example's child optimizer (search.py): SGD, lr 0.05, momentum 0.9, weight decay 1e-4.
    optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9, weight_decay=1.0E-4)
    # The trainer holds out the last tenth of dataset_train for its controller, as it does with CIFAR-10.
    trainer = EnasTrainer(model, loss=nn.CrossEntropyLoss(), metrics=_accuracy, reward_function=_accuracy,
                          optimizer=optimizer, num_epochs=1, dataset_train=synthetic(spec["n_train"]),
                          dataset_valid=synthetic(spec["n_test"]), batch_size=spec["batch_size"], workers=0,
                          device=torch.device("cpu"), log_frequency=None, child_steps=spec["steps"],
                          mutator_steps=0)
    marks = []

    def mark(*_):
        marks.append([time.time(), time.process_time()])

    optimizer.register_step_post_hook(mark)
    mark()
    trainer.train_one_epoch(0)
    marks[-1] = [time.time(), time.process_time()]  # the last step's end: the whole call returned
    return {"side": "nni", "marks": marks, "versions": _versions(),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv) -> int:
    if argv[:1] == ["--check"]:
        versions = _versions()
        if not versions["nni"].startswith(NNI_VERSION):
            print(f"nni {versions['nni']} is installed, not {NNI_VERSION}", file=sys.stderr)
            return 1
        if argv[1:]:  # the example's network must build from the folder given
            _model({"input_shape": [32, 32, 3], "num_layers": 3, "out_filters": 4, "num_classes": 10,
                    "example_dir": argv[1]})
        print(RESULT_PREFIX + json.dumps(versions), flush=True)
        return 0
    print(RESULT_PREFIX + json.dumps(run(json.loads(argv[0]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
