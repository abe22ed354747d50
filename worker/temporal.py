"""Connecting to Temporal the way Temporal's own tools do.

The connection comes from Temporal's environment configuration (``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``, or a profile in
``TEMPORAL_CONFIG_FILE``), so an operator's ``temporal`` CLI settings work unchanged.
The client carries the OpenTelemetry interceptor, which workers built from it inherit.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from worker.settings import Settings, SettingsError


def connect_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect`` from Temporal's env config."""
    try:
        config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    except Exception as error:
        raise SettingsError(f"TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE: {error}") from None
    config.setdefault("target_host", settings.temporal.address)
    config.setdefault("namespace", settings.temporal.namespace)
    return config


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client with tracing; raises a one-line error when the server cannot be reached."""
    config = connect_config(settings)
    try:
        return await Client.connect(**config, runtime=runtime, interceptors=[TracingInterceptor()])
    except RuntimeError as error:
        raise ConnectionError(f"Temporal at {config['target_host']}: {error}") from None
