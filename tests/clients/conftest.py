"""Clients nobody on this project wrote (npm's graphql-ws, graphql-http's audit, Apollo Client),
run with Node.js against the app served over real HTTP on 127.0.0.1.

The npm packages are installed once into tests/clients/node_modules from package.json
(npm is part of the machine, as for the GraphiQL assets); a missing Node.js is a failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from tests.live import serve

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    if path is None or shutil.which("npm") is None:
        pytest.fail("the client tests need Node.js with npm")
    stamp = HERE / "node_modules" / ".installed"
    manifest = (HERE / "package.json").read_text()
    if not stamp.exists() or stamp.read_text() != manifest:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--silent"],
            cwd=HERE,
            check=True,
            timeout=600,
        )
        stamp.write_text(manifest)
    return path


def node_run(node: str, script: str, *args: str, timeout: float = 120) -> object:
    """Run a script of this folder; its last stdout line is JSON."""
    done = subprocess.run([node, str(HERE / script), *args], cwd=HERE, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    from app import create_app

    with serve(lambda: create_app(settings), factory=True) as url:
        yield url
