"""The backend subset: tests written for any Keras backend, run in a process of their own per backend.

`tests/test_backend.py` starts `python -m pytest tests/on_backend` with `KERAS_BACKEND` set (Keras picks its backend
at import, so one process cannot test two) and `ENASLITE_BACKEND_SUBSET=1`. Without that variable, as in the main
suite on TensorFlow, nothing here is collected: each module's own tests cover TensorFlow, in more depth.
"""

import os

if not os.environ.get("ENASLITE_BACKEND_SUBSET"):
    collect_ignore_glob = ["test_*.py"]
