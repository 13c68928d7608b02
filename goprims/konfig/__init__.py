"""Hot configuration: :class:`Konfig` follows one ConfigMap-shaped object in any
:class:`~goprims.storage.Storage` (memory or etcd) through an informer and serves it to readers
that never lock.

* :class:`Konfig`: nested-key ``get`` with a revision, typed getters, typed registration of a
  sub-tree (dataclasses), environment mounting, ``subscribe()`` channels, ``set(data)``.
* :data:`NOT_FOUND` (-1), :data:`PARSE_FAILED` (-2): the origin's error revisions.
* :class:`KonfigValueError`: a value that failed to parse or decode (given to ``on_error``).

YAML values need PyYAML (``pip install 'goprims[yaml]'``), imported on first use.
"""

from __future__ import annotations

from goprims.konfig.konfig import NOT_FOUND, PARSE_FAILED, Konfig, KonfigValueError

__all__ = ["NOT_FOUND", "PARSE_FAILED", "Konfig", "KonfigValueError"]
