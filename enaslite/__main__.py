import sys

from enaslite.cli import main

sys.exit(main())
