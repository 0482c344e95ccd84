"""Every `dagster.yaml` profile loads, so none can rot: the embedded default and the
PostgreSQL, Kubernetes and Celery profiles. Their schemas are checked everywhere; with a
PostgreSQL test server each profile also builds a real `DagsterInstance` (storage
created in a fresh database), without any cluster or broker."""

from __future__ import annotations

import shutil
from pathlib import Path

import kubernetes
import pytest
from dagster import DagsterInstance
from dagster._config import process_config
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler.instigation import TickStatus
from dagster_celery.launcher import CeleryRunLauncher
from dagster_k8s import K8sRunLauncher
from dagster_postgres import PostgresRunStorage

from vatsim_pipeline.dagster_storage.schema_memo import SchemaAwareEventLogStorage
from vatsim_pipeline.launcher.warm_launcher import WarmRunLauncher
from vatsim_pipeline_tests.shared_data import REPOSITORY

DEPLOY = REPOSITORY / "vatsim_pipeline" / "deploy"
PROFILES = {
    "sqlite": REPOSITORY / "dagster.yaml",
    "postgres": DEPLOY / "dagster.postgres.yaml",
    "k8s": DEPLOY / "dagster.k8s.yaml",
    "celery": DEPLOY / "dagster.celery.yaml",
}
SENSOR_TICKS = {TickStatus.STARTED: -1, TickStatus.SKIPPED: 1, TickStatus.FAILURE: 30}
SENSOR_TICKS[TickStatus.SUCCESS] = 7
SCHEDULE_TICKS = dict.fromkeys(TickStatus, 14)
K8S_ENV = {
    "VATSIM_K8S_INSTANCE_CONFIG_MAP": "vatsim-pipeline-instance",
    "VATSIM_K8S_JOB_IMAGE": "registry.example/vatsim-pipeline:1.0",
    "VATSIM_K8S_NAMESPACE": "vatsim",
    "VATSIM_K8S_SERVICE_ACCOUNT": "vatsim-runs",
}
CELERY_ENV = {
    "VATSIM_CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "VATSIM_CELERY_BACKEND_URL": "redis://127.0.0.1:6379/1",
}


def _home(tmp_path: Path, profile: str) -> Path:
    home = tmp_path / f"home-{profile}"
    home.mkdir()
    shutil.copy(PROFILES[profile], home / "dagster.yaml")
    return home


@pytest.fixture
def deploy_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The variables the scale-out profiles read; the shared folder is this test's own."""
    shared = tmp_path / "shared"
    for name, value in {**K8S_ENV, **CELERY_ENV}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VATSIM_DAGSTER_SHARED_DIR", str(shared))
    return shared


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_matches_the_instance_schema(profile, tmp_path, deploy_env) -> None:
    config, _ = dagster_instance_config(str(_home(tmp_path, profile)))

    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [
        {"key": "vatsim/ingest", "limit": 1}
    ]
    assert config["run_coordinator"]["class"] in {"QueuedRunCoordinator", "PromptRunCoordinator"}
    assert config["retention"]["sensor"]["purge_after_days"] == {
        "skipped": 1,
        "failure": 30,
        "success": 7,
    }


def test_the_k8s_launcher_accepts_its_configuration(tmp_path, deploy_env) -> None:
    config, _ = dagster_instance_config(str(_home(tmp_path, "k8s")))
    launcher = config["run_launcher"]

    processed = process_config(K8sRunLauncher.config_type(), launcher["config"])

    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert processed.success, processed.errors
    assert processed.value["job_image"] == K8S_ENV["VATSIM_K8S_JOB_IMAGE"]
    assert processed.value["job_namespace"] == "vatsim"
    assert processed.value["env_vars"] == [
        "VATSIM_LANDING_DIR=/var/lib/vatsim/landing",
        "VATSIM_DAGSTER_SHARED_DIR=/var/lib/vatsim/dagster",
    ]


