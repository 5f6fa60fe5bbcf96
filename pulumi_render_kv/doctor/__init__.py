"""``render-kv doctor``: why a Render Key Value instance cannot be reached, and what to change.

One job per module: ``_urls`` (connection strings, masked), ``_targets`` (what to diagnose:
``--url``, ``--id``/``--name``, ``--stack``), ``_api`` (what Render's API says), ``_probe`` (DNS,
TCP, TLS, login and INFO, as facts), ``_resp`` (just enough RESP), ``_facts`` (the observed
facts), ``_checks`` (facts → verdicts, pure), ``_report`` (text and JSON, exit status),
``_watch`` (``--watch``), ``_cli`` (the console script).
"""

from pulumi_render_kv.doctor._checks import Level, Verdict, diagnose
from pulumi_render_kv.doctor._cli import Runtime, main, run

__all__ = ["Level", "Runtime", "Verdict", "diagnose", "main", "run"]
