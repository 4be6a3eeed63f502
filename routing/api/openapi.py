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
_OVERRIDE_REASON = {
    "type": "string",
    "nullable": True,
    "maxLength": 1000,
    "description": "Why the job is promised a day without room. Without it, an ETA on a "
    "full day is refused (409 with the nearest days that have room); with it, the job is "
    "accepted and the override recorded (who, why, that day's booked and capacity).",
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _day_full_or_error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/DayFull"},
                        {"$ref": "#/components/schemas/Error"},
                    ]
                }
            }
        },
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_DATE = {"type": "string", "format": "date", "example": "2026-12-04"}


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


def _jobs_path() -> dict[str, Any]:
    """GET (list, filtered and paged) and POST (create) /api/v1/jobs."""
    return {
        "/api/v1/jobs": {
            "get": {
                "operationId": "listJobs",
                "summary": "Jobs, oldest first, filtered and paginated by cursor",
                "parameters": [
                    _query("status", _STATUS, "Only jobs with this status."),
                    _query(
                        "account_manager_email",
                        {"type": "string", "format": "email", "maxLength": 254},
                        "Only jobs of this account manager.",
                    ),
                    _query(
                        "eta_from",
                        _DATE,
                        "Only jobs whose ETA falls on this local day or later.",
                    ),
                    _query(
                        "eta_to",
                        _DATE,
                        "Only jobs whose ETA falls on this local day or earlier.",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                        "Jobs per page.",
                    ),
                    _query(
                        "cursor",
                        {"type": "string"},
                        "The next_cursor of the previous page, as it was given.",
                    ),
                ],
                "responses": {
                    "200": _json_response("One page of jobs.", "JobPage"),
                    "400": _error_response("A filter, the limit or the cursor is invalid."),
                    "401": _error_response("No or a bad bearer token."),
                },
            },
            "post": {
                "operationId": "createJob",
                "summary": "Create a job, assign it and email the people concerned",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}}
                    },
                },
                "responses": {
                    "201": _job_response("The job was created."),
                    "200": _job_response(
                        "A job with this reference and exactly this content exists."
                    ),
                    "400": _error_response("The body is not a JSON object."),
                    "401": _error_response("No or a bad bearer token."),
                    "409": _day_full_or_error(
                        "A different job has this reference, or the ETA's day has no room "
                        "(details: eta, booked, capacity and the three nearest later days "
                        "with room); nothing was created."
                    ),
                    "413": _error_response("The body is larger than 64 KiB."),
                    "422": _error_response("A field is missing or invalid."),
                },
            },
        },
    }


def _job_path() -> dict[str, Any]:
    """GET and PATCH one job by its reference."""
    return {
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
                        "application/json": {"schema": {"$ref": "#/components/schemas/JobUpdate"}}
                    },
                },
                "responses": {
                    "200": _job_response("The changed job."),
                    "400": _error_response("The body is not a JSON object."),
                    "401": _error_response("No or a bad bearer token."),
                    "404": _error_response("No job has this reference."),
                    "409": _day_full_or_error(
                        "The status change is not allowed, or the new ETA's day has no room "
                        "(details: eta, booked, capacity, alternatives); nothing changed. "
                        "An ETA that keeps its day never fails on capacity."
                    ),
                    "413": _error_response("The body is larger than 64 KiB."),
                    "422": _error_response("A field is invalid."),
                },
            },
        },
    }


def _capacity_path() -> dict[str, Any]:
    """GET /api/v1/capacity: the days' bookings and room."""
    return {
        "/api/v1/capacity": {
            "get": {
                "operationId": "getCapacity",
                "summary": "Booked jobs, capacity and free places per local day",
                "parameters": [
                    _query("from", _DATE, "First local day (default: today)."),
                    _query(
                        "days",
                        {"type": "integer", "minimum": 1, "maximum": 366, "default": 14},
                        "How many days.",
                    ),
                ],
                "responses": {
                    "200": _json_response("One entry per day.", "Capacity"),
                    "400": _error_response("from or days is invalid."),
                    "401": _error_response("No or a bad bearer token."),
                },
            }
        },
    }


