"""The sandbox bank: LiqPay's Checkout protocol on one machine (DESIGN §3 Payments).

A small Starlette app, mounted by the cabinet at /sandbox-bank when
`sandbox_bank` is on (`make run` turns it on). It speaks the same protocol as
LiqPay with the cabinet's own keys:

- `POST /api/3/checkout` (data, signature): the card page. Its buttons succeed
  («Сплатити»), fail («Відхилити») or wait for 3-D Secure («3-D Secure», then
  «Підтвердити» / «Скасувати»). Each press sends the signed callback to the
  order's `server_url` by real HTTP and sends the browser (303) to `result_url`.
- `POST /api/request` (data, signature): `action=status` answers like LiqPay's
  status API; `action=refund` reverses a successful payment and sends a
  `reversed` callback.
- `GET|POST /sandbox/switches`: misbehaviour on demand, per order or for all
  ("*"): `duplicate`, `late`, `reordered`, `forged`, `silent`, and `sync`
  (callbacks sent before the page answers, for tests). The same switches can
  be given as a query string to the checkout or to a button's form.
- `GET /sandbox/orders/{order_id}`: what the bank knows, with every callback it
  sent and the answer it got.

Orders live in memory only (a restart forgets them). Never turn this on in production.

Split by concept: protocol.py (the endpoints), state.py (orders and callbacks),
pages.py (HTML), cards.py (the card form's checks), switches.py (misbehaviour).
"""

from payments.sandbox.cards import card_check, luhn_ok, money
from payments.sandbox.protocol import sandbox_bank_app
from payments.sandbox.switches import SwitchError, switches_parse

__all__ = ["SwitchError", "card_check", "luhn_ok", "money", "sandbox_bank_app", "switches_parse"]
