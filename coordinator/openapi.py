"""The OpenAPI 3.1 document `serve --http` serves at /openapi.json: what the HTTP API accepts
and answers, for the teams who generate clients from it and for the tests that fuzz the API
against it (schemathesis). Kept beside the routes' shapes in http_api.py. A meeting is the
scenario file's own model (its JSON Schema, from pydantic), so the document cannot drift from
what `validate` accepts; what a schema cannot say (an invitee must be a participant, ids
unique) the service answers 422 with each problem's field path.
"""

from __future__ import annotations

from typing import Any

from slotwise._version import __version__
from slotwise.shared.scenario import Meeting
from slotwise.shared.wire import admin

_ENTRY = {"type": "object", "required": ["id", "status"],
          "properties": {"id": {"type": "string"},
                         "status": {"enum": ["scheduled", "failed", "waiting", "pending", "cancelled"]},
                         "start": {"type": ["string", "null"]}, "end": {"type": ["string", "null"]},
                         "participants": {"type": "array", "items": {"type": "string"}},
                         "reason": {"type": ["string", "null"]},
                         "answers": {"type": "object", "description": "each attendee's answer from their calendar "
                                     "client, where one came back",
                                     "additionalProperties": {"enum": ["accepted", "declined", "tentative",
                                                                       "needs-action"]}}}}
_MEETINGS = {"type": "object", "required": ["meetings"],
             "properties": {"meetings": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}}}}
_ERROR = {"type": "object", "required": ["kind", "error", "problems"],
          "properties": {"kind": {"type": "string"}, "error": {"type": "string"},
                         "problems": {"type": "array", "items": {"type": "object"}}}}
_WAIT = {"type": "number", "minimum": 0, "maximum": admin.MAX_WAIT_S,
         "description": "seconds to wait for the outcome; 0 answers at once (as pending)"}


def _answers(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "done", "content": {"application/json": {"schema": ok}}}}
    for code in (*errors, 400, 401):
        out[str(code)] = {"description": _REASONS[code],
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return out


_REASONS = {400: "not a request (not JSON, a wrong field)", 401: "no valid bearer token",
            403: "refused as asked", 404: "no such meeting", 409: "not in a state that allows it",
            413: "too large", 422: "the meetings were not accepted; nothing was kept",
            503: "the service holds as many meetings as it may"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
_MEETINGS_REF = {"$ref": "#/components/schemas/Meetings"}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _meeting_schemas() -> dict[str, Any]:
    meeting = Meeting.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = meeting.pop("$defs", {})
    schemas["Meeting"] = meeting
    return schemas


def document() -> dict[str, Any]:
    time_or_null = {"type": ["string", "null"], "description": "ISO 8601 with a UTC offset"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "slotwise", "version": __version__,
                 "description": "The live service's admin operations: the same as its admin socket."},
        "components": {
            "schemas": {"Entry": _ENTRY, "Meetings": _MEETINGS, "Error": _ERROR, **_meeting_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/meetings": {
                "get": {"operationId": "listMeetings", "summary": "one page of meetings, in id order",
                        "parameters": [
                            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                        "maximum": admin.MAX_PAGE}},
                            {"name": "after", "in": "query", "schema": {"type": "string"}},
                            {"name": "person", "in": "query", "schema": {"type": "string"}},
                            {"name": "archived", "in": "query", "schema": {"enum": ["true", "false"]},
                             "description": "true: the meetings whose time has passed, from the store"},
                            {"name": "status", "in": "query", "schema": {"enum": _ENTRY["properties"]["status"]["enum"]}}],  # type: ignore[index]
                        "responses": _answers({"type": "object", "required": ["meetings", "next"],
                                               "properties": {"meetings": _MEETINGS["properties"]["meetings"],  # type: ignore[index]
                                                              "next": {"type": ["string", "null"]}}}, 422)},
                "post": {"operationId": "addMeetings", "summary": "request meetings (as in a scenario's meetings: list)",
                         "requestBody": _body({"meetings": {"type": "array", "minItems": 1,
                                                            "items": {"$ref": "#/components/schemas/Meeting"}},
                                               "wait": _WAIT}, ["meetings"]),
                         "responses": _answers(_MEETINGS_REF, 413, 422, 503)},
            },
            "/v1/meetings/{id}": {
                "get": {"operationId": "getMeeting", "parameters": [_ID], "responses": _answers(_MEETINGS_REF, 404)},
                "delete": {"operationId": "cancelMeeting", "parameters": [_ID], "responses": _answers(_MEETINGS_REF, 404)},
            },
            "/v1/meetings/{id}/move": {
                "post": {"operationId": "moveMeeting", "parameters": [_ID],
                         "requestBody": _body({"not_before": time_or_null, "not_after": time_or_null, "wait": _WAIT}),
                         "responses": _answers(_MEETINGS_REF, 403, 404, 409, 422)}},
            "/v1/meetings/{id}/retry": {
                "post": {"operationId": "retryMeeting", "parameters": [_ID], "requestBody": _body({"wait": _WAIT}),
                         "responses": _answers(_MEETINGS_REF, 404, 409)}},
            "/v1/status": {"get": {"operationId": "status", "responses": _answers({"type": "object"})}},
            "/healthz": {"get": {"operationId": "healthz", "security": [],
                                 "responses": {"200": {"description": "the service's loop turns"}}}},
            "/readyz": {"get": {"operationId": "readyz", "security": [],
                                "responses": {"200": {"description": "answering requests"},
                                              "503": {"description": "starting"}}}},
        },
    }
