"""Average several export folders in one export folder: ``hiercls-ensemble`` at its builders/ path.

The command is hiercls/cli/ensemble_models.py; ``--help`` lists its flags and examples.
"""

import sys

from hiercls.cli.ensemble_models import main

if __name__ == "__main__":
    sys.exit(main())
