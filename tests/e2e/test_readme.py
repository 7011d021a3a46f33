"""The README's trading quick start, run as a user would paste it: its ccxt and python-binance
snippets against a real `tickerplant serve`, only the port changed to the test's."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from ports import free_port
from served_venue import SECRET, account, serve

from tickerplant.market.instruments import Market

README = Path(__file__).parents[2] / "README.md"


def _snippets() -> list[str]:
    trading = README.read_text().split("### Trade on it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", trading, flags=re.S)


async def test_the_readme_s_trading_snippets_trade(tmp_path: Path) -> None:
    snippets = _snippets()
    assert len(snippets) == 2  # ccxt's and python-binance's
    path = tmp_path / "venue.db"
    _, key = account(path, "bot", Market.UM, "USDT", "10000")
    port = free_port()
    async with serve(path, port):
        for snippet in snippets:
            code = f"KEY, SECRET = {key!r}, {SECRET!r}\n" + snippet.replace("127.0.0.1:8765", f"127.0.0.1:{port}")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
            printed, _ = await process.communicate()
            assert process.returncode == 0, printed.decode()
            assert "BTCUSDT" in printed.decode()  # the position, the order
