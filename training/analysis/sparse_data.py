"""Sparse-data analysis: ``hiercls-sparse-data`` at its PaddleNLP-style path.

The command is hiercls/cli/sparse_data.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.sparse_data import main

if __name__ == "__main__":
    sys.exit(main())
