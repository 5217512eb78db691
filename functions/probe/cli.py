"""``edge-ops probe``: the scheduled probe's checks, run once from a person's terminal.

Same settings as the function (``EDGE_OPS_NODE_URL``, ``EDGE_OPS_NODE_TOKEN_SECRET_ID`` or
``EDGE_OPS_NODE_TOKEN``, ``EDGE_OPS_RPC_ENDPOINTS[_SECRET_ID]``, ``EDGE_OPS_BACKUP_LOCATION``),
same core. Prints one line per check (or the report as JSON); exits 0 when every check passed,
1 when one failed, 2 on unusable settings. Metrics are not published from here.
"""

from __future__ import annotations

import click

from functions.cli.output import emit, json_option
from functions.common.errors import BadInput


@click.command()
@click.option("--node-url", help="The node's API (default: EDGE_OPS_NODE_URL).")
@json_option
def probe(node_url: str | None, as_json: bool) -> int:
    """Check the node (/healthz, /health), its RPC endpoints' heads, the last price update's
    age and the newest verified backup's age, each call bounded, all at once."""
    from functions.common.aws import AwsClients
    from functions.common.settings import load_settings
    from functions.probe import wiring
    from functions.probe.run import probe as run_probe
    from functions.probe.settings import ProbeSettings

    settings = load_settings(ProbeSettings)
    if node_url is not None:
        if not node_url.startswith(("http://", "https://")) or any(c.isspace() for c in node_url):
            raise BadInput(f"--node-url {node_url!r} is not an http(s) URL")
        settings = settings.model_copy(update={"node_url": node_url.rstrip("/")})
    sources = wiring.Sources(AwsClients(wiring.aws_options(settings)), settings.secret_max_age_s)
    report = run_probe(
        wiring.target(settings, sources), settings.thresholds(), wiring.limits(settings)
    )

    def human() -> str:
        lines = [
            f"{'ok  ' if c.ok else 'FAIL'}  {c.check:<8} {c.target:<16} {c.detail}"
            for c in report.checks
        ]
        verdict = "all checks passed" if report.ok else f"{len(report.failed)} check(s) failed"
        lines.append(f"{verdict} in {report.duration_ms:.0f} ms")
        return "\n".join(lines)

    emit(report.as_dict(), as_json, human)
    return 0 if report.ok else 1
