"""Error taxonomy: what went wrong, how bad it is, and whether trying again can help.

`classify` reads a live exception (in a hook, or in an asset before deciding to fail
fast); `classify_error_info` reads Dagster's stored `SerializableErrorInfo` (in reports
built from the event log). Both look at the same things: each exception of the chain,
outermost first (Dagster's wrappers, `raise ... from`, implicit context), and the first
one a rule below recognises decides. The outermost wins on purpose: a `FeedUnavailable`
knows more than the `ReadTimeout` it wraps. A `SectorSourceError` is the exception: the
`ReadTimeout` of a download knows better than it whether retrying helps, so it decides
only when nothing else of its chain does. Stored error infos carry only a class name
and a message, so rules read messages as well as types, and the class is re-imported
(from a short list of packages) to know its bases.

=============  ========  =====  ========  ==================================================
category       severity  retry  service   exceptions (first match wins, top to bottom)
=============  ========  =====  ========  ==================================================
database       critical  yes    dagster_  `DagsterPostgresException` ("too many retries for DB
                                storage   connection"): Dagster's own run and event storage
                                          is unreachable. Its service wins over the caller's.
resource       critical  yes    run_      "run worker (pid N) killed by SIGKILL" (the warm
                                worker    launcher saw it die; the kernel's OOM killer, or
                                          an operator); its service wins over the caller's
unknown        high      yes    run_      "run worker (pid N) killed by SIG…" (other signals),
                                worker    "run worker (pid N) exited with code C"
timeout, api,  from its  if     .service  `FeedUnavailable`, from the reasons of its attempts
network        reasons   any              (see below the table)
validation     high      no     feed      `PayloadError`; `json`/`orjson` `JSONDecodeError`
validation     medium    no     feed      `RecordError`
timeout        medium    yes    feed      requests `Timeout` (`ReadTimeout`, `ConnectTimeout`);
                                          HTTP 408
api            medium    yes    feed      requests `HTTPError` 5xx (or without a status)
api            high      yes    feed      requests `HTTPError` 429
api            high      no     feed      requests `HTTPError` other 4xx
configuration  high      no     feed      requests `InvalidURL`, `MissingSchema`, `InvalidSchema`
network        high      yes    feed      requests `ConnectionError`, other `RequestException`
configuration  high      no     database  SQLAlchemy `ArgumentError`, `NoSuchModuleError` (bad URL)
timeout        high      yes    database  SQLAlchemy pool `TimeoutError`; psycopg2 `QueryCanceled`,
                                          "canceling statement due to" (statement or lock
                                          timeout)
database       medium    yes    database  "database is locked" (SQLite)
resource       critical  no     database  psycopg2 `DiskFull`, "No space left on device",
                                          "database or disk is full"
configuration  high      no     database  a login refused with "FATAL:" (role or database
                                          "does not exist", "password authentication failed")
database       critical  yes    database  a lost connection ("server closed the connection
                                          unexpectedly", "terminating connection due to
                                          administrator command", "connection refused", ...),
                                          SQLAlchemy `connection_invalidated`
database       high      no     database  `IntegrityError`, `DataError`, `ProgrammingError`,
                                          `NotSupportedError`; SQLite "no such table",
                                          "no such column", "syntax error"
database       critical  yes    database  other `OperationalError`, `InterfaceError`,
                                          `InternalError`
database       high      no     database  any other DB-API or SQLAlchemy `DBAPIError`
resource       critical  yes    pipeline  `MemoryError`
timeout        high      yes    pipeline  "exceeded/exceeding maximum runtime" (run monitoring)
resource       critical  no     landing   `OSError` ENOSPC, EDQUOT, EFBIG, EROFS (full disk,
                                          quota, read-only file system)
resource       critical  yes    landing   `OSError` EMFILE, ENFILE, ENOMEM
resource       critical  no     landing   `PermissionError` (EACCES, EPERM: a folder made
                                          read-only or immutable refuses writes)
configuration  high      no     landing   `FileNotFoundError`, `IsADirectoryError`,
                                          `NotADirectoryError`
timeout        medium    yes    pipeline  `TimeoutError` (also `socket.timeout`)
network        high      yes    pipeline  built-in `ConnectionError` (refused, reset, broken pipe)
configuration  high      no     pipeline  `DagsterInvalidConfigError`, `DagsterHomeNotSetError`,
                                          a `KeyError`/`ValueError` naming `VATSIM_*` or
                                          `DAGSTER_HOME`
validation     high      no     sectors   `SectorSourceError` (`ReleaseError` too) when nothing
                                          of its chain is recognised: a bad or missing
                                          boundary file; a cause that is recognised decides
unknown        medium    no     pipeline  anything else
=============  ========  =====  ========  ==================================================

`FeedUnavailable` lists one reason per mirror tried: "HTTP nnn" follows the HTTP rows,
"timed out" is timeout (medium), "connection failed" is network (high), anything else is
api (medium, retryable: the next discovery may list a better mirror). The whole is
retryable when any mirror's trouble was, and takes the category of the first such mirror.

A `service` given by the caller wins over the inferred one; so does the service that
`retry.fail_fast_if_unretryable` wrote into its `Failure`. Two verdicts name a service
no caller can know better: Dagster's own storage (`dagster_storage`, whatever step was
running when it went away) and a dead run worker (`run_worker`).
"""

