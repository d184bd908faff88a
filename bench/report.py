"""The report of one `make bench` run (var/bench/report.md): the targets, one table per
document, the writes and documents; and the raw figures for report.json."""

from __future__ import annotations

import statistics

from bench.load import Result

TITLE = {"app": "app: general executor", "floor": "floor (1 SQL)", "peer": "PostGraphile v4"}
ORDER = ("app", "floor", "peer")
# Issue #13's targets: each document ≥ 1.3× PostGraphile's rate, the main screen ≥ 0.4 of its
# floor's, both through the general executor; meterReadingSubmit ≥ 200/s.
PEER_TARGET, FLOOR_TARGET, SUBMIT_TARGET = 1.3, 0.4, 200.0


def fmt_lat(r: Result | None) -> str:
    if r is None:
        return "—"
    if r.requests == 0:
        return "no answer within 10 s"
    text = f"{r.p50:.1f} / {r.p95:.1f} / {r.p99:.1f}"
    return text + (" (saturated)" if r.saturated else "")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if a and b else "—"


def _verdict(value: float | None, target: float) -> str:
    if not value:
        return "not measured"
    if value >= target:
        return "met"
    return f"**missed** by {(1 - value / target) * 100:.0f} %"


def _per(r: Result, which: str) -> str:
    return f"{r.per_request_ms(which):.2f}" if r.requests else "—"


