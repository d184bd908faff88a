"""The sandbox bank's memory: orders, their statuses, the callbacks it sends (LiqPay's parameters)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import httpx

from config import Settings
from payments.liqpay import LiqPayKeys, signature_of, signed_pair
from payments.sandbox.switches import Switches

log = logging.getLogger("cabinet.sandbox_bank")

MAX_ORDERS = 10_000
CALLBACK_TIMEOUT = 10.0


@dataclass(slots=True)
class Order:
    order_id: str
    amount: Decimal
    currency: str
    description: str
    server_url: str | None
    result_url: str | None
    expires_at: dt.datetime | None
    data: str  # the checkout's data, to recognise the same form posted again
    token: str  # the card page's form carries it
    create_date: int
    status: str | None = None  # the bank's status; None until a button is pressed
    payment_id: int | None = None
    end_date: int | None = None
    card_mask: str | None = None
    is_3ds: bool = False
    history: list[tuple[str, int]] = field(default_factory=list)  # (status, ms)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    last_delivery: asyncio.Event | None = None

    def public(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "status": self.status,
            "amount": float(self.amount),
            "currency": self.currency,
            "description": self.description,
            "payment_id": self.payment_id,
            "create_date": self.create_date,
            "end_date": self.end_date,
            "sender_card_mask2": self.card_mask,
            "history": [{"status": s, "date": ms} for s, ms in self.history],
            "callbacks": list(self.callbacks),
        }


class SandboxBank:
    """The bank's memory: orders, switches, the payment id sequence."""

    def __init__(self, settings: Settings) -> None:
        self.keys = LiqPayKeys(
            settings.liqpay_public_key, settings.liqpay_private_key.get_secret_value(), settings.liqpay_algorithm
        )
        # The cabinet's clock (config.Settings.now): with a pinned business date the bank's page,
        # its expiry checks and its times fall on that day too, as the cabinet's own records do.
        self.now = settings.now
        self.orders: dict[str, Order] = {}
        self.switches: dict[str, dict[str, Any]] = {}
        self.payment_ids = itertools.count(1_000_001)

    def switches_for(self, order_id: str) -> Switches:
        return replace(Switches(), **{**self.switches.get("*", {}), **self.switches.get(order_id, {})})

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def remember(self, order: Order) -> None:
        while len(self.orders) >= MAX_ORDERS:
            self.orders.pop(next(iter(self.orders)))
        self.orders[order.order_id] = order

    def move(self, order: Order, status: str) -> None:
        if order.payment_id is None:
            order.payment_id = next(self.payment_ids)
        order.status = status
        order.end_date = self.now_ms()
        order.history.append((status, order.end_date))

    # -- callbacks

    def message(self, order: Order, status: str, end_date: int | None) -> dict[str, Any]:
        """The callback's parameters, as LiqPay sends them."""
        params: dict[str, Any] = {
            "version": 3,
            "public_key": self.keys.public_key,
            "action": "pay",
            "status": status,
            "type": "buy",
            "paytype": "card",
            "amount": float(order.amount),
            "currency": order.currency,
            "order_id": order.order_id,
            "payment_id": order.payment_id,
            "liqpay_order_id": f"SANDBOX{order.payment_id}",
            "description": order.description,
            "create_date": order.create_date,
            "end_date": end_date or self.now_ms(),
            "is_3ds": order.is_3ds,
        }
        if order.card_mask:
            params["sender_card_mask2"] = order.card_mask
        if status == "failure":
            params["err_code"] = "sandbox_declined"
            params["err_description"] = "Платіж відхилено в пісочниці банку"
        return params

    def delivery(self, order: Order, status: str) -> Any:
        """A coroutine function sending this status's callback(s), in press order per order.

        The order of presses is fixed now (synchronously), so a later press's callbacks never
        overtake an earlier one's, whatever `late` says; `reordered` is the way to get that.
        """
        switches = self.switches_for(order.order_id)
        messages = [self.message(order, status, order.end_date)] * switches.duplicate
        if switches.reordered and switches.reordered != status:
            stale_date = next((ms for s, ms in order.history if s == switches.reordered), order.create_date)
            messages.append(self.message(order, switches.reordered, stale_date))
        previous, done = order.last_delivery, asyncio.Event()
        order.last_delivery = done

        async def deliver() -> None:
            try:
                if previous is not None:
                    await previous.wait()
                server_url = order.server_url
                if switches.silent or not server_url:
                    order.callbacks.append(
                        {"status": status, "sent": False, "reason": "silent" if switches.silent else "no server_url"}
                    )
                    return
                if switches.late:
                    await asyncio.sleep(switches.late)
                async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT, trust_env=False) as client:
                    for params in messages:
                        await self._post(client, order, server_url, params, forged=switches.forged)
            finally:
                done.set()

        return deliver, switches.sync

    async def _post(
        self, client: httpx.AsyncClient, order: Order, server_url: str, params: dict, *, forged: bool
    ) -> None:
        data, signature = signed_pair(self.keys, params)
        if forged:
            signature = signature_of(replace(self.keys, private_key=self.keys.private_key + "-forged"), data)
        record: dict[str, Any] = {"status": params["status"], "sent": True, "forged": forged}
        try:
            response = await client.post(server_url, data={"data": data, "signature": signature})
            record["http_status"] = response.status_code
        except httpx.HTTPError as error:
            record["error"] = f"{type(error).__name__}: {error}"
        order.callbacks.append(record)
        log.info(
            "sandbox bank callback %s %s -> %s",
            order.order_id,
            params["status"],
            record.get("http_status", record.get("error")),
        )
