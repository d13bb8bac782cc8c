import sys

from arae.detector.cli import main

sys.exit(main())
