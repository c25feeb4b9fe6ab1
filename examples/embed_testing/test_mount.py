"""minilink's behavioural suite against this site's ``/s``, through WSGI and ASGI.

Run it from this folder with ``python -m pytest`` (needs ``pip install 'minilink[test]'``,
whose pytest plugin provides ``minilink_app``, ``minilink_client`` and ``MountContract``
without any import of fixtures). Every test taking ``minilink_client`` runs once per
adapter named in ``minilink_adapters``, each time on a fresh minilink.
"""

from __future__ import annotations

import pytest
from mysite import PREFIX, make_asgi, make_wsgi

from minilink.testing.plugin import Mount, MountContract

minilink_adapters = ("wsgi", "asgi")


@pytest.fixture
def minilink_mount(minilink_app):
    """This site, built around the fresh minilink the plugin made for the test."""
    return Mount(prefix=PREFIX, wsgi=make_wsgi(minilink_app), asgi=make_asgi(minilink_app))


class TestMinilinkUnderS(MountContract):
    """Every test of the suite, against /s of this site."""


def test_the_site_keeps_its_own_pages(minilink_client):
    page = minilink_client.get("/")
    assert page.status == 200
    assert b"Short links live under" in page.body
    assert minilink_client.get("/elsewhere").status == 200
