"""Connecting to Temporal the way Temporal's own tools do.

The connection comes from Temporal's environment configuration (``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``, or a profile in
``TEMPORAL_CONFIG_FILE``), so an operator's ``temporal`` CLI settings work unchanged.
The client carries the OpenTelemetry interceptor, which workers built from it inherit.
The API and the CLI answer people and client systems, so they connect with
:data:`FAIL_FAST`: while the frontend is down a call fails within a fraction of a second
instead of retrying for the SDK's default ten seconds; the worker keeps the default and
rides out a short outage.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, Interceptor, RetryConfig
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from worker.settings import Settings, SettingsError

FAIL_FAST = RetryConfig(
    initial_interval_millis=100, max_interval_millis=400, max_elapsed_time_millis=1000, max_retries=2
)
"""At most two quick retries within a second: enough for a blip, short enough for a 503."""


def client_interceptors() -> list[Interceptor]:
    """What every Stepwise client carries, and the workers built from it inherit.

    Temporal's ``TracingInterceptor``, also while this process records no spans: it still
    forwards a caller's trace context (the API's, when the API traces) to activities, child
    workflows and continued runs, so the worker's logs carry that trace id. Its cost per
    booking saga is within the noise (``tests/benchmarks/test_tracing_cost.py``).
    """
    return [TracingInterceptor()]


def temporal_address(settings: Settings) -> str:
    """host:port the client connects to (Temporal's env config wins over the settings)."""
    return str(connect_config(settings)["target_host"])


def connect_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect`` from Temporal's env config."""
    try:
        config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    except Exception as error:
        raise SettingsError(f"TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE: {error}") from None
    config.setdefault("target_host", settings.temporal.address)
    config.setdefault("namespace", settings.temporal.namespace)
    return config


async def connect(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    retry: RetryConfig | None = None,
    lazy: bool = False,
) -> Client:
    """A client with tracing; raises a one-line :class:`ConnectionError` when the server cannot be reached.

    ``retry`` replaces the SDK's retry of failed calls (see :data:`FAIL_FAST`); a ``lazy``
    client connects on its first call and reconnects on later ones, so a process can start
    while Temporal is down.
    """
    config = connect_config(settings)
    try:
        return await Client.connect(
            **config, runtime=runtime, interceptors=client_interceptors(), retry_config=retry, lazy=lazy
        )
    except RuntimeError as error:
        # The SDK's message is a Rust transport error; the cause keeps it for a traceback.
        raise ConnectionError(f"Temporal at {config['target_host']} is not reachable") from error
