"""Storage quotas: what an owner's results take, and how much they may.

``models.py``  :class:`~.models.OwnerQuota`, an admin's override of the default limit
``logic.py``   usage per project and per owner (sums of the result sizes the backend
               reported per build chroot and source build), the owner's limit, and the
               check that refuses a submission by an owner at or over it
``api.py``     API v3 ``/quota/<ownername>``

The backend reports each task's ``result_size`` with its final state
(``/backend/update/``); the sizes are kept on the rows of the builds, so deleting a build
or a project frees its share with no bookkeeping of its own.
"""
