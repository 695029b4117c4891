"""Entry point of the frozen qa-engine executable (PyInstaller; see build_executable.py).

qa_engine judges cases in worker processes started with multiprocessing's *spawn* method. In a
frozen executable a spawned worker is the executable itself, started again with multiprocessing's
own arguments; freeze_support() must run first so that such a start runs the worker and exits,
instead of running the command line a second time.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from qa_engine.cli import main

    sys.exit(main())
