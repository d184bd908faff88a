"""Who may see what (services/visibility.py): each rule, for a customer and an admin."""

from __future__ import annotations

from models.base import ActivationStatus, Role
from services.auth import Viewer
from services.visibility import (
    activation_request_visible,
    activation_target_visible,
    login_visible,
    personal_account_visible,
)

CUSTOMER = Viewer(account_id=7, session_id=1, role=Role.CUSTOMER)
ADMIN = Viewer(account_id=1, session_id=2, role=Role.ADMIN)


def test_a_login_is_seen_by_itself_and_admins():
    assert login_visible(viewer=CUSTOMER, account_id=7)
    assert not login_visible(viewer=CUSTOMER, account_id=8)
    assert login_visible(viewer=ADMIN, account_id=8)


def test_a_personal_account_is_seen_when_linked_or_by_admins():
    assert personal_account_visible(viewer=CUSTOMER, personal_account_id=3, linked_ids=[3, 4])
    assert not personal_account_visible(viewer=CUSTOMER, personal_account_id=5, linked_ids=[3, 4])
    assert personal_account_visible(viewer=ADMIN, personal_account_id=5, linked_ids=[])


def test_an_activation_request_is_its_requesters_and_a_rejected_registrations_nobodys():
    assert activation_request_visible(viewer=CUSTOMER, requester_id=7)
    assert not activation_request_visible(viewer=CUSTOMER, requester_id=8)
    assert activation_request_visible(viewer=ADMIN, requester_id=8)
    assert not activation_request_visible(viewer=ADMIN, requester_id=None)


def test_a_requests_target_shows_once_approved_or_to_admins():
    assert activation_target_visible(viewer=CUSTOMER, status=ActivationStatus.APPROVED)
    assert not activation_target_visible(viewer=CUSTOMER, status=ActivationStatus.PENDING)
    assert activation_target_visible(viewer=ADMIN, status=ActivationStatus.PENDING)
