"""Augmentation for rare labels: ``hiercls-augment-data`` at its PaddleNLP-style path.

The command is hiercls/cli/augment_data.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.augment_data import main

if __name__ == "__main__":
    sys.exit(main())