def _openapi_path() -> dict[str, Any]:
    """GET this document (no token needed)."""
    return {
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
    }


def _error_schemas() -> dict[str, Any]:
    """Error, and DayFull (a 409 with the nearest days that have room)."""
    return {
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
        "DayFull": {
            "type": "object",
            "required": ["error", "details"],
            "properties": {
                "error": _TEXT,
                "details": {
                    "type": "object",
                    "required": ["eta", "booked", "capacity", "alternatives"],
                    "properties": {
                        "eta": {"type": "string", "description": "The ETA refused."},
                        "booked": {"type": "integer"},
                        "capacity": {"type": "integer"},
                        "alternatives": {
                            "type": "array",
                            "maxItems": 3,
                            "items": {"type": "string", "format": "date"},
                            "description": "The nearest later days with room.",
                        },
                    },
                },
            },
        },
    }


def _capacity_schemas() -> dict[str, Any]:
    """Capacity: a range of days with their bookings and room."""
    return {
        "Capacity": {
            "type": "object",
            "required": ["days"],
            "properties": {
                "days": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["date", "booked", "capacity", "free"],
                        "properties": {
                            "date": {"type": "string", "format": "date"},
                            "booked": {
                                "type": "integer",
                                "description": "Open and in-progress jobs due that day.",
                            },
                            "capacity": {
                                "type": "integer",
                                "nullable": True,
                                "description": "null: no limit.",
                            },
                            "free": {"type": "integer", "nullable": True},
                        },
                    },
                }
            },
        },
    }


def _job_list_schemas() -> dict[str, Any]:
    """JobSummary and JobPage (the list, paged)."""
    return {
        "JobSummary": {
            "type": "object",
            "required": ["reference", "status", "eta", "eta_kind", "customer"],
            "properties": {
                "reference": _TEXT,
                "status": _STATUS,
                "description": _NULLABLE_TEXT,
                "eta": _TEXT,
                "eta_kind": {"type": "string", "enum": ["date", "datetime"]},
                "eta_display": _TEXT,
                "customer": {
                    "type": "object",
                    "properties": {
                        "name": _TEXT,
                        "email": _NULLABLE_TEXT,
                        "phone": _NULLABLE_TEXT,
                        "company": _NULLABLE_TEXT,
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
            },
        },
        "JobPage": {
            "type": "object",
            "required": ["jobs", "next_cursor"],
            "properties": {
                "jobs": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/JobSummary"},
                },
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as cursor for the next page; null on the last.",
                },
            },
        },
    }


def _job_input_schemas() -> dict[str, Any]:
    """CustomerIn, JobCreate and JobUpdate (request bodies)."""
    return {
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
                "eta_override_reason": _OVERRIDE_REASON,
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
                "eta_override_reason": _OVERRIDE_REASON,
            },
        },
    }


def _job_history_properties() -> dict[str, Any]:
    """A job's ETA history, ETA overrides and emails."""
    return {
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
        "eta_overrides": {
            "type": "array",
            "description": "Each time the job was promised a day without room.",
            "items": {
                "type": "object",
                "properties": {
                    "date": {"type": "string", "format": "date"},
                    "booked": {"type": "integer"},
                    "capacity": {"type": "integer"},
                    "reason": _TEXT,
                    "by": _TEXT,
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
    }


def _job_schema() -> dict[str, Any]:
    """Job: one job as GET, POST and PATCH return it."""
    return {
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
                **_job_history_properties(),
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The whole document, as GET /api/v1/openapi.json serves it."""
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
            **_jobs_path(),
            **_job_path(),
            **_capacity_path(),
            **_openapi_path(),
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
                **_error_schemas(),
                **_capacity_schemas(),
                **_job_list_schemas(),
                **_job_input_schemas(),
                **_job_schema(),
            },
        },
    }
