"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``.

A test walks this document and the router together, so a route cannot be added or
changed without the description following.
"""

from __future__ import annotations

from typing import Any

__all__ = ["document"]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _created(description: str, schema: str) -> dict[str, Any]:
    """A link in the answer, and what can be done with its code next."""
    code = {"code": "$response.body#/code"}
    return {
        **_json(description, schema),
        "links": {
            "GetLink": {"operationId": "getLink", "parameters": code},
            "GetStats": {"operationId": "getStats", "parameters": code},
            "DeleteLink": {"operationId": "deleteLink", "parameters": code},
        },
    }


_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}
_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}]


def document() -> dict[str, Any]:
    """A fresh copy of the OpenAPI document (callers may change it)."""
    time = {"type": "string", "format": "date-time"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "minilink",
            "version": "1",
            "description": "Create, inspect and delete short links. Unknown query "
            "parameters and JSON fields are refused with 400 bad_request.",
        },
        "paths": {
            "/api/links": {
                "post": {
                    "operationId": "createLink",
                    "summary": "Shorten a URL",
                    "description": "Creates a link; an identical plain link is returned "
                    "with 200 instead (deduplication). Needs the create token when "
                    "MINILINK_CREATE_TOKEN is set.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewLink"},
                                "examples": {
                                    "plain": {"value": {"url": "https://example.com/a?b=c"}},
                                    "alias": {
                                        "value": {
                                            "url": "https://Bücher.example/straße",
                                            "alias": "docs",
                                            "expires_in": 3600,
                                            "max_visits": 10,
                                        }
                                    },
                                },
                            }
                        },
                    },
                    "responses": {
                        "201": _created("Created", "Link"),
                        "200": _created("An identical plain link already existed", "Link"),
                        "400": _error("Invalid URL, alias or request"),
                        "401": _error("Create token missing or wrong"),
                        "409": _error("Alias taken"),
                        "413": _error("Body too large"),
                        "415": _error("Not JSON"),
                        "429": _error("Rate limited"),
                    },
                },
                "get": {
                    "operationId": "listLinks",
                    "summary": "List links, newest first (admin)",
                    "security": _ADMIN,
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "allowEmptyValue": True,  # "?limit=" means the default
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                        {
                            "name": "after",
                            "in": "query",
                            "allowEmptyValue": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _json("A page of links", "LinkPage"),
                        "400": _error("Bad parameter"),
                        "401": _error("Admin token missing or wrong"),
                        "403": _error("No admin token configured"),
                    },
                },
            },
            "/api/links/{code}": {
                "parameters": [_CODE],
                "get": {
                    "operationId": "getLink",
                    "summary": "Show a link",
                    "responses": {
                        "200": _json("The link", "Link"),
                        "404": _error("No such link"),
                        "410": _error("Deleted, expired or used up"),
                    },
                },
                "delete": {
                    "operationId": "deleteLink",
                    "summary": "Delete a link for good (admin)",
                    "security": _ADMIN,
                    "responses": {
                        "204": {"description": "Deleted; the code answers 410 from now on"},
                        "401": _error("Admin token missing or wrong"),
                        "403": _error("No admin token configured"),
                        "404": _error("No such link"),
                        "410": _error("Already deleted"),
                    },
                },
            },
            "/api/links/{code}/stats": {
                "parameters": [_CODE],
                "get": {
                    "operationId": "getStats",
                    "summary": "Visits per day",
                    "parameters": [
                        {
                            "name": "days",
                            "in": "query",
                            "allowEmptyValue": True,  # "?days=" means the default
                            "schema": {"type": "integer", "minimum": 1, "maximum": 366},
                        }
                    ],
                    "responses": {
                        "200": _json("Totals and the per-day series", "Stats"),
                        "400": _error("Bad parameter"),
                        "404": _error("No such link"),
                        "410": _error("Deleted, expired or used up"),
                    },
                },
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenAPI",
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "NewLink": {
                    "type": "object",
                    "required": ["url"],
                    "additionalProperties": False,
                    "properties": {
                        "url": {"type": "string", "maxLength": 4096},
                        "alias": {
                            "type": ["string", "null"],
                            "pattern": "^[A-Za-z0-9_-]{1,64}$",
                        },
                        "expires_in": {"type": ["number", "null"], "exclusiveMinimum": 0},
                        "expires_at": {"type": ["string", "null"], "format": "date-time"},
                        "max_visits": {"type": ["integer", "null"], "minimum": 1},
                    },
                },
                "Link": {
                    "type": "object",
                    "required": [
                        "code",
                        "short_url",
                        "url",
                        "created_at",
                        "expires_at",
                        "max_visits",
                        "hits",
                    ],
                    "properties": {
                        "code": {"type": "string"},
                        "short_url": {"type": "string", "format": "uri"},
                        "url": {"type": "string", "format": "uri"},
                        "created_at": time,
                        "expires_at": {"type": ["string", "null"], "format": "date-time"},
                        "max_visits": {"type": ["integer", "null"]},
                        "hits": {"type": "integer", "minimum": 0},
                    },
                },
                "LinkPage": {
                    "type": "object",
                    "required": ["links", "next"],
                    "properties": {
                        "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                        "next": {"type": ["string", "null"]},
                    },
                },
                "Stats": {
                    "type": "object",
                    "required": ["code", "hits", "daily"],
                    "properties": {
                        "code": {"type": "string"},
                        "hits": {"type": "integer"},
                        "daily": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["date", "hits"],
                                "properties": {
                                    "date": {"type": "string", "format": "date"},
                                    "hits": {"type": "integer"},
                                },
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {
                                    "type": "string",
                                    "enum": [
                                        "bad_request",
                                        "invalid_url",
                                        "invalid_alias",
                                        "unauthorized",
                                        "forbidden",
                                        "not_found",
                                        "method_not_allowed",
                                        "alias_taken",
                                        "gone",
                                        "payload_too_large",
                                        "unsupported_media_type",
                                        "rate_limited",
                                        "unavailable",
                                    ],
                                },
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
            },
        },
    }