from __future__ import annotations

import builtins
import errno
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MESSAGE_LIMIT = 300
MAX_CHAIN = 20
# Packages whose exception classes may be re-imported by name from a stored error info.
IMPORTABLE = frozenset(
    {
        "requests",
        "urllib3",
        "sqlalchemy",
        "psycopg2",
        "sqlite3",
        "json",
        "orjson",
        "socket",
        "concurrent",
        "dagster",
        "dagster_shared",
        "dagster_postgres",
        "vatsim_pipeline",
    }
)
FAILFAST_DESCRIPTION = re.compile(r"^(?P<service>[\w.-]+): \w+ error \(\w+\), not retryable: ")
CONFIG_VARIABLE = re.compile(r"\bVATSIM_[A-Z0-9_]+|\bDAGSTER_HOME\b")
IDENTIFIER_PATH = re.compile(r"[A-Za-z_][\w.]*")
HTTP_STATUS = re.compile(r"^(?:HTTP )?(\d{3})\b")
ERRNO = re.compile(r"^\[Errno (\d+)\]")
FEED_UNAVAILABLE = re.compile(r"^(?P<service>\S+) unreachable \((?P<tried>.*)\)$", re.DOTALL)
LOST_CONNECTION = (
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "connection refused",
    "connection already closed",
    "could not connect to server",
    "connection to server",
    "ssl connection has been closed unexpectedly",
    "the database system is shutting down",
    "the database system is starting up",
)
# A server that answers but refuses these credentials or this database will refuse again.
REFUSED_LOGIN = (
    "does not exist",
    "password authentication failed",
    "no password supplied",
    "pg_hba.conf",
)
NO_SPACE = ("no space left on device", "database or disk is full")
SQLITE_SCHEMA = ("no such table", "no such column", "syntax error")
SECTOR_SOURCE_ERROR = "vatsim_pipeline.sectors.boundaries.SectorSourceError"
DAGSTER_STORAGE = "dagster_storage"
DAGSTER_POSTGRES_ERROR = "dagster_postgres.utils.DagsterPostgresException"
# dagster-postgres gives up on its own storage with these words.
STORAGE_GONE = ("too many retries for db connection", "too many retries for db creation")
RUN_WORKER = "run_worker"
# The warm launcher's words for a run worker that died before finishing its run.
WORKER_DIED = re.compile(r"run worker \(pid:? \d+\) (?:killed by (?P<signal>SIG\w+)|exited)")


# Run monitoring says "Canceling due to exceeding maximum runtime of N seconds." and
# "Exceeded maximum runtime of N seconds."
MAX_RUNTIME = re.compile(r"exceed\w* maximum runtime", re.IGNORECASE)


class ErrorCategory(StrEnum):
    NETWORK = "network"
    DATABASE = "database"
    API = "api"
    VALIDATION = "validation"
    CONFIGURATION = "configuration"
    RESOURCE = "resource"
    TIMEOUT = "timeout"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Classification:
    """The verdict on one failure, small enough for run tags and step metadata."""

    category: ErrorCategory
    severity: Severity
    retryable: bool
    service: str
    message: str
    exception_type: str


@dataclass(frozen=True)
class _Verdict:
    category: ErrorCategory
    severity: Severity
    retryable: bool
    service: str
    # The failing service is certain: it wins over the caller's guess from the step.
    service_known: bool = False


