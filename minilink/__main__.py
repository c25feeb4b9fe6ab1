"""``python -m minilink``: the same command line as the ``minilink`` script."""

from __future__ import annotations

from minilink.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
