"""`python -m tfp_realnvp`: the command line (`tfp_realnvp.cli`; the `tfp-realnvp` script also starts quietly)."""

import sys

from tfp_realnvp import cli

if __name__ == "__main__":
  sys.exit(cli.main())
