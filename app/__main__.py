"""`python -m slotwise`: the same command line as the `slotwise` script."""

import sys

from slotwise.cli import main

sys.exit(main())
