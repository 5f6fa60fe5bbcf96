"""The log-stream endpoints of :class:`~._client.RenderClient`: one instance's override."""

from __future__ import annotations

from ._calls import Endpoints, Op
from ._errors import NotFoundError
from ._models import ResourceLogStream, ResourceLogStreamPUTInput, request_json
from ._parsing import parse
from ._query import segment


def _log_stream_op(method: str, resource_id: str) -> Op:
    path = f"/logs/streams/resource/{segment(resource_id, 'resource_id')}"
    return Op(method, "/logs/streams/resource/{resourceId}", path)


class LogStreamEndpoints(Endpoints):
    """``/logs/streams/resource/{resourceId}``."""

    def get_resource_log_stream(self, resource_id: str) -> ResourceLogStream | None:
        """``GET /logs/streams/resource/{resourceId}``; ``None`` when there is no override.

        Render answers 404 ``not found: <id>`` for a resource without an override (recorded).
        """
        op = _log_stream_op("GET", resource_id)
        try:
            response = self._caller.call(op)
        except NotFoundError:
            return None
        return parse(op, response, ResourceLogStream)

    def update_resource_log_stream(
        self, resource_id: str, body: ResourceLogStreamPUTInput
    ) -> ResourceLogStream:
        """``PUT /logs/streams/resource/{resourceId}`` (a replacement: safe to repeat).

        The token's value is scrubbed from any error, like the API key.
        """
        op = _log_stream_op("PUT", resource_id)
        token = () if body.token is None else (body.token.get_secret_value(),)
        response = self._caller.call(op, body=request_json(body), secrets=token)
        return parse(op, response, ResourceLogStream)

    def delete_resource_log_stream(self, resource_id: str) -> None:
        """``DELETE /logs/streams/resource/{resourceId}`` (204): back to the workspace default.

        404 handling as in :meth:`delete_key_value`.
        """
        self._caller.delete(_log_stream_op("DELETE", resource_id))