def _k(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def targets(ctx: dict) -> list[str]:
    main, big = ctx["main"], ctx["main_size"]
    L = [f"## Targets ({big:,} personal accounts; requests/s at p95 < 50 ms)", ""]
    if ctx["documents"]:
        L += [
            "| document | app: general executor | PostGraphile | app ÷ PostGraphile (≥ 1.3) | floor | app ÷ floor |",
            "|---|---|---|---|---|---|",
        ]
    for doc in ctx["documents"]:
        m = main[doc["slug"]]
        app = m["app"]["rate_p95"]
        peer = m.get("peer", {}).get("rate_p95")
        floor = m.get("floor", {}).get("rate_p95")
        on_peer = app / peer if app and peer else None
        L.append(
            f"| {doc['title']} | {app:.0f} | {peer or 0:.0f} | {ratio(app, peer or 0)}: {_verdict(on_peer, PEER_TARGET)} | "
            f"{floor or 0:.0f} | {ratio(app, floor or 0)} |"
        )
    L.append("")
    m = main.get("main-screen")
    if m:
        app, floor = m["app"]["rate_p95"], m.get("floor", {}).get("rate_p95")
        L.append(
            f"- Main screen through the general executor ÷ its floor: {ratio(app, floor or 0)} "
            f"(target ≥ {FLOOR_TARGET}): {_verdict(app / floor if app and floor else None, FLOOR_TARGET)}."
        )
    ex = ctx.get("extras")
    if ex:
        rate = ex["submit"].rate
        L.append(
            f"- meterReadingSubmit, 8 connections: {rate:.0f}/s (target ≥ {SUBMIT_TARGET:.0f}): "
            f"{_verdict(rate, SUBMIT_TARGET)}."
        )
    L.append("")
    return L


def document_table(ctx: dict, doc: dict) -> list[str]:
    slug, big = doc["slug"], ctx["main_size"]
    m = ctx["main"][slug]
    names = [n for n in ORDER if n in m]
    L = [f"### {doc['title']} (`{slug}`)", ""]
    L.append("| | " + " | ".join(TITLE[n] for n in names) + " |")
    L.append("|---|" + "---|" * len(names))

    def row(label: str, cells) -> None:
        L.append(f"| {label} | " + " | ".join(cells) + " |")

    app_rate = m["app"]["rate_p95"]
    row("requests/s at p95 < 50 ms", [f"{m[n]['rate_p95']:.0f}" for n in names])
    row("app (general) ÷ it", ["1.00" if n == "app" else ratio(app_rate, m[n]["rate_p95"]) for n in names])
    row("closed loop, 16 connections: requests/s", [f"{m[n]['closed'].rate:.0f}" for n in names])
    for r in ctx["fixed_rates"].get(slug, []):
        row(f"at {r}/s: p50 / p95 / p99 ms", [fmt_lat(m[n]["fixed"].get(r)) for n in names])
    row(
        "SQL statements per request (server log)",
        [f"{m[n]['statements']:.1f}" if m[n]["statements"] is not None else "n/a" for n in names],
    )
    cpu = {n: m[n]["rate_p95_result"] or m[n]["closed"] for n in names}
    row("CPU per request: server / PostgreSQL (ms)", [f"{_per(cpu[n], 'app')} / {_per(cpu[n], 'db')}" for n in names])
    row("other processes' CPU during those runs (cores of 2)", [f"{cpu[n].other_cores:.2f}" for n in names])
    row("answer size (bytes)", [f"{m[n]['bytes']:,}" for n in names])
    sizes = sorted(ctx["growth"])
    rate = ctx["growth_rate"].get(slug)
    if rate:

        def median(n: str, size: int) -> str:
            r = ctx["growth"][size].get(slug, {}).get(n)
            return "—" if r is None else (f"{r.p50:.1f}" if r.requests else "no answer")

        row(
            f"median at {rate}/s, {' → '.join(_k(s) for s in sizes)} accounts (ms)",
            [" → ".join(median(n, s) for s in sizes) for n in names],
        )

    def plan(n: str, size: int) -> str:
        p = ctx["plans"].get(size, {}).get(slug, {})
        if n == "app" and n in p:
            x = p[n]
            return f"{x['statements']:g} statements, {'yes' if x['index_only'] else 'NO: ' + ', '.join(x['seq_scans'])}"
        if n == "floor" and "app" in p:
            x = p["app"]
            return "1 statement, " + ("yes" if x["floor_index_only"] else "NO: " + ", ".join(x["floor_seq_scans"]))
        return "—"

    row(
        "in process, " + " → ".join(_k(s) for s in sizes) + ": statements, index access only",
        [" → ".join(plan(n, s) for s in sizes) for n in names],
    )
    L.append("")
    p = ctx["plans"][big][slug]["app"]
    notes = [f"The floor's JSON equals the app's for {p['floor_matches'][0]}/{p['floor_matches'][1]} requests"]
    if doc.get("paged"):
        notes.append(
            f"the second page is asked after the first page's endCursor "
            f"({'the cursor the load sends' if not p['cursors_wrong'] else str(p['cursors_wrong']) + ' cursors differ'})"
        )
    check = ctx.get("peer_check", {}).get(slug)
    if check:
        notes.append(
            f"PostGraphile's figures equal the app's for {check[0]}/{check[1]} logins"
            + (f" ({'; '.join(check[2][:3])})" if check[2] else "")
        )
    L.append("; ".join(notes) + ".")
    L.append("")
    return L


def report(ctx: dict) -> str:
    big = ctx["main_size"]
    L = [f"# Benchmark {ctx['started']}", ""]
    L.append(f"Machine: {ctx['machine']}; load average before the run {ctx['load_before']}, after {ctx['load_after']}.")
    L.append(
        f"PostgreSQL {ctx['pg_version']} ({ctx['pg_where']}), the same settings for all: "
        + ", ".join(f"{k}={v}" for k, v in ctx["pg_settings"].items())
        + "."
    )
    L.append(
        f"The app: {ctx['app_source']}, started by uvicorn through the production entry point "
        "(asgi:app_factory); every document through the general executor."
    )
    L.append(
        f"Each contender: {ctx['workers']} worker processes; load from wrk on the same machine "
        f"(1 thread; {ctx['seconds']:g} s a step for the main screen, {ctx['seconds_others']:g} s for the other "
        "documents, fixed rates up to 3× longer; fixed rates open loop on 8-64 connections; "
        '"saturated" = the rate was not held); '
        f"requests pick one of {ctx['sample']:,} signed-in logins at random (the bills tab: 2,000, two pages each). "
        "Fixed rates: about 25, 50 and 90 % of the general executor's rate for that document, the same for all."
    )
    L.append("")
    L += targets(ctx)
    if ctx["documents"]:  # none with --only writes
        L.append(f"## The documents, {big:,} personal accounts")
        L.append("")
        for doc in ctx["documents"]:
            L += document_table(ctx, doc)
        L.append(
            "PostGraphile checks no token (it is given the personal account's id, or the RES code and number); the "
            "app and the floor check the token or the API key. Statements per request in the server log include "
            "BEGIN and ROLLBACK; in process, the app's own count. Plans of every statement: "
            "var/bench/plans-<size>.txt."
        )
        L.append("")
    ex = ctx.get("extras")
    if ex:
        L.append(f"## Writes and documents (app, {big:,} accounts)")
        L.append("")
        L.append("| | requests/s | p50 / p95 / p99 ms | CPU/request app + PostgreSQL (ms) | notes |")
        L.append("|---|---|---|---|---|")
        s = ex["submit"]
        sc = ex["submit_check"]
        L.append(
            f"| meterReadingSubmit (8 connections) | {s.rate:.0f} | {fmt_lat(s)} | "
            f"{s.per_request_ms('app'):.1f} + {s.per_request_ms('db'):.1f} | {sc['stored']} readings and bills stored, "
            f"{sc['replayed']} answers were replays, {sc['replays_checked']} stored ones re-sent; exactly once: "
            f"{'ok' if sc['ok'] else 'FAILED: ' + '; '.join(k for k, v in sc['checks'].items() if not v)}; "
            f"other processes {s.other_cores:.2f} cores |"
        )
        t = ex["token"]
        L.append(
            f"| tokenCreate (4 connections) | {t.rate:.0f} | {fmt_lat(t)} | "
            f"{t.per_request_ms('app'):.1f} + {t.per_request_ms('db'):.1f} | Argon2id m=19 MiB, t=2; "
            f"{t.checks[0]}/{t.requests} signed in |"
        )
        if "payment_start" in ex:
            ps, psc = ex["payment_start"], ex["payment_start_check"]
            L.append(
                f"| paymentStart (8 connections) | {ps.rate:.0f} | {fmt_lat(ps)} | "
                f"{ps.per_request_ms('app'):.1f} + {ps.per_request_ms('db'):.1f} | {psc['started']} payments started, "
                f"{psc['resumed']} answers resumed one; "
                f"{'ok' if psc['ok'] else 'FAILED: ' + '; '.join(k for k, v in psc['checks'].items() if not v)}; "
                f"other processes {ps.other_cores:.2f} cores |"
            )
            cb, cbc = ex["callback"], ex["callback_check"]
            L.append(
                f"| LiqPay callback, POST (8 connections) | {cb.rate:.0f} | {fmt_lat(cb)} | "
                f"{cb.per_request_ms('app'):.1f} + {cb.per_request_ms('db'):.1f} | signed «success» for "
                f"{ex['callback_payments']} payments, {cbc['row']['credits']} credited, {cbc['resent']} re-sent; "
                f"exactly once: {'ok' if cbc['ok'] else 'FAILED: ' + '; '.join(k for k, v in cbc['checks'].items() if not v)}; "
                f"other processes {cb.other_cores:.2f} cores |"
            )
        if "pdf" in ex:
            p = ex["pdf"]
            L.append(
                f"| cached bill PDF, GET (8 connections) | {p.rate:.0f} | {fmt_lat(p)} | "
                f"{p.per_request_ms('app'):.2f} + {p.per_request_ms('db'):.2f} | first render over HTTP: median "
                f"{statistics.median(ex['pdf_first']) * 1000:.0f} ms |"
            )
    if ctx.get("documents_error"):
        L.append("")
        L.append(f"bench/documents.py failed: {ctx['documents_error']}")
    if ctx.get("pdf_documents"):
        L.append("")
        L.append("bench/documents.py (one process, ASGI, no network):")
        L.append("")
        L.append("| | median | p95 | rate |")
        L.append("|---|---|---|---|")
        for name, value in ctx["pdf_documents"].items():
            if isinstance(value, float):
                L.append(f"| {name} | {value * 1000:.0f} ms | | |")
            else:
                v = sorted(value)
                p95 = v[min(len(v) - 1, int(len(v) * 0.95))]
                L.append(
                    f"| {name} | {statistics.median(v) * 1000:.1f} ms | {p95 * 1000:.1f} ms | {len(v) / sum(v):.1f}/s |"
                )
    L.append("")
    L.append(f"Run took {ctx['took']:.0f} s.")
    return "\n".join(L) + "\n"


def dump(ctx: dict) -> dict:
    def conv(v):
        if isinstance(v, Result):
            return {
                k: getattr(v, k)
                for k in (
                    "requests",
                    "seconds",
                    "rate",
                    "p50",
                    "p90",
                    "p95",
                    "p99",
                    "max",
                    "errors",
                    "late",
                    "sends",
                    "target",
                    "checks",
                    "app_cpu",
                    "db_cpu",
                    "wrk_cpu",
                    "other_cpu",
                )
            }
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items() if k not in ("answers", "plans")}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return conv(ctx)