def test_the_celery_launcher_accepts_its_configuration(tmp_path, deploy_env) -> None:
    config, _ = dagster_instance_config(str(_home(tmp_path, "celery")))
    launcher = config["run_launcher"]

    processed = process_config(CeleryRunLauncher.config_type(), launcher["config"])

    assert launcher["module"] == "dagster_celery.launcher"
    assert launcher["class"] == "CeleryRunLauncher"
    assert processed.success, processed.errors
    assert processed.value["broker"] == CELERY_ENV["VATSIM_CELERY_BROKER_URL"]
    assert processed.value["default_queue"] == "dagster"


def test_the_embedded_default_sets_tick_retention(tmp_path) -> None:
    instance = DagsterInstance.from_config(str(_home(tmp_path, "sqlite")))

    assert instance.get_tick_retention_settings(InstigatorType.SENSOR) == SENSOR_TICKS
    assert instance.get_tick_retention_settings(InstigatorType.SCHEDULE) == SCHEDULE_TICKS
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert isinstance(instance.run_launcher, WarmRunLauncher)


@pytest.fixture
def dagster_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """DAGSTER_POSTGRES_URL of a fresh database, as the profiles read it."""
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url)
    return postgres_url


def _instance(tmp_path: Path, profile: str) -> DagsterInstance:
    instance = DagsterInstance.from_config(str(_home(tmp_path, profile)))
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, SchemaAwareEventLogStorage)
    # Runs, events and schedules share one pooled engine, in this process and in a run
    # worker that rebuilds the instance from its ref.
    engine = instance.event_log_storage._engine
    assert instance.run_storage._engine is engine
    assert instance.schedule_storage._engine is engine
    assert isinstance(
        DagsterInstance.from_ref(instance.get_ref()).event_log_storage, SchemaAwareEventLogStorage
    )
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert instance.get_tick_retention_settings(InstigatorType.SENSOR) == SENSOR_TICKS
    assert instance.get_tick_retention_settings(InstigatorType.SCHEDULE) == SCHEDULE_TICKS
    return instance


def test_the_postgres_profile_builds_its_instance(tmp_path, dagster_postgres) -> None:
    instance = _instance(tmp_path, "postgres")

    assert instance.get_runs_count() == 0
    assert isinstance(instance.run_launcher, WarmRunLauncher)


def test_the_k8s_profile_builds_its_instance_without_a_cluster(
    tmp_path, dagster_postgres, deploy_env, monkeypatch
) -> None:
    # Outside a pod there is no service account to read; the launcher makes no call yet.
    monkeypatch.setattr(kubernetes.config, "load_incluster_config", lambda: None)

    instance = _instance(tmp_path, "k8s")

    launcher = instance.run_launcher
    assert isinstance(launcher, K8sRunLauncher)
    assert (launcher.job_namespace, launcher.instance_config_map) == (
        "vatsim",
        "vatsim-pipeline-instance",
    )
    assert launcher.image_pull_policy == "IfNotPresent"
    assert instance.storage_directory() == str(deploy_env / "storage")


def test_the_celery_profile_builds_its_instance_without_a_broker(
    tmp_path, dagster_postgres, deploy_env
) -> None:
    instance = _instance(tmp_path, "celery")

    launcher = instance.run_launcher
    assert isinstance(launcher, CeleryRunLauncher)
    assert (launcher.broker, launcher.backend, launcher.default_queue) == (
        CELERY_ENV["VATSIM_CELERY_BROKER_URL"],
        CELERY_ENV["VATSIM_CELERY_BACKEND_URL"],
        "dagster",
    )
    assert instance.storage_directory() == str(deploy_env / "storage")


@pytest.mark.parametrize("profile", ["sqlite", "postgres"])
def test_run_retries_are_part_of_the_recovery(profile, tmp_path, deploy_env) -> None:
    """A run that lost Dagster's storage or its worker is run again by the daemon."""
    config, _ = dagster_instance_config(str(_home(tmp_path, profile)))
    assert config["run_retries"]["enabled"] is True
    assert config["run_retries"]["max_retries"] == 2
