"""Who may see what: the rules behind Query.node and the personal-account reads.

A customer sees their own login and what hangs on the personal accounts linked to it;
an admin sees every login and personal account. Each rule is a plain function of the
viewer and what is known of the object, so the resolvers that load the object only ask. Schedules and acts by ID are looked
for on the viewer's own linked personal accounts (resolvers/nodes.py).
"""

from __future__ import annotations

from collections.abc import Collection

from models.base import ActivationStatus
from services.auth import Viewer


def login_visible(*, viewer: Viewer, account_id: int) -> bool:
    """One's own login; admins every login."""
    return viewer.is_admin or account_id == viewer.account_id


def personal_account_visible(*, viewer: Viewer, personal_account_id: int, linked_ids: Collection[int]) -> bool:
    """Admins every personal account; a customer those linked to their login (its bills, payments, readings)."""
    return viewer.is_admin or personal_account_id in linked_ids


def activation_request_visible(*, viewer: Viewer, requester_id: int | None) -> bool:
    """The requester's own requests; admins all. A rejected registration's request has no login left: nobody's."""
    return requester_id is not None and login_visible(viewer=viewer, account_id=requester_id)


def activation_target_visible(*, viewer: Viewer, status: ActivationStatus) -> bool:
    """The record a request targets: admins always, the requester once the request is approved."""
    return viewer.is_admin or status == ActivationStatus.APPROVED
