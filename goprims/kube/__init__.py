"""The Kubernetes wire: an embedded API server (:class:`APIServer`) that kubectl, the official
client and informers talk to, over any :class:`~goprims.storage.Storage`.

``APIServer`` needs only the standard library. :class:`KubeListWatch` (informers on a real
cluster) takes the official client's ``ApiClient``: ``pip install goprims[kubernetes]``.
"""

from __future__ import annotations

from goprims.kube.listwatch import KubeListWatch, KubeWatch
from goprims.kube.resources import Resource
from goprims.kube.server import INITIAL_EVENTS_END_ANNOTATION, APIServer
from goprims.kube.status import APIError

__all__ = [
    "INITIAL_EVENTS_END_ANNOTATION",
    "APIError",
    "APIServer",
    "KubeListWatch",
    "KubeWatch",
    "Resource",
]
