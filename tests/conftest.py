import os

# Quiet TensorFlow and keep the suite on the CPU with the TF backend.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
