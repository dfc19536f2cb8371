"""Evaluate a checkpoint or an export folder on labelled data: ``hiercls-evaluate`` at its PaddleNLP-style path.

The command is hiercls/cli/evaluate.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
