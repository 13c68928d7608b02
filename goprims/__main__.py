"""``python -m goprims`` prints the version and where the demo lives.

The demo is an example program, not part of the library: ``examples/demo.py`` in the source tree,
run with ``./dev demo``.
"""

import goprims

print(
    f"goprims {goprims.__version__}: the demo is examples/demo.py in the source tree (./dev demo)"
)
