"""The commands of the ``steadyrig`` command line, one module per job (``cli.py`` groups them).

Each module parses options, calls the library and reports; choices and defaults come from the
library's registries and parameter dataclasses.
"""

from .batch import batch_cmd
from .demo import demo_cmd
from .lens import lens_group
from .logs import inspect_cmd, samples_cmd, sync_cmd
from .stabilize import stabilize_cmd
from .stitch import stitch_cmd

#: In the order ``steadyrig --help`` lists them (alphabetical, as click sorts).
COMMANDS = (batch_cmd, demo_cmd, inspect_cmd, lens_group, samples_cmd, stabilize_cmd,
            stitch_cmd, sync_cmd)
