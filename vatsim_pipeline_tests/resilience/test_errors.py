"""Classification of real exceptions, live and as Dagster stores them.

Exceptions are produced for real wherever the machine allows it: a local HTTP server and a
listener that never answers for `requests` and the feed client, closed ports for
connection refusals, SQLite for locks and constraints, PostgreSQL (when
`VATSIM_TEST_POSTGRES_URL` is set) for statement timeouts and killed connections.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import orjson
import psycopg2
import pytest
import requests
import sqlalchemy as sa
from dagster import (
    DagsterExecutionStepExecutionError,
    DagsterInstance,
    DagsterInvalidConfigError,
    Failure,
    asset,
    materialize,
)
from dagster._core.errors import DagsterHomeNotSetError, user_code_error_boundary
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster_shared.error import SerializableErrorInfo
from hypothesis import given
from hypothesis import strategies as st

from vatsim_pipeline.feed.client import FeedClient, FeedUnavailable, snapshot_timestamp
from vatsim_pipeline.feed.parse import PayloadError, RecordError, parse_timestamp
from vatsim_pipeline.resilience.errors import (
    Classification,
    ErrorCategory,
    Severity,
    classify,
    classify_error_info,
)
from vatsim_pipeline.sectors.boundaries import SectorSourceError, read_feature_collection
from vatsim_pipeline.sectors.release import ReleaseError, read_map_data

POSTGRES_URL = os.environ.get("VATSIM_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="VATSIM_TEST_POSTGRES_URL not set")
CLOSED_PORT = 1


class _Handler(BaseHTTPRequestHandler):
    """`/code/503` answers 503 (with Retry-After for 429 and 503); `/status.json?data=u1,u2`
    lists the given data-feed mirrors."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/status.json":
            mirrors = parse_qs(url.query).get("data", [""])[0].split(",")
            body = json.dumps({"data": {"v3": mirrors, "transceivers": []}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        code = int(url.path.rsplit("/", 1)[1])
        self.send_response(code)
        if code in (429, 503):
            self.send_header("Retry-After", "7")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Net:
    http: str
    silent: str

    def get(self, path: str) -> None:
        requests.get(self.http + path, timeout=(1.0, 1.0)).raise_for_status()

    def client(self, *mirrors: str) -> FeedClient:
        status = f"{self.http}/status.json?data={','.join(mirrors)}"
        return FeedClient(status, connect_timeout_s=1.0, read_timeout_s=0.2)


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    """A local HTTP server, and a listener whose connections are never answered."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        yield Net(
            http=f"http://127.0.0.1:{server.server_address[1]}",
            silent=f"http://127.0.0.1:{silent.getsockname()[1]}",
        )
    finally:
        server.shutdown()
        server.server_close()
        silent.close()


def raised(action: Callable[[], object]) -> BaseException:
    """The exception `action` raises, with its real traceback and chain."""
    try:
        action()
    except BaseException as error:
        return error
    raise AssertionError("expected an exception")


def stored(error: BaseException) -> SerializableErrorInfo:
    """The error as Dagster writes it to the event log."""
    return serializable_error_info_from_exc_info((type(error), error, error.__traceback__))


def expect(
    error: BaseException, category: str, severity: str, retryable: bool, service: str
) -> Classification:
    """Assert the verdict on `error`, and that its stored form gets the very same one."""
    verdict = classify(error)
    assert (verdict.category, verdict.severity, verdict.retryable, verdict.service) == (
        ErrorCategory(category),
        Severity(severity),
        retryable,
        service,
    )
    assert classify_error_info(stored(error)) == verdict
    return verdict


# Feed ------------------------------------------------------------------------------------


def test_read_timeout_is_a_retryable_feed_timeout(net: Net) -> None:
    error = raised(lambda: requests.get(net.silent, timeout=(1.0, 0.1)))
    assert isinstance(error, requests.ReadTimeout)
    verdict = expect(error, "timeout", "medium", True, "feed")
    assert verdict.exception_type == "requests.exceptions.ReadTimeout"
    assert verdict.message.startswith("ReadTimeout: ")


def test_connect_timeout_is_a_timeout_not_a_connection_error() -> None:
    error = raised(lambda: _raise(requests.ConnectTimeout("connect timed out")))
    expect(error, "timeout", "medium", True, "feed")


def test_refused_connection_is_a_retryable_network_error() -> None:
    error = raised(lambda: requests.get(f"http://127.0.0.1:{CLOSED_PORT}/", timeout=1))
    assert type(error) is requests.ConnectionError
    expect(error, "network", "high", True, "feed")


@pytest.mark.parametrize(
    ("status", "category", "severity", "retryable"),
    [
        (500, "api", "medium", True),
        (503, "api", "medium", True),
        (429, "api", "high", True),
        (408, "timeout", "medium", True),
        (404, "api", "high", False),
        (403, "api", "high", False),
    ],
)
def test_http_status_decides(
    net: Net, status: int, category: str, severity: str, retryable: bool
) -> None:
    error = raised(lambda: net.get(f"/code/{status}"))
    assert isinstance(error, requests.HTTPError)
    expect(error, category, severity, retryable, "feed")


def test_a_bad_url_is_configuration() -> None:
    error = raised(lambda: requests.get("status.vatsim.net/status.json", timeout=1))
    expect(error, "configuration", "high", False, "feed")


def test_feed_unavailable_takes_its_service_and_its_attempts(net: Net) -> None:
    error = raised(net.client(f"{net.http}/code/503", f"{net.http}/code/502").fetch)
    assert isinstance(error, FeedUnavailable)
    verdict = expect(error, "api", "medium", True, "data_feed")
    assert verdict.exception_type == "vatsim_pipeline.feed.client.FeedUnavailable"
    assert "HTTP 503" in verdict.message


def test_feed_unavailable_is_retryable_when_any_mirror_was(net: Net) -> None:
    error = raised(net.client(f"{net.http}/code/404", net.silent).fetch)
    assert [reason for _, reason in error.attempts] == [
        "HTTP 404 Not Found",
        "timed out (ReadTimeout)",
    ]
    expect(error, "timeout", "medium", True, "data_feed")


def test_feed_unavailable_everywhere_refused_is_network(net: Net) -> None:
    error = raised(net.client(f"http://127.0.0.1:{CLOSED_PORT}/x").fetch)
    expect(error, "network", "high", True, "data_feed")


def test_feed_unavailable_with_only_client_errors_is_not_retryable(net: Net) -> None:
    error = raised(net.client(f"{net.http}/code/404", f"{net.http}/code/410").fetch)
    expect(error, "api", "high", False, "data_feed")


def test_status_json_failure_names_the_status_service(net: Net) -> None:
    client = FeedClient(f"{net.http}/code/503", read_timeout_s=1.0)
    error = raised(client.fetch)
    assert error.retry_after_s == 7.0
    expect(error, "api", "medium", True, "status")


def test_feed_unavailable_without_mirrors_is_retryable() -> None:
    error = raised(lambda: _raise(FeedUnavailable("transceivers_feed", [])))
    expect(error, "api", "medium", True, "transceivers_feed")


def test_payload_and_json_errors_are_validation_and_final() -> None:
    expect(
        raised(lambda: snapshot_timestamp(b"<html>502</html>")), "validation", "high", False, "feed"
    )
    expect(raised(lambda: json.loads("{")), "validation", "high", False, "feed")
    expect(raised(lambda: orjson.loads(b"{")), "validation", "high", False, "feed")
    expect(raised(lambda: parse_timestamp(5)), "validation", "medium", False, "feed")
    assert isinstance(raised(lambda: parse_timestamp(5)), RecordError)
    assert isinstance(raised(lambda: snapshot_timestamp(b"<html>")), PayloadError)


# Sector boundaries -----------------------------------------------------------------------


def test_a_bad_boundary_file_is_final_validation(tmp_path: Path) -> None:
    folder = tmp_path / "VATSIM_SECTORS_DIR"  # a variable's name in the path is no setting
    folder.mkdir()
    topology = folder / "Boundaries.geojson"
    topology.write_text('{"type": "Topology"}')
    error = raised(lambda: read_feature_collection(topology))
    assert type(error) is SectorSourceError and error.__cause__ is None
    verdict = expect(error, "validation", "high", False, "sectors")
    assert verdict.message == f"SectorSourceError: {topology}: not a GeoJSON FeatureCollection"


def test_a_bad_release_announcement_is_final_validation() -> None:
    error = raised(lambda: read_map_data("ftp://example.invalid/map.json", requests.Session()))
    assert type(error) is ReleaseError and error.__cause__ is None
    expect(error, "validation", "high", False, "sectors")


def test_a_failed_download_of_a_release_is_retried_as_its_cause_says() -> None:
    refused = f"http://127.0.0.1:{CLOSED_PORT}/map.json"
    error = raised(lambda: read_map_data(refused, requests.Session(), (1.0, 1.0)))
    assert isinstance(error, ReleaseError)
    assert isinstance(error.__cause__, requests.ConnectionError)
    expect(error, "network", "high", True, "feed")


# Database --------------------------------------------------------------------------------


def test_refused_postgres_connection_is_critical_and_retryable() -> None:
    engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{CLOSED_PORT}/test")
    error = raised(engine.connect)
    assert isinstance(error, sa.exc.OperationalError)
    verdict = expect(error, "database", "critical", True, "database")
    assert verdict.exception_type == "sqlalchemy.exc.OperationalError"
    assert "[SQL" not in verdict.message and "Background on this error" not in verdict.message
    raw = raised(lambda: psycopg2.connect(host="127.0.0.1", port=CLOSED_PORT, user="postgres"))
    expect(raw, "database", "critical", True, "database")


def test_locked_sqlite_is_a_medium_retryable_database_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("create table t (x integer primary key)")
    holder.execute("begin exclusive")
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    try:
        with engine.begin() as connection:
            error = raised(lambda: connection.execute(sa.text("insert into t values (1)")))
    finally:
        holder.close()
        engine.dispose()
    verdict = expect(error, "database", "medium", True, "database")
    assert verdict.message == "OperationalError: (sqlite3.OperationalError) database is locked"


def test_sqlite_constraint_and_schema_errors_are_final(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("create table t (x integer primary key)"))
        connection.execute(sa.text("insert into t values (1)"))
    with engine.connect() as connection:
        duplicate = raised(lambda: connection.execute(sa.text("insert into t values (1)")))
        missing = raised(lambda: connection.execute(sa.text("select * from nowhere")))
    engine.dispose()
    assert isinstance(duplicate, sa.exc.IntegrityError)
    expect(duplicate, "database", "high", False, "database")
    assert isinstance(missing, sa.exc.OperationalError)
    expect(missing, "database", "high", False, "database")


def test_a_bad_database_url_is_configuration() -> None:
    expect(
        raised(lambda: sa.create_engine("not a url")), "configuration", "high", False, "database"
    )


@pytest.fixture
def pg() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


@needs_postgres
def test_statement_timeout_is_a_database_timeout(pg: sa.Engine) -> None:
    with pg.connect() as connection:
        connection.execute(sa.text("set statement_timeout = 50"))
        error = raised(lambda: connection.execute(sa.text("select pg_sleep(2)")))
    assert isinstance(error.orig, psycopg2.errors.QueryCanceled)
    expect(error, "timeout", "high", True, "database")
    expect(error.orig, "timeout", "high", True, "database")


@needs_postgres
def test_a_terminated_connection_is_critical_and_retryable(pg: sa.Engine) -> None:
    with pg.connect() as victim:
        pid = victim.execute(sa.text("select pg_backend_pid()")).scalar_one()
        with pg.connect() as killer:
            killer.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})
        error = raised(lambda: victim.execute(sa.text("select 1")))
    assert error.connection_invalidated
    expect(error, "database", "critical", True, "database")


@needs_postgres
def test_a_refused_login_is_configuration() -> None:
    url = sa.engine.make_url(POSTGRES_URL)
    for wrong in (url.set(username="vp_no_such_role"), url.set(database="vp_no_such_db")):
        engine = sa.create_engine(wrong)
        error = raised(engine.connect)
        engine.dispose()
        assert "FATAL" in str(error)
        expect(error, "configuration", "high", False, "database")


@needs_postgres
def test_postgres_data_and_constraint_errors_are_final(pg: sa.Engine) -> None:
    with pg.connect() as connection:
        connection.execute(sa.text("create temporary table t (x int primary key)"))
        duplicate = raised(lambda: connection.execute(sa.text("insert into t values (1), (1)")))
        connection.rollback()
        bad_value = raised(lambda: connection.execute(sa.text("select 'x'::int")))
        connection.rollback()
        no_table = raised(lambda: connection.execute(sa.text("select * from nowhere")))
    for error, kind in (
        (duplicate, "IntegrityError"),
        (bad_value, "DataError"),
        (no_table, "ProgrammingError"),
    ):
        assert type(error).__name__ == kind
        expect(error, "database", "high", False, "database")


# System, configuration, chains -----------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_a_final_resource_error() -> None:
    def write() -> None:
        with open("/dev/full", "wb", buffering=0) as full:
            full.write(b"snapshot")

    error = raised(write)
    assert error.errno == errno.ENOSPC
    expect(error, "resource", "critical", False, "landing")


def test_resource_exhaustion_is_critical_and_retryable() -> None:
    too_many = OSError(errno.EMFILE, os.strerror(errno.EMFILE))
    expect(raised(lambda: _raise(too_many)), "resource", "critical", True, "landing")
    expect(raised(lambda: _raise(MemoryError())), "resource", "critical", True, "pipeline")


def test_missing_files_are_configuration(tmp_path: Path) -> None:
    missing = raised(lambda: (tmp_path / "absent.json").read_bytes())
    expect(missing, "configuration", "high", False, "landing")
    expect(raised(tmp_path.read_bytes), "configuration", "high", False, "landing")


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT])
def test_a_folder_that_refuses_writes_is_a_resource_failure(code: int) -> None:
    refused = OSError(code, os.strerror(code), "/landing/2024-11-22")
    expect(raised(lambda: _raise(refused)), "resource", "critical", False, "landing")


def test_socket_timeout_and_refusal(net: Net) -> None:
    port = int(net.silent.rsplit(":", 1)[1])

    def receive() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05) as connection:
            connection.recv(1)

    timed_out = raised(receive)
    assert isinstance(timed_out, TimeoutError)
    expect(timed_out, "timeout", "medium", True, "pipeline")
    refused = raised(lambda: socket.create_connection(("127.0.0.1", CLOSED_PORT), timeout=1))
    assert isinstance(refused, ConnectionRefusedError)
    expect(refused, "network", "high", True, "pipeline")


def test_settings_errors_naming_a_variable_are_configuration() -> None:
    expect(
        raised(lambda: os.environ["VATSIM_SURELY_UNSET"]),
        "configuration",
        "high",
        False,
        "pipeline",
    )
    plain = raised(lambda: {}["pilots"])
    expect(plain, "unknown", "medium", False, "pipeline")


def test_dagster_configuration_errors_are_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    @asset(config_schema={"landed_path": str})
    def landed() -> None:
        pass

    bad_config = {"ops": {"landed": {"config": {"landed_path": 5}}}}
    invalid = raised(lambda: materialize([landed], run_config=bad_config))
    assert isinstance(invalid, DagsterInvalidConfigError)
    expect(invalid, "configuration", "high", False, "pipeline")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    homeless = raised(DagsterInstance.get)
    assert isinstance(homeless, DagsterHomeNotSetError)
    expect(homeless, "configuration", "high", False, "pipeline")


def test_anything_else_is_unknown_and_not_retried() -> None:
    verdict = expect(raised(lambda: 1 / 0), "unknown", "medium", False, "pipeline")
    assert verdict == Classification(
        ErrorCategory.UNKNOWN,
        Severity.MEDIUM,
        False,
        "pipeline",
        "ZeroDivisionError: division by zero",
        "ZeroDivisionError",
    )


def test_the_cause_decides_through_wrappers(net: Net) -> None:
    def wrapped() -> None:
        try:
            requests.get(net.silent, timeout=(1.0, 0.05))
        except requests.RequestException as error:
            raise RuntimeError("could not refresh") from error

    expect(raised(wrapped), "timeout", "medium", True, "feed")


def test_the_implicit_context_decides_unless_suppressed() -> None:
    def during(suppress: bool) -> None:
        try:
            socket.create_connection(("127.0.0.1", CLOSED_PORT), timeout=1)
        except OSError:
            if suppress:
                raise RuntimeError("gave up") from None
            raise RuntimeError("gave up")  # noqa: B904 - the implicit context is the point

    expect(raised(lambda: during(False)), "network", "high", True, "pipeline")
    verdict = expect(raised(lambda: during(True)), "unknown", "medium", False, "pipeline")
    assert verdict.message == "RuntimeError: gave up"


def test_dagster_step_wrapper_is_looked_through() -> None:
    def step() -> None:
        with user_code_error_boundary(
            DagsterExecutionStepExecutionError,
            lambda: 'Error occurred while executing op "pilots":',
            step_key="pilots",
            op_name="pilots",
            op_def_name="pilots",
        ):
            json.loads("<html>")

    error = raised(step)
    assert isinstance(error, DagsterExecutionStepExecutionError)
    verdict = expect(error, "validation", "high", False, "feed")
    assert verdict.exception_type == "json.decoder.JSONDecodeError"


def test_a_plain_failure_is_looked_through() -> None:
    def step() -> None:
        try:
            requests.get(f"http://127.0.0.1:{CLOSED_PORT}/", timeout=1)
        except requests.RequestException as error:
            raise Failure(description="feed down") from error

    expect(raised(step), "network", "high", True, "feed")
    alone = expect(
        raised(lambda: _raise(Failure("gave up"))), "unknown", "medium", False, "pipeline"
    )
    assert alone.message == "Failure: gave up"


def test_outermost_recognised_exception_wins(net: Net) -> None:
    def refetch() -> None:
        try:
            requests.get(f"http://127.0.0.1:{CLOSED_PORT}/", timeout=1)
        except requests.RequestException as error:
            raise FeedUnavailable("data_feed", [("u", "HTTP 404 Not Found")]) from error

    expect(raised(refetch), "api", "high", False, "data_feed")


def test_the_callers_service_wins() -> None:
    error = raised(lambda: json.loads("{"))
    assert classify(error, "landing").service == "landing"
    assert classify_error_info(stored(error), "landing").service == "landing"


def test_a_cyclic_chain_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert classify(first).category is ErrorCategory.UNKNOWN


def test_messages_are_one_short_line() -> None:
    error = raised(lambda: _raise(ValueError("x\n" * 400)))
    verdict = classify(error)
    assert len(verdict.message) == 300
    assert "\n" not in verdict.message
    assert verdict.message.endswith("…")
    assert classify(raised(lambda: _raise(RuntimeError()))).message == "RuntimeError"


# Stored error infos ----------------------------------------------------------------------


def test_unknown_packages_are_not_imported() -> None:
    info = SerializableErrorInfo("evil_pkg.errors.Boom: no\n", [], "Boom")
    verdict = classify_error_info(info)
    assert verdict.category is ErrorCategory.UNKNOWN
    assert verdict.exception_type == "evil_pkg.errors.Boom"
    assert "evil_pkg" not in sys.modules


def test_old_and_odd_error_infos() -> None:
    no_class = SerializableErrorInfo("Exceeded maximum runtime of 300 seconds.\n", [], None)
    assert classify_error_info(no_class).category is ErrorCategory.TIMEOUT
    renamed = SerializableErrorInfo(
        "Exceeded max_retries of 3\n",
        [],
        "RetryRequestedFromPolicy",
        cause=SerializableErrorInfo(
            "psycopg2.errors.DiskFull: could not extend file\n", [], "DiskFull"
        ),
    )
    verdict = classify_error_info(renamed)
    assert (verdict.category, verdict.retryable, verdict.service) == (
        ErrorCategory.RESOURCE,
        False,
        "database",
    )


CLASSES = [
    ValueError,
    KeyError,
    RuntimeError,
    OSError,
    TimeoutError,
    PayloadError,
    requests.HTTPError,
    requests.ConnectionError,
    sa.exc.ArgumentError,
    Failure,
]


@given(
    chain=st.lists(
        st.tuples(st.sampled_from(CLASSES), st.text(max_size=80)), min_size=1, max_size=4
    )
)
def test_any_chain_classifies_the_same_live_and_stored(chain: list[tuple[type, str]]) -> None:
    """Arbitrary texts in a chain of exceptions; `test_feed_unavailable_*` cover the feed's
    own messages, whose service is an identifier and whose reasons are the client's."""

    def build(index: int) -> None:
        cls, text = chain[index]
        error = cls(text)
        if index + 1 == len(chain):
            raise error
        try:
            build(index + 1)
        except Exception as cause:
            raise error from cause

    error = raised(lambda: build(0))
    verdict = classify(error)
    assert len(verdict.message) <= 300 and "\n" not in verdict.message
    assert classify_error_info(stored(error)) == verdict


REASONS = st.one_of(
    st.sampled_from(
        [
            "HTTP 503 Service Unavailable",
            "HTTP 429 Too Many Requests",
            "HTTP 404 Not Found",
            "timed out (ReadTimeout)",
            "connection failed (ConnectionError)",
            "payload exceeds 67108864 bytes",
        ]
    ),
    st.text(max_size=40).filter(lambda reason: "; " not in reason),
)
URLS = st.from_regex(r"https?://[a-z0-9.]{1,15}(:[0-9]{2,5})?/[a-z0-9/._-]{0,20}", fullmatch=True)


@given(
    service=st.sampled_from(["status", "data_feed", "transceivers_feed"]),
    attempts=st.lists(st.tuples(URLS, REASONS), max_size=4),
)
def test_any_feed_unavailable_classifies_the_same_live_and_stored(
    service: str, attempts: list[tuple[str, str]]
) -> None:
    error = raised(lambda: _raise(FeedUnavailable(service, attempts)))
    verdict = classify(error)
    assert verdict.service == service
    final = [re.match(r"HTTP 4\d\d\b", r) and r[5:8] not in ("408", "429") for _, r in attempts]
    assert verdict.retryable == (not attempts or not all(final))
    assert classify_error_info(stored(error)) == verdict


def _raise(error: BaseException) -> None:
    raise error


# Dagster's own storage and run workers ----------------------------------------------------


def test_dagster_storage_gone_is_a_retryable_database_error_of_dagster_storage() -> None:
    from dagster_postgres.utils import DagsterPostgresException, retry_pg_connection_fn

    def connect() -> None:
        sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/dagster").connect()

    error = raised(lambda: retry_pg_connection_fn(connect, retry_limit=0))
    assert isinstance(error, DagsterPostgresException)
    expect(error, "database", "critical", True, "dagster_storage")
    # The step that was running does not matter: the failure hook passes its service.
    assert classify(error, service="database").service == "dagster_storage"
    assert classify_error_info(stored(error), service="feed").service == "dagster_storage"


@pytest.mark.parametrize(
    ("message", "category", "severity"),
    [
        ("run worker (pid 4242) killed by SIGKILL", "resource", "critical"),
        ("run worker (pid 4242) killed by SIGSEGV", "unknown", "high"),
        ("run worker (pid 4242) exited with code 3 before finishing the run", "unknown", "high"),
    ],
)
def test_a_dead_run_worker_is_classified_from_its_reason(
    message: str, category: str, severity: str
) -> None:
    verdict = classify_error_info(SerializableErrorInfo(message, [], None), service="database")
    assert (verdict.category, verdict.severity, verdict.retryable, verdict.service) == (
        category,
        severity,
        True,
        "run_worker",
    )
    assert message in verdict.message
