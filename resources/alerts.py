"""Where alerts go: always the Dagster log, and a webhook when one is configured."""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg
import requests


class AlertHook(dg.ConfigurableResource):
    """Posts alerts as JSON `{"text": ..., "kind": ..., **details}` to `webhook_url`
    (Slack-compatible: Slack reads `text` and ignores the rest; `kind` lets a receiver route
    alerts without parsing the text: freshness, retrain, rollback, correlation_shift).

    An unreachable webhook is logged, never raised: an alert must not fail the tick that found
    the problem.
    """

    webhook_url: str | None = None
    timeout_seconds: float = 5.0

    def send(
        self,
        log: logging.Logger | Any,
        text: str,
        details: dict[str, Any],
        kind: str | None = None,
    ) -> bool:
        """Log `text`; post it when a webhook is set. True when the webhook accepted it."""
        log.warning(f"ALERT {text}" if kind is None else f"ALERT [{kind}] {text}")
        payload = {"text": text, **({} if kind is None else {"kind": kind}), **details}
        if not self.webhook_url:
            return False
        try:
            response = requests.post(self.webhook_url, json=payload, timeout=self.timeout_seconds)
            response.raise_for_status()
        except requests.RequestException as exc:
            log.error(f"alert webhook {self.webhook_url} failed: {exc}")
            return False
        return True
