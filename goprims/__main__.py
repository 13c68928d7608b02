"""``python -m goprims`` runs the demo."""

from goprims.demo import main

main()
