import sys

from pbml_control.cli import main

sys.exit(main())
