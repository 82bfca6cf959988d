"""Stage 0, the data: MNIST from its sources (mnist.py), the IDX codec (idx.py), other digit formats
(formats.py), and size-bounded reading of every file, gzip stream and .npz member (bounded.py)."""


class DataError(Exception):
    """A data file is missing, malformed or not MNIST. The message is one line for the user."""
