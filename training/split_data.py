"""Carve a test split off train.txt: ``hiercls-split-data`` at its PaddleNLP-style path.

The command is hiercls/cli/split_data.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.split_data import main

if __name__ == "__main__":
    sys.exit(main())