@dataclass(frozen=True)
class _View:
    """One exception of a chain as both sources can show it: names, text, maybe the object."""

    type_name: str
    lineage: frozenset[str]
    text: str
    exc: BaseException | None = None

    def isa(self, *names: str) -> bool:
        return any(name in self.lineage for name in names)

    def bare_names(self) -> set[str]:
        return {name.rpartition(".")[2] for name in self.lineage}


def classify(exc: BaseException, service: str | None = None) -> Classification:
    """Classify a live exception, looking through its causes and Dagster's wrappers."""
    return _decide(list(_live_chain(exc)), service)


def classify_error_info(error_info: Any, service: str | None = None) -> Classification:
    """Classify a stored Dagster `SerializableErrorInfo` (`cls_name`, `message`, `cause`)."""
    return _decide(list(_info_chain(error_info)), service)


def _decide(views: list[_View], service: str | None) -> Classification:
    for view in views:
        service = service or _failfast_service(view)
        verdict = _verdict(view)
        if verdict is not None:
            return _classification(verdict, view, service)
    bad_source = next((view for view in views if view.isa(SECTOR_SOURCE_ERROR)), None)
    if bad_source is not None:
        invalid = _Verdict(ErrorCategory.VALIDATION, Severity.HIGH, False, "sectors")
        return _classification(invalid, bad_source, service)
    unknown = _Verdict(ErrorCategory.UNKNOWN, Severity.MEDIUM, False, "pipeline")
    return _classification(unknown, views[-1], service)


def _classification(verdict: _Verdict, view: _View, service: str | None) -> Classification:
    return Classification(
        category=verdict.category,
        severity=verdict.severity,
        retryable=verdict.retryable,
        service=verdict.service if verdict.service_known else service or verdict.service,
        message=_summary(view),
        exception_type=view.type_name,
    )


def _summary(view: _View) -> str:
    """One line: the class and the message, without SQLAlchemy's SQL echo and help link."""
    text = view.text.split("\n[SQL:")[0].split("\n(Background on this error")[0]
    bare = view.type_name.rpartition(".")[2]
    line = " ".join(f"{bare}: {text}".split()) if text.strip() else bare
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


# Reading chains -------------------------------------------------------------------------


def _qualified(cls: type) -> str:
    """The name `traceback` prints for a class, so live and stored views agree."""
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _lineage(cls: type) -> frozenset[str]:
    return frozenset(_qualified(base) for base in cls.__mro__)


def _live_chain(exc: BaseException) -> Iterator[_View]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(current))
        try:
            text = str(current)
        except Exception:
            text = ""
        yield _View(_qualified(type(current)), _lineage(type(current)), text, current)
        user_exception = getattr(current, "user_exception", None)
        if isinstance(user_exception, BaseException):
            current = user_exception
        elif current.__cause__ is not None:
            current = current.__cause__
        else:
            current = None if current.__suppress_context__ else current.__context__


def _info_chain(info: Any) -> Iterator[_View]:
    seen: set[int] = set()
    while info is not None and id(info) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(info))
        type_name, text = _split_message(
            getattr(info, "cls_name", None) or "", getattr(info, "message", None) or ""
        )
        cls = _resolve(type_name)
        yield _View(type_name, _lineage(cls) if cls else frozenset({type_name}), text)
        info = getattr(info, "cause", None) or getattr(info, "context", None)


def _split_message(cls_name: str, message: str) -> tuple[str, str]:
    """`"requests.exceptions.ReadTimeout: read timed out\\n"` to its type name and text."""
    message = message.rstrip("\n")
    head, _, rest = message.partition(": ")
    if IDENTIFIER_PATH.fullmatch(head) and (not cls_name or head.rpartition(".")[2] == cls_name):
        return head, rest
    return cls_name or "Exception", message


def _resolve(type_name: str) -> type | None:
    """The class a stored error names, when it comes from a package we know."""
    module_name, _, attribute = type_name.rpartition(".")
    if not module_name:
        candidate = getattr(builtins, attribute, None)
    elif module_name.split(".")[0] in IMPORTABLE:
        try:
            candidate = getattr(importlib.import_module(module_name), attribute, None)
        except ImportError:
            candidate = None
    else:
        candidate = None
    is_exception = isinstance(candidate, type) and issubclass(candidate, BaseException)
    return candidate if is_exception else None


