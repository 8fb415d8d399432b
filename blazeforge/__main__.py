import sys

from blazeforge.cli import main

sys.exit(main())
