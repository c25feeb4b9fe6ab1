"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``.

A test walks this document and the router together, so a route cannot be added or
changed without the description following; schemathesis (``tests/api``) sends what
the document allows and checks every answer against it.

Besides the JSON API, the document describes ``POST /{code}``, where the password
form of a protected link is sent: the one route outside ``/api`` a program may
want to call, and whose answers (a redirect, or the form page again) are HTML.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["document"]

_CODE_PATTERN = "^[A-Za-z0-9_-]{1,100}$"
_TAG_PATTERN = "^[A-Za-z0-9_-]{1,32}$"
_MAX_VISITS = 2**31 - 1


def _error(description: str, *, headers: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _link(description: str, *, headers: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """An answer that is one link: its JSON, its ``ETag``, and what can be done with
    its code next."""
    code = {"code": "$response.body#/code"}
    return {
        **_json(description, "Link"),
        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, **(headers or {})},
        "links": {
            "GetLink": {"operationId": "getLink", "parameters": code},
            "GetStats": {"operationId": "getStats", "parameters": code},
            "EditLink": {
                "operationId": "editLink",
                "parameters": {**code, "If-Match": "$response.header.ETag"},
            },
            "DeleteLink": {
                "operationId": "deleteLink",
                "parameters": {**code, "If-Match": "$response.header.ETag"},
            },
        },
    }


def _page(description: str, *, headers: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "allowEmptyValue": True,  # "?name=" means the default
        "schema": schema,
    }


_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": _CODE_PATTERN},
}
_ADMIN: list[dict[str, list[str]]] = [{"bearer": []}]
_ADMIN_REFUSED = {
    "401": _error(
        "Admin token missing or wrong",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "403": _error("No admin token configured"),
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
_LOCATION = {
    "Location": {
        "description": "Where to go",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    }
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or ``null`` (which clears the field)."""
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


def _options() -> dict[str, dict[str, Any]]:
    """The link options, as a creation and an edit take them."""
    return {
        "title": _nullable(
            {
                "type": "string",
                "maxLength": 200,
                "description": "Free text for people, without control characters; "
                "blank is no title.",
            }
        ),
        "tags": _nullable(
            {
                "type": "array",
                # The real limit is 10 distinct tags (case aside): JSON Schema cannot
                # count distinct lower-cased strings, and a stricter schema than the
                # service would call accepted lists invalid.
                "maxItems": 100,
                "items": {"type": "string", "pattern": _TAG_PATTERN},
                "description": "Up to 10 tags, each 1 to 32 of a-z, 0-9, '_' and '-' "
                "once lower-cased; order kept, duplicates dropped.",
            }
        ),
        "redirect_status": {
            "type": ["integer", "null"],
            "enum": [301, 302, 307, 308, None],
            "description": "The redirect of this link; null: the configured default.",
        },
        "forward_query": _nullable(
            {
                "type": "boolean",
                "description": "Add the visitor's query to the target's (the visitor's "
                "value wins for a key in both); null is false.",
            }
        ),
        "fallback_url": _nullable(
            {
                "type": "string",
                "maxLength": 4096,
                "description": "Where an expired or used-up link sends visitors instead "
                "of answering 410; checked like the URL.",
            }
        ),
        "password": _nullable(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 1000,
                "writeOnly": True,
                "description": "A password visitors must give (POST /{code}); only a "
                "salted scrypt hash is kept. null: no password.",
            }
        ),
    }


def _schemas() -> dict[str, Any]:
    time = {"type": "string", "format": "date-time"}
    optional_time = {"type": ["string", "null"], "format": "date-time"}
    max_visits = {"type": ["integer", "null"], "minimum": 1, "maximum": _MAX_VISITS}
    return {
        "NewLink": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "maxLength": 4096},
                "alias": {"type": ["string", "null"], "pattern": _CODE_PATTERN},
                "expires_in": {"type": ["number", "null"], "exclusiveMinimum": 0},
                "expires_at": optional_time,
                "max_visits": max_visits,
                **_options(),
            },
        },
        "LinkPatch": {
            "type": "object",
            "description": "A JSON merge patch (RFC 7396) of the link: the fields named "
            "change, null clears one, the others keep their values.",
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "maxLength": 4096},
                "expires_at": {
                    **optional_time,
                    "description": "May lie in the past: the link then answers as expired.",
                },
                "max_visits": max_visits,
                **_options(),
            },
        },
        "Link": {
            "type": "object",
            "required": [
                "code",
                "short_url",
                "url",
                "title",
                "tags",
                "created_at",
                "updated_at",
                "expires_at",
                "max_visits",
                "hits",
                "redirect_status",
                "forward_query",
                "fallback_url",
                "password_protected",
            ],
            "properties": {
                "code": {"type": "string"},
                "short_url": {"type": "string", "format": "uri"},
                "url": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "null when the link is password-protected, to anyone "
                    "but the admin.",
                },
                "title": {"type": ["string", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "created_at": time,
                "updated_at": {
                    **optional_time,
                    "description": "When the link was last edited; null if never.",
                },
                "expires_at": optional_time,
                "max_visits": {"type": ["integer", "null"]},
                "hits": {"type": "integer", "minimum": 0},
                "redirect_status": {
                    "type": ["integer", "null"],
                    "enum": [301, 302, 307, 308, None],
                },
                "forward_query": {"type": "boolean"},
                "fallback_url": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "null when there is none, and, for a "
                    "password-protected link, to anyone but the admin.",
                },
                "password_protected": {"type": "boolean"},
            },
        },
        "LinkPage": {
            "type": "object",
            "required": ["links", "next"],
            "properties": {
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                "next": {
                    "type": ["string", "null"],
                    "description": "The after= of the next page; null on the last one.",
                },
            },
        },
        "Tags": {
            "type": "object",
            "required": ["tags"],
            "properties": {
                "tags": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["tag", "links"],
                        "properties": {
                            "tag": {"type": "string"},
                            "links": {"type": "integer", "minimum": 1},
                        },
                    },
                }
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
                                "precondition_failed",
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
    }


def _create() -> dict[str, Any]:
    return {
        "operationId": "createLink",
        "summary": "Shorten a URL",
        "description": "Creates a link; an identical plain link (nothing but its URL) "
        "is returned with 200 instead (deduplication). Needs the create token when "
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
                        "options": {
                            "value": {
                                "url": "https://example.com/launch",
                                "title": "Launch notes",
                                "tags": ["news", "2026"],
                                "redirect_status": 308,
                                "forward_query": True,
                                "fallback_url": "https://example.com/",
                            }
                        },
                    },
                }
            },
        },
        "responses": {
            "201": _link("Created", headers=_LOCATION),
            "200": _link("An identical plain link already existed"),
            "400": _error("Invalid URL, alias, option or request"),
            "401": _error("Create token missing or wrong"),
            "409": _error("Alias taken"),
            "413": _error("Body too large"),
            "415": _error("Not JSON"),
            "429": _error("Rate limited", headers=_RETRY_AFTER),
        },
    }


def _list() -> dict[str, Any]:
    return {
        "operationId": "listLinks",
        "summary": "List and search links (admin)",
        "description": "Pages through the links in the order of sort; pass the answer's "
        "next as after= for the next page.",
        "security": _ADMIN,
        "parameters": [
            _query(
                "q",
                {"type": "string", "maxLength": 1000},
                "Substring of the code, the URL or the title (ASCII case ignored).",
            ),
            _query("tag", {"type": "string", "pattern": _TAG_PATTERN}, "Links with this tag."),
            _query(
                "state",
                {"type": "string", "enum": ["live", "expired", "deleted", "all"]},
                "live (the default), expired (past the expiry or the visit limit), "
                "deleted, or all.",
            ),
            _query(
                "sort",
                {"type": "string", "enum": ["created", "hits", "updated"]},
                "created (the default, newest first), hits (most first) or updated "
                "(last edited first).",
            ),
            _query(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 1000},
                "Links per page, 100 by default.",
            ),
            _query(
                "after",
                {"type": "string"},
                "The next of the previous page: this page continues after that code.",
            ),
        ],
        "responses": {
            "200": _json("A page of links", "LinkPage"),
            "400": _error("Bad parameter"),
            **_ADMIN_REFUSED,
        },
    }


def _edit() -> dict[str, Any]:
    body = {"schema": {"$ref": "#/components/schemas/LinkPatch"}}
    return {
        "operationId": "editLink",
        "summary": "Edit a link (admin)",
        "description": "Applies a JSON merge patch (RFC 7396). The code never changes; "
        "an expired or used-up link may be edited, a deleted one not. Nothing is "
        "changed when the answer is not 200. An empty patch changes nothing.",
        "security": _ADMIN,
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "description": 'The ETag last read (e.g. "r3", quotes included), or * for '
                "any version: the edit is made only over that version of the link, "
                "else 412. Weak tags never match.",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/merge-patch+json": {
                    **body,
                    "examples": {
                        "retarget": {"value": {"url": "https://example.com/v2"}},
                        "clear": {"value": {"title": None, "tags": None, "password": None}},
                    },
                },
                "application/json": body,
            },
        },
        "responses": {
            "200": _link("The link as edited, with its new ETag"),
            "400": _error("A key that is no field or cannot change, a bad value, or no object"),
            **_ADMIN_REFUSED,
            "404": _error("No such link"),
            "410": _error("Deleted"),
            "412": _error("If-Match names no current version of the link"),
            "413": _error("Body too large"),
            "415": _error(
                "Neither merge patch nor JSON",
                headers={
                    "Accept-Patch": {
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The media types a patch may have",
                    }
                },
            ),
        },
    }


def _unlock() -> dict[str, Any]:
    form = {
        "type": "object",
        "required": ["password"],
        "properties": {"password": {"type": "string", "minLength": 1, "maxLength": 1000}},
    }
    return {
        "operationId": "unlockLink",
        "summary": "Give the password of a protected link",
        "description": "What the password form of a protected link (GET /{code}) sends. "
        "Guesses are limited per client and link. Answers are HTML pages and "
        "redirects, not JSON; a post from another site's page is refused.",
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": form}},
        },
        "responses": {
            "303": {
                "description": "The right password: on to the target (the hit counted)",
                "headers": _LOCATION,
            },
            "302": {
                "description": "The link has expired or is used up: on to its fallback URL",
                "headers": _LOCATION,
            },
            "400": _page("No password, or a malformed form: the form again"),
            "403": _page("A wrong password (the form again), or a post from another site"),
            "404": {
                "description": "Not a code (a reserved name such as api answers as that path does)",
                "content": {
                    "text/html": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                },
            },
            "405": _page("The code names no protected link"),
            "410": _page("Deleted, expired or used up"),
            "413": _page("Body too large"),
            "415": _page("Not a form"),
            "429": _page("Too many guesses: the form again", headers=_RETRY_AFTER),
        },
    }


def document() -> dict[str, Any]:
    """A fresh copy of the OpenAPI document (callers may change it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "minilink",
            "version": "2",
            "description": "Create, inspect, edit, search and delete short links. Unknown "
            "query parameters and JSON fields are refused with 400 bad_request. Every "
            "answer that is one link carries its ETag; the target of a "
            "password-protected link is shown to the admin only.",
        },
        "paths": {
            "/api/links": {"post": _create(), "get": _list()},
            "/api/links/{code}": {
                "parameters": [_CODE],
                "get": {
                    "operationId": "getLink",
                    "summary": "Show a link",
                    "description": "Anyone may ask; with the admin token, the target of "
                    "a password-protected link is shown too. Not answered with 304: "
                    "the hits move without changing the ETag.",
                    "security": [{}, {"bearer": []}],
                    "responses": {
                        "200": _link("The link"),
                        "404": _error("No such link"),
                        "410": _error("Deleted, expired or used up"),
                    },
                },
                "patch": _edit(),
                "delete": {
                    "operationId": "deleteLink",
                    "summary": "Delete a link for good (admin)",
                    "security": _ADMIN,
                    "parameters": [
                        {
                            "name": "If-Match",
                            "in": "header",
                            "description": 'The ETag last read (e.g. "r3"), or * for any '
                            "version: the link is deleted only if it is still that "
                            "version, else 412.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "204": {"description": "Deleted; the code answers 410 from now on"},
                        **_ADMIN_REFUSED,
                        "404": _error("No such link"),
                        "410": _error("Already deleted"),
                        "412": _error("If-Match names no current version of the link"),
                    },
                },
            },
            "/api/links/{code}/stats": {
                "parameters": [_CODE],
                "get": {
                    "operationId": "getStats",
                    "summary": "Visits per day",
                    "parameters": [
                        _query(
                            "days",
                            {"type": "integer", "minimum": 1, "maximum": 366},
                            "How many days back, 30 by default.",
                        )
                    ],
                    "responses": {
                        "200": _json("Totals and the per-day series", "Stats"),
                        "400": _error("Bad parameter"),
                        "404": _error("No such link"),
                        "410": _error("Deleted, expired or used up"),
                    },
                },
            },
            "/api/tags": {
                "get": {
                    "operationId": "listTags",
                    "summary": "Every tag with its number of links, by name (admin)",
                    "description": "Deleted links are not counted; expired ones are.",
                    "security": _ADMIN,
                    "responses": {
                        "200": _json("The tags", "Tags"),
                        "400": _error("Bad parameter"),
                        **_ADMIN_REFUSED,
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenAPI",
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
            "/{code}": {
                "parameters": [_CODE],
                "post": _unlock(),
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {
                "ETag": {
                    "description": "The version of the link: edits change it, hits do not. "
                    "Send it back in If-Match to edit only that version.",
                    "required": True,
                    "schema": {"type": "string", "pattern": '^"r[0-9]+"$'},
                }
            },
            "schemas": _schemas(),
        },
    }
