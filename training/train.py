"""Train a hierarchical multi-label classifier: ``hiercls-train`` at its PaddleNLP-style path.

The command is hiercls/cli/train.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
