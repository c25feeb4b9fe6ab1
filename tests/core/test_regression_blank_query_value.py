"""Found by schemathesis (negative data): ``?limit=`` (and ``?days=``, ``?after=``) is
answered with the default, as the HTML form's blank fields are, but the OpenAPI
document said those parameters were integers (or strings) and nothing else.

The behaviour is deliberate (a blank value is no value, on every route); the document
now says so with ``allowEmptyValue`` on each of those parameters.
"""

from __future__ import annotations

from typing import Any

from minilink.core.openapi import document


def parameters() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item in document()["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        found[parameter["name"]] = parameter
    return found


def test_blank_query_values_are_documented() -> None:
    query = parameters()
    assert set(query) == {"limit", "after", "days", "q", "tag", "state", "sort"}
    for name, parameter in query.items():
        assert parameter.get("allowEmptyValue") is True, name
