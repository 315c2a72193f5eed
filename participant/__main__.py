import sys

from participant.cli import main

sys.exit(main())
