"""Stage 0, the data: MNIST from its sources (mnist.py), the IDX codec (idx.py) and other digit formats (formats.py)."""


class DataError(Exception):
    """A data file is missing, malformed or not MNIST. The message is one line for the user."""
