"""The OpenAPI 3.0 document of /api/v1, written by hand to match the views exactly."""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
_DATETIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATETIME = {"type": "string", "format": "date-time", "nullable": True}
_ETA = {
    "type": "string",
    "maxLength": 40,
    "description": "ISO 8601 date (2026-12-04) or datetime (2026-12-04T14:30, offset "
    "optional: without one it is in the organisation's time zone).",
    "example": "2026-12-04",
}
_STATUS = {"type": "string", "enum": ["open", "in_progress", "delivered", "cancelled"]}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _job_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
    }


_REFERENCE_PARAMETER = {
    "name": "reference",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "The job's external reference (order number).",
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Switchboard jobs API",
            "version": "1.0.0",
            "description": "Jobs, their account manager and their ETA. Every change is "
            "emailed to the customer from her account manager. Errors are "
            '`{"error": "...", "details": {...}}`.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/jobs": {
                "post": {
                    "operationId": "createJob",
                    "summary": "Create a job, assign it and email the people concerned",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/JobCreate"}
                            }
                        },
                    },
                    "responses": {
                        "201": _job_response("The job was created."),
                        "200": _job_response(
                            "A job with this reference and exactly this content exists."
                        ),
                        "400": _error_response("The body is not a JSON object."),
                        "401": _error_response("No or a bad bearer token."),
                        "409": _error_response("A different job has this reference."),
                        "413": _error_response("The body is larger than 64 KiB."),
                        "422": _error_response("A field is missing or invalid."),
                    },
                }
            },
            "/api/v1/jobs/{reference}": {
                "parameters": [_REFERENCE_PARAMETER],
                "get": {
                    "operationId": "getJob",
                    "summary": "A job with its ETA history and emails",
                    "responses": {
                        "200": _job_response("The job."),
                        "401": _error_response("No or a bad bearer token."),
                        "404": _error_response("No job has this reference."),
                    },
                },
                "patch": {
                    "operationId": "updateJob",
                    "summary": "Change the ETA (with a reason), status or account manager",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/JobUpdate"}
                            }
                        },
                    },
                    "responses": {
                        "200": _job_response("The changed job."),
                        "400": _error_response("The body is not a JSON object."),
                        "401": _error_response("No or a bad bearer token."),
                        "404": _error_response("No job has this reference."),
                        "409": _error_response("The status change is not allowed."),
                        "413": _error_response("The body is larger than 64 KiB."),
                        "422": _error_response("A field is invalid."),
                    },
                },
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `switchboard token create NAME`.",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "details"],
                    "properties": {
                        "error": _TEXT,
                        "details": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "Field name → what is wrong with it.",
                        },
                    },
                },
                "CustomerIn": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "email"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "phone": {
                            "type": "string",
                            "nullable": True,
                            "maxLength": 40,
                            "description": "Any common format; stored as E.164.",
                        },
                        "company": {"type": "string", "nullable": True, "maxLength": 200},
                    },
                },
                "JobCreate": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["reference", "customer", "eta"],
                    "properties": {
                        "reference": {"type": "string", "minLength": 1, "maxLength": 100},
                        "customer": {"$ref": "#/components/schemas/CustomerIn"},
                        "description": {"type": "string", "nullable": True, "maxLength": 5000},
                        "eta": _ETA,
                        "account_manager_email": {
                            "type": "string",
                            "format": "email",
                            "nullable": True,
                            "description": "Omit to pick the least-loaded account manager "
                            "with spare capacity.",
                        },
                    },
                },
                "JobUpdate": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "eta": _ETA,
                        "eta_reason": {"type": "string", "nullable": True, "maxLength": 1000},
                        "status": _STATUS,
                        "account_manager_email": {
                            "type": "string",
                            "format": "email",
                            "nullable": True,
                        },
                    },
                },
                "Job": {
                    "type": "object",
                    "required": [
                        "reference",
                        "status",
                        "eta",
                        "eta_kind",
                        "customer",
                        "account_manager",
                        "eta_history",
                        "emails",
                    ],
                    "properties": {
                        "reference": _TEXT,
                        "status": _STATUS,
                        "description": _NULLABLE_TEXT,
                        "eta": {"type": "string", "description": "Date, or UTC datetime."},
                        "eta_kind": {"type": "string", "enum": ["date", "datetime"]},
                        "eta_display": _TEXT,
                        "customer": {
                            "type": "object",
                            "properties": {
                                "name": _TEXT,
                                "email": _NULLABLE_TEXT,
                                "phone": _NULLABLE_TEXT,
                                "company": _NULLABLE_TEXT,
                                "email_undeliverable": {"type": "boolean"},
                            },
                        },
                        "account_manager": {
                            "type": "object",
                            "nullable": True,
                            "properties": {
                                "name": _TEXT,
                                "email": _TEXT,
                                "phone": _NULLABLE_TEXT,
                            },
                        },
                        "created_at": _DATETIME,
                        "updated_at": _DATETIME,
                        "delivered_at": _NULLABLE_DATETIME,
                        "feedback": {
                            "type": "object",
                            "nullable": True,
                            "properties": {
                                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                "comment": _NULLABLE_TEXT,
                                "at": _DATETIME,
                            },
                        },
                        "eta_history": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "old_eta": _NULLABLE_TEXT,
                                    "new_eta": _NULLABLE_TEXT,
                                    "reason": _NULLABLE_TEXT,
                                    "changed_by": _TEXT,
                                    "at": _DATETIME,
                                },
                            },
                        },
                        "emails": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "kind": _TEXT,
                                    "to": _TEXT,
                                    "subject": _TEXT,
                                    "status": {
                                        "type": "string",
                                        "enum": [
                                            "pending",
                                            "sending",
                                            "sent",
                                            "failed",
                                            "cancelled",
                                        ],
                                    },
                                    "attempts": {"type": "integer"},
                                    "send_at": _DATETIME,
                                    "sent_at": _NULLABLE_DATETIME,
                                    "last_error": _NULLABLE_TEXT,
                                    "delivery_state": _NULLABLE_TEXT,
                                },
                            },
                        },
                    },
                },
            },
        },
    }
