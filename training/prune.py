"""DynaBERT width pruning of a fine-tuned checkpoint: ``hiercls-prune`` at its PaddleNLP-style path.

The command is hiercls/cli/prune.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.prune import main

if __name__ == "__main__":
    sys.exit(main())
