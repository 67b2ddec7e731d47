"""Logging for every mode: the console, and the run's log.txt once a run folder exists."""
import logging
import sys


def setup_logging(log_file=None, rank=0):
    """Console (and optional file) logging; ranks other than 0 only log warnings."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    formatter = logging.Formatter('[%(asctime)s] %(message)s', '%Y-%m-%d %H:%M:%S')
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(formatter)
    root.addHandler(console)
    if log_file is not None:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