def _failfast_service(view: _View) -> str | None:
    """The service recorded by `fail_fast_if_unretryable` in the `Failure` it raised."""
    if not view.isa("dagster._core.definitions.events.Failure"):
        return None
    metadata = getattr(view.exc, "metadata", None) or {}
    service = getattr(metadata.get("service"), "value", None)
    if isinstance(service, str):
        return service
    match = FAILFAST_DESCRIPTION.match(view.text)
    return match.group("service") if match else None


# Rules ----------------------------------------------------------------------------------


def _verdict(view: _View) -> _Verdict | None:
    rules = (
        _platform_rule,
        _feed_rule,
        _requests_rule,
        _database_rule,
        _system_rule,
        _config_rule,
    )
    for rule in rules:
        verdict = rule(view)
        if verdict is not None:
            return verdict
    return None


def _platform_rule(view: _View) -> _Verdict | None:
    """What fails under the pipeline: Dagster's own storage, a run worker's process."""
    text = view.text.lower()
    if view.isa(DAGSTER_POSTGRES_ERROR) or any(phrase in text for phrase in STORAGE_GONE):
        return _Verdict(ErrorCategory.DATABASE, Severity.CRITICAL, True, DAGSTER_STORAGE, True)
    died = WORKER_DIED.search(view.text)
    if died is None:
        return None
    if died.group("signal") == "SIGKILL":
        return _Verdict(ErrorCategory.RESOURCE, Severity.CRITICAL, True, RUN_WORKER, True)
    return _Verdict(ErrorCategory.UNKNOWN, Severity.HIGH, True, RUN_WORKER, True)


def _feed_rule(view: _View) -> _Verdict | None:
    if view.isa("vatsim_pipeline.feed.client.FeedUnavailable"):
        return _feed_unavailable(view)
    if view.isa("vatsim_pipeline.feed.parse.PayloadError", "json.decoder.JSONDecodeError"):
        return _Verdict(ErrorCategory.VALIDATION, Severity.HIGH, False, "feed")
    if view.isa("vatsim_pipeline.feed.parse.RecordError"):
        return _Verdict(ErrorCategory.VALIDATION, Severity.MEDIUM, False, "feed")
    return None


def _feed_unavailable(view: _View) -> _Verdict:
    service = getattr(view.exc, "service", None)
    attempts = getattr(view.exc, "attempts", None)
    if service is None or attempts is None:
        match = FEED_UNAVAILABLE.match(view.text)
        service = match.group("service") if match else "feed"
        tried = match.group("tried") if match else ""
        attempts = (
            []
            if tried in ("", "no URL listed")
            else [tuple(part.split(": ", 1)) for part in tried.split("; ")]
        )
    verdicts = [_feed_reason(attempt[-1], service) for attempt in attempts]
    if not verdicts:
        return _Verdict(ErrorCategory.API, Severity.MEDIUM, True, service)
    return next((v for v in verdicts if v.retryable), verdicts[0])


def _feed_reason(reason: str, service: str) -> _Verdict:
    """A reason as `feed.client._describe` writes it: "HTTP 503 …", "timed out (…)", …"""
    status = HTTP_STATUS.match(reason) if reason.startswith("HTTP ") else None
    if status:
        return _http(int(status.group(1)), service)
    if reason.startswith("timed out"):
        return _Verdict(ErrorCategory.TIMEOUT, Severity.MEDIUM, True, service)
    if reason.startswith("connection failed"):
        return _Verdict(ErrorCategory.NETWORK, Severity.HIGH, True, service)
    return _Verdict(ErrorCategory.API, Severity.MEDIUM, True, service)


def _http(status: int | None, service: str) -> _Verdict:
    if status == 408:
        return _Verdict(ErrorCategory.TIMEOUT, Severity.MEDIUM, True, service)
    if status == 429:
        return _Verdict(ErrorCategory.API, Severity.HIGH, True, service)
    if status is not None and 400 <= status < 500:
        return _Verdict(ErrorCategory.API, Severity.HIGH, False, service)
    return _Verdict(ErrorCategory.API, Severity.MEDIUM, True, service)


def _requests_rule(view: _View) -> _Verdict | None:
    if not view.isa("requests.exceptions.RequestException"):
        return None
    if view.isa("requests.exceptions.Timeout"):
        return _Verdict(ErrorCategory.TIMEOUT, Severity.MEDIUM, True, "feed")
    if view.isa("requests.exceptions.HTTPError"):
        response = getattr(view.exc, "response", None)
        status = getattr(response, "status_code", None)
        if status is None and (match := HTTP_STATUS.match(view.text)):
            status = int(match.group(1))
        return _http(status, "feed")
    if view.isa(
        "requests.exceptions.InvalidURL",
        "requests.exceptions.MissingSchema",
        "requests.exceptions.InvalidSchema",
    ):
        return _Verdict(ErrorCategory.CONFIGURATION, Severity.HIGH, False, "feed")
    return _Verdict(ErrorCategory.NETWORK, Severity.HIGH, True, "feed")


