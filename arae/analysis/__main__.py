import sys

from arae.analysis.cli import main

sys.exit(main())
