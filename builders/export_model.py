"""Export a checkpoint to a static graph and ONNX: ``hiercls-export-model`` at its PaddleNLP-style path.

The command is hiercls/cli/export_model.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.export_model import main

if __name__ == "__main__":
    sys.exit(main())
