"""Dirty-data analysis: ``hiercls-dirty-data`` at its PaddleNLP-style path.

The command is hiercls/cli/dirty_data.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.dirty_data import main

if __name__ == "__main__":
    sys.exit(main())