def _database_rule(view: _View) -> _Verdict | None:
    if view.isa("sqlalchemy.exc.ArgumentError", "sqlalchemy.exc.NoSuchModuleError"):
        return _Verdict(ErrorCategory.CONFIGURATION, Severity.HIGH, False, "database")
    if view.isa("sqlalchemy.exc.TimeoutError"):
        return _Verdict(ErrorCategory.TIMEOUT, Severity.HIGH, True, "database")
    if not view.isa("sqlalchemy.exc.DBAPIError", "psycopg2.Error", "sqlite3.Error"):
        return None
    text, names = view.text.lower(), view.bare_names()
    if "QueryCanceled" in names or "querycanceled" in text or "canceling statement due to" in text:
        return _Verdict(ErrorCategory.TIMEOUT, Severity.HIGH, True, "database")
    if "database is locked" in text:
        return _Verdict(ErrorCategory.DATABASE, Severity.MEDIUM, True, "database")
    if "DiskFull" in names or any(phrase in text for phrase in NO_SPACE):
        return _Verdict(ErrorCategory.RESOURCE, Severity.CRITICAL, False, "database")
    if "fatal:" in text and any(phrase in text for phrase in REFUSED_LOGIN):
        return _Verdict(ErrorCategory.CONFIGURATION, Severity.HIGH, False, "database")
    if getattr(view.exc, "connection_invalidated", False) or any(
        phrase in text for phrase in LOST_CONNECTION
    ):
        return _Verdict(ErrorCategory.DATABASE, Severity.CRITICAL, True, "database")
    if names & {"IntegrityError", "DataError", "ProgrammingError", "NotSupportedError"} or any(
        phrase in text for phrase in SQLITE_SCHEMA
    ):
        return _Verdict(ErrorCategory.DATABASE, Severity.HIGH, False, "database")
    if names & {"OperationalError", "InterfaceError", "InternalError"}:
        return _Verdict(ErrorCategory.DATABASE, Severity.CRITICAL, True, "database")
    return _Verdict(ErrorCategory.DATABASE, Severity.HIGH, False, "database")


def _system_rule(view: _View) -> _Verdict | None:
    if view.isa("MemoryError"):
        return _Verdict(ErrorCategory.RESOURCE, Severity.CRITICAL, True, "pipeline")
    if MAX_RUNTIME.search(view.text):
        return _Verdict(ErrorCategory.TIMEOUT, Severity.HIGH, True, "pipeline")
    if not view.isa("OSError"):
        return None
    code = getattr(view.exc, "errno", None)
    if code is None and (match := ERRNO.match(view.text)):
        code = int(match.group(1))
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        return _Verdict(ErrorCategory.RESOURCE, Severity.CRITICAL, False, "landing")
    if code in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
        return _Verdict(ErrorCategory.RESOURCE, Severity.CRITICAL, True, "landing")
    if view.isa("PermissionError") or code in (errno.EACCES, errno.EPERM):
        return _Verdict(ErrorCategory.RESOURCE, Severity.CRITICAL, False, "landing")
    if view.isa("FileNotFoundError", "IsADirectoryError", "NotADirectoryError"):
        return _Verdict(ErrorCategory.CONFIGURATION, Severity.HIGH, False, "landing")
    if view.isa("TimeoutError"):
        return _Verdict(ErrorCategory.TIMEOUT, Severity.MEDIUM, True, "pipeline")
    if view.isa("ConnectionError"):
        return _Verdict(ErrorCategory.NETWORK, Severity.HIGH, True, "pipeline")
    return None


def _config_rule(view: _View) -> _Verdict | None:
    if view.isa(
        "dagster._core.errors.DagsterInvalidConfigError",
        "dagster._core.errors.DagsterHomeNotSetError",
    ) or (
        view.isa("KeyError", "ValueError")
        and not view.isa(SECTOR_SOURCE_ERROR)
        and CONFIG_VARIABLE.search(view.text)
    ):
        return _Verdict(ErrorCategory.CONFIGURATION, Severity.HIGH, False, "pipeline")
    return None
