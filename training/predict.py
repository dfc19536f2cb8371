"""Predict label paths for unlabelled texts: ``hiercls-predict`` at its PaddleNLP-style path.

The command is hiercls/cli/predict.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.predict import main

if __name__ == "__main__":
    sys.exit(main())
