"""Build an fp16/int8 variant of an export folder behind a dev-F1 gate: ``hiercls-quantize-model`` at its PaddleNLP-style path.

The command is hiercls/cli/quantize_model.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.quantize_model import main

if __name__ == "__main__":
    sys.exit(main())
