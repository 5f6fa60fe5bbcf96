"""From a Render Blueprint to Pulumi: ``render-kv-import render.yaml``.

``read_blueprint`` turns a Blueprint's Key Value services into canonical values (or a
``BlueprintError`` naming every bad line); ``render_program`` writes the Pulumi program
that adopts them, ``render_project`` and ``render_requirements`` the files that let the
Pulumi CLI run it; ``main`` is the console script.
"""

from pulumi_render_kv.blueprint._cli import main
from pulumi_render_kv.blueprint._read import (
    AllowEntry,
    Blueprint,
    BlueprintError,
    BlueprintProblem,
    KeyValueService,
    read_blueprint,
)
from pulumi_render_kv.blueprint._requirements import requirement_from_direct_url
from pulumi_render_kv.blueprint._write import (
    output_name,
    project_name_problem,
    render_program,
    render_project,
    render_requirements,
)
from pulumi_render_kv.blueprint._write_yaml import render_yaml_program

__all__ = [
    "AllowEntry",
    "Blueprint",
    "BlueprintError",
    "BlueprintProblem",
    "KeyValueService",
    "main",
    "output_name",
    "project_name_problem",
    "read_blueprint",
    "render_program",
    "render_project",
    "render_requirements",
    "render_yaml_program",
    "requirement_from_direct_url",
]
