"""Classify texts with the served ensemble over gRPC: ``hiercls-client`` at its PaddleNLP-style path.

The command is hiercls/cli/client.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.client import main

if __name__ == "__main__":
    sys.exit(main())
