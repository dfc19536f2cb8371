"""Build the Triton model repository from an export folder: ``hiercls-build-repository`` at its PaddleNLP-style path.

The command is hiercls/cli/build_repository.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.build_repository import main

if __name__ == "__main__":
    sys.exit(main())
