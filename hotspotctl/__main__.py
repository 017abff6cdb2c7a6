import sys

from hotspotctl.cli import main

sys.exit(main())
