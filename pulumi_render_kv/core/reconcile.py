"""KeyValueCore: check, diff, create, read, update and delete, for both faces.

Each method translates Pulumi's dicts, asks the pure core what to do, and makes the calls:
program → resource → provider → (spec, planning) → client → Render. ``check`` and ``diff``
never call the API, so ``pulumi preview`` costs nothing and works offline. The dynamic
resource's ``KeyValueProvider`` (``pulumi_render_kv.provider.provider``) and the real
provider (``pulumi_render_kv.native``) adapt it; it imports neither.

The dynamic face's instance is pickled into state by the SDK. It carries no attributes at all
until the provider process calls ``configure``, so the blob is the same on every run and never
holds a credential; the client is built lazily from the current stack config and environment.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from pulumi_render_kv import catalog, maintenance_plan
from pulumi_render_kv.core import _convert, _day_two, _report
from pulumi_render_kv.core._config import ENV_ADOPT, ProviderConfig, adopt_ids
from pulumi_render_kv.core._holdings import Holdings, How
from pulumi_render_kv.core._report import progress as log_progress
from pulumi_render_kv.core._wait import PollPacer, wait_until_available
from pulumi_render_kv.errors import (
    CreateIncomplete,
    DeletionProtected,
    InstanceHeld,
    LookupFailed,
    NameTaken,
    PlanRejected,
    RenderCallFailed,
    WaitTimedOut,
    WorkspaceNotVisible,
)
from pulumi_render_kv.planning import (
    UNUSED_CONSENT_WARNING,
    PlannedChanges,
    on_given_input,
    plan_changes,
    suspension_warning,
    unused_consent,
    validated_only,
)
from pulumi_render_kv.spec import (
    AS_IS,
    AS_IS_PROPERTIES,
    Problem,
    allow_list_entries,
    describe_cover,
    normalize_inputs,
    open_to_everyone,
)
from pulumi_render_kv.times import canonical_time

if TYPE_CHECKING:
    # The client and the spec's models are imported in the methods that call the API: check
    # and diff need neither, and a preview's provider process pays for every import here
    # before its first check (issue 16, target 3).
    from pulumi_render_kv.client import (
        InvalidRequestError,
        KeyValueDetail,
        KeyValuePATCHInput,
        KeyValueSummary,
        RenderClient,
        ResourceLogStream,
    )
    from pulumi_render_kv.spec import KeyValueSpec, LogStreamSpec

_T = TypeVar("_T")


# Changes that leave the instance's detail and connection info as they were.
_DETAIL_UNCHANGED = frozenset({catalog.ChangeKind.LOCAL, catalog.ChangeKind.LOG_STREAM})


def _target(spec: KeyValueSpec, detail: KeyValueDetail) -> str:
    """The status an instance settles in once the spec is applied (``detail``: as it is)."""
    suspended = spec.suspended
    if suspended is None:  # AS_IS: whatever it is now
        suspended = detail.status == catalog.SUSPENDED_STATUS
    return catalog.SUSPENDED_STATUS if suspended else "available"


# Creates of one name in one workspace and region, one at a time per process: the same-name
# check before the POST must see what a parallel create of the same name just made.
_NAME_LOCKS: dict[tuple[str, str, str, str], threading.Lock] = {}
_NAME_LOCKS_GUARD = threading.Lock()
_HOLDINGS_GUARD = threading.Lock()

# One pacer per client (per API key and URL, as Render counts reads): the status polls of all
# the waits in flight share that client's read limit. None: the client has no read limit.
_PACERS: weakref.WeakKeyDictionary[RenderClient, PollPacer | None] = weakref.WeakKeyDictionary()
_PACERS_GUARD = threading.Lock()


def _poll_pacer(client: RenderClient) -> PollPacer | None:
    with _PACERS_GUARD:
        if client not in _PACERS:
            rate = client.settings.limits.get
            _PACERS[client] = (
                None if rate is None else PollPacer.for_read_limit(rate.count, rate.period)
            )
        return _PACERS[client]


@contextmanager
def _one_create_per_name(key: tuple[str, str, str, str]) -> Iterator[None]:
    with _NAME_LOCKS_GUARD:
        lock = _NAME_LOCKS.setdefault(key, threading.Lock())
    with lock:
        yield


def _age(kv: KeyValueSummary) -> str:
    created = kv.created_at.astimezone(UTC)
    minutes = max(0, int((datetime.now(UTC) - created).total_seconds() // 60))
    return f"created {created:%Y-%m-%d %H:%M} UTC, {minutes} min ago, {kv.status}"


def _check_failure(problem: Problem) -> CheckFailure:
    """The failure the engine shows as ``property <p> value <v> has a problem: <reason>``.

    The engine looks ``<v>`` up as one top-level key of the program's inputs, so a nested path
    (``ipAllowList[1].cidrBlock``, ``logStream.endpoint``) printed ``value {<nil>}``. Naming
    the top-level property instead would print its whole value, and the engine prints a
    secret inside it in plaintext (seen under the CLI: ``{&{{…}}}``), such as the log-stream
    token. So a nested problem goes on the resource, its path leading the reason, which
    quotes the one value at fault.
    """
    if "." in problem.property or "[" in problem.property:
        return CheckFailure("", f"{problem.property}: {problem.reason}")
    return CheckFailure(problem.property, problem.reason)


def _protected_message(what: str, urn: str | None) -> str:
    """Why a delete was refused and the two ways on, each a command that works as written.

    Reached only without Pulumi's protect (overridden with protect=False, or an Output for
    deletion_protection): the program may no longer declare the resource, so "set it to
    False" alone would send the user back to code they removed.
    """
    command = (
        f"`pulumi state delete '{urn}'`"
        if urn
        else "`pulumi state delete '<URN>'` (`pulumi stack --show-urns` lists the URNs)"
    )
    return (
        f"{what} was not deleted: deletion_protection=True. To keep the instance and only drop "
        f"it from this stack: {command}. To delete it: declare it again with "
        "deletion_protection=False, run `pulumi up`, then remove it (or run `pulumi destroy`)"
    )


def _engine_urn() -> str | None:
    """The URN of the resource the engine's current request is about, when there is one.

    The SDK calls ``delete(id, outputs)`` without the request, which names the URN; its
    servicer method, up the stack in this thread, holds it as ``request``. Read only, for a
    message that can give the exact command; None elsewhere (a test calling in directly).
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        urn = getattr(frame.f_locals.get("request"), "urn", None)
        if isinstance(urn, str) and urn.startswith("urn:pulumi:"):
            return urn
        frame = frame.f_back
    return None


def _same_allow_list(old: Any, new: Any) -> bool:
    """Whether two allow lists admit the same entries, whatever their order."""
    old_set = allow_list_entries(old)
    return old_set is not None and old_set == allow_list_entries(new)


def _warn(name: Any, message: str) -> None:
    # The dynamic provider's process has no engine connection: stderr, unless the face that
    # serves this request routes it (the real provider attaches it to the resource).
    _report.warn(name, message)


@dataclass(frozen=True)
class DiffPlan:
    """What ``diff`` found: the plan, and whether an update is due though no input changed."""

    planned: PlannedChanges
    # Moving the maintenance run, or recording an internal-auth switch as deployed.
    update_due: bool = False

    @property
    def changes(self) -> bool:
        return bool(self.planned.changes) or self.update_due


class KeyValueCore:
    """CRUD for Render Key Value instances, with upgrade-only plans and exact diffs.

    No face's base class: the dynamic face adds ``ResourceProvider`` and its ``configure``,
    the real provider holds one and configures it with ``use_config``.
    """

    _config: ProviderConfig

    # --- configuration ---------------------------------------------------------------------

    def _holdings(self) -> Holdings:
        # Made in the provider process on first use: the pickled blob has no attributes.
        holdings: Holdings | None = self.__dict__.get("_held")
        if holdings is None:
            with _HOLDINGS_GUARD:  # the SDK's four workers may all ask at once
                holdings = self.__dict__.setdefault("_held", Holdings())
        return holdings

    def use_config(self, config: ProviderConfig) -> None:
        """Configure from values a face read itself (the real provider's own config)."""
        self._config = config

    def _provider_config(self) -> ProviderConfig:
        # configure() is skipped when a test or a user calls the provider directly.
        return getattr(self, "_config", None) or ProviderConfig()

    def _client(self) -> RenderClient:
        from pulumi_render_kv.client import RenderClient  # noqa: PLC0415

        return RenderClient.shared(self._provider_config().settings())

    def _delete(self, action: str, fn: Callable[[], None]) -> None:
        """Run a delete; a 404 means it is gone already, and the goal is met."""
        from pulumi_render_kv.client import NotFoundError, RenderError  # noqa: PLC0415

        try:
            fn()
        except NotFoundError:
            pass
        except RenderError as err:
            raise RenderCallFailed(action, err) from err

    def _call(self, action: str, fn: Callable[[], _T]) -> _T:
        """Run an API call; Render's errors become one sentence naming the action."""
        from pulumi_render_kv.client import RenderError  # noqa: PLC0415

        try:
            return fn()
        except RenderError as err:
            raise RenderCallFailed(action, err) from err

    # --- check / diff: pure -----------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        given = _convert.user_inputs(news)
        canonical, problems = normalize_inputs(
            given, default_owner_id=self._provider_config().owner_id
        )
        olds = _convert.user_inputs(_olds)
        problems.extend(maintenance_plan.input_problems(olds, canonical, datetime.now(UTC)))
        planned: PlannedChanges | None = None
        if olds:
            planned = plan_changes(olds, validated_only(olds, canonical, problems, given))
            problems.extend(planned.rejections)
            if not planned.rejections:
                for warning in planned.warnings:
                    _warn(canonical.get("name"), warning)
        else:
            self._warn_on_create(canonical, problems)
        self._warn_if_opened(canonical, problems, olds)
        if planned is not None and not problems and unused_consent(canonical, planned):
            # check runs in every preview and up: the warning repeats until the flag is gone.
            # Not on a create: no old inputs is also the engine's second Check of a
            # replacement, which did need the consent.
            _warn(canonical.get("name"), UNUSED_CONSENT_WARNING)
        failures = [_check_failure(on_given_input(p, given)) for p in problems]
        return CheckResult(_convert.to_pulumi(canonical), failures)

    @staticmethod
    def _warn_if_opened(
        canonical: Mapping[str, Any], problems: list[Problem], olds: Mapping[str, Any]
    ) -> None:
        """Warn when the list admits a whole address family it did not admit before.

        Judged by what the entries cover together (0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0).
        On a create, or an update that opens the list; not on every preview of a list that
        was already open, which would bury the other warnings.
        """
        new_list = canonical.get("ipAllowList")
        if (olds and _same_allow_list(olds.get("ipAllowList"), new_list)) or any(
            p.property.startswith("ipAllowList") for p in problems
        ):
            return  # unchanged (most previews: no parsing), or check reports it
        was_open = {whole for whole, _ in open_to_everyone(olds.get("ipAllowList"))}
        for whole, entries in open_to_everyone(new_list):
            if whole in was_open:
                continue
            opened = f" ({whole})" if entries == (whole,) else f": {describe_cover(whole, entries)}"
            _warn(canonical.get("name"), f"ipAllowList admits the whole internet{opened}")

    @staticmethod
    def _warn_on_create(canonical: Mapping[str, Any], problems: list[Problem]) -> None:
        name = canonical.get("name")
        if canonical.get("suspended") is True:
            _warn(name, suspension_warning(name, canonical))

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        plan = self.plan_diff(_id, _olds, _news)
        planned = plan.planned
        return DiffResult(
            changes=plan.changes,
            replaces=planned.replaces,
            stables=[p for p in catalog.CHANGE_RULES if p not in planned.changed],
            delete_before_replace=planned.delete_before_replace,
        )

    def plan_diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffPlan:
        """The plan ``diff`` reports (both faces show it), with its warnings said."""
        old_inputs, new_inputs = _convert.user_inputs(olds), _convert.user_inputs(news)
        planned = plan_changes(old_inputs, new_inputs)
        # check() compares with the old *inputs*; a workspace resolved at create time is only
        # in the outputs, so a replacement can first show here. Refuse it the same way. The
        # maintenance run (its pendingMaintenanceBy) is only in the outputs too.
        maintenance = maintenance_plan.plan_maintenance(old_inputs, new_inputs, datetime.now(UTC))
        refused = [p for p in planned.rejections if p.property in catalog.REPLACING_PROPERTIES]
        refused += maintenance.rejections
        if refused:
            raise PlanRejected("; ".join(str(p) for p in refused))
        name = new_inputs.get("name") or old_inputs.get("name")
        for warning in maintenance.warnings:
            _warn(name, warning)
        auth_warning = _day_two.internal_auth_warning(old_inputs)
        if auth_warning:
            _warn(name, auth_warning)
        if not planned.replaces:
            self._declare(id_, name)
        # An update records the internal-auth switch as deployed (it calls nothing), so the
        # warning is said until the next `up`, and not after it.
        return DiffPlan(planned, update_due=maintenance.move_to is not None or bool(auth_warning))

    # --- create / read / update / delete ---------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_render_kv.spec import KeyValueSpec  # noqa: PLC0415

        inputs = _convert.user_inputs(props)
        spec = KeyValueSpec.from_inputs(inputs)
        client = self._client()
        owner_id = spec.owner_id or self._call("resolve the workspace", client.resolve_owner_id)
        what = f"Key Value {spec.name!r}"
        key = (client.settings.base_url, owner_id, spec.region, spec.name)
        with _one_create_per_name(key):
            named = self._call(
                f"look up Key Value {spec.name!r}",
                lambda: client.list_key_value_named(
                    spec.name, owner_id=owner_id, region=spec.region
                ),
            )
            adopted = self._choose_adoption(client, spec, owner_id, named)
            if adopted is None:
                detail = self._post(client, spec, owner_id, what, existing=named)
                self._holdings().hold(detail.id, spec.name, How.CREATED)
                log_progress(f"{what}: created {detail.id}")
        if adopted is not None:
            log_progress(f"{what}: adopting existing instance {adopted.id}")
            live = _convert.live_inputs(adopted, inputs, self._read_log_stream(client, adopted.id))
            detail = (
                self._reconcile(
                    client, adopted.id, plan_changes(live, inputs), spec, fallback=adopted
                )
                or adopted
            )
        try:
            if adopted is None and spec.log_stream is not None:
                self._set_log_stream(client, detail.id, spec.log_stream)
            if adopted is None and spec.suspended:
                # A new instance is suspended once it is up (Render suspends running ones).
                self._wait(client, detail.id, spec, what)
                detail = self._suspend(client, detail.id, spec, what)
            else:
                detail = self._wait(client, detail.id, spec, what, target=_target(spec, detail))
            outs = _convert.deployed(self._outputs(client, {**inputs, "ownerId": owner_id}, detail))
        except Exception as err:
            # A failed create leaves nothing in Pulumi's state, yet the instance exists: say
            # how to take it over, or the next `pulumi up` would create a second one.
            how = (
                "run `pulumi up` again: adopt_existing=True takes it over again"
                if spec.adopt_existing
                else f"take it over with `{ENV_ADOPT}={detail.id} pulumi up` (or set "
                "adopt_existing=True), or delete it in the Dashboard"
            )
            raise CreateIncomplete(
                f"{str(err).rstrip('.')}. {detail.id} exists but is not in Pulumi's state: {how}",
                instance_id=detail.id,
                # What a face that can record a partial create stores (finish_create ends it).
                outputs={**inputs, "ownerId": owner_id, "status": detail.status},
            ) from err
        self._warn_if_maintenance_soon(spec.name, outs)
        return CreateResult(detail.id, outs)

    def finish_create(self, id_: str, props: dict[str, Any]) -> dict[str, Any]:
        """The outputs of an instance recorded before its create finished: wait, then read.

        Only the real provider records such a create (the engine's partial-failure answer);
        the next ``up`` sends it an Update, which ends the create here first.
        """
        inputs = _convert.user_inputs(props)
        from pulumi_render_kv.spec import KeyValueSpec  # noqa: PLC0415

        spec = KeyValueSpec.from_inputs(inputs)
        client = self._client()
        what = f"Key Value {spec.name!r}"
        detail = self._call(f"read {what}", lambda: client.retrieve_key_value(id_))
        if not (spec.suspended and detail.status == catalog.SUSPENDED_STATUS):
            detail = self._wait(client, id_, spec, what)
            if spec.suspended:  # the create suspends once it is up, as create() does
                detail = self._suspend(client, id_, spec, what)
        computed = {k: v for k, v in inputs.items() if k not in _convert.COMPUTED_OUTPUTS}
        return self._outputs(client, {**computed, "ownerId": detail.owner.id}, detail)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = self._client()
        prior = _convert.user_inputs(props)
        detail = self._read_or_confirm_gone(client, id_, prior)
        if detail is None:
            # Deleted outside Pulumi: an empty id drops the resource from state.
            return ReadResult(id_="", outs={})
        live = _convert.live_inputs(
            detail,
            prior,
            self._read_log_stream(client, id_),
            recorded_log_stream=prior.get("logStream"),
        )
        for prop in AS_IS_PROPERTIES:
            if prior.get(prop) == AS_IS:
                live[prop] = AS_IS  # not managed: whatever Render has is no drift
        outs = _day_two.refreshed(prior, self._outputs(client, live, detail))
        self._warn_if_maintenance_soon(detail.name, outs)
        moved = [k for k in _convert.ENDPOINT_OUTPUTS if k in prior and prior[k] != outs.get(k)]
        if moved:
            # `pulumi refresh --diff` compares inputs, so this change would otherwise go unsaid.
            log_progress(
                f"Key Value {detail.name!r} ({id_}): {', '.join(moved)} changed; refresh "
                "recorded the new values, and stack outputs that export them change at the "
                "next `pulumi up`"
            )
        if not self._provider_config().owner_id:
            # check() puts ownerId into the inputs only from stack config: a workspace the
            # key resolved is an output. Refreshed inputs that held it would show as a
            # `- ownerId` diff in the next preview. (The SDK gives read no old inputs, so an
            # owner_id written in the program is also left out; it cannot change anyway.)
            live.pop("ownerId", None)
        return ReadResult(id_, outs, live)

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        from pulumi_render_kv.spec import KeyValueSpec  # noqa: PLC0415

        olds, news = _convert.user_inputs(_olds), _convert.user_inputs(_news)
        self._holdings().hold(_id, str(news.get("name")), How.DECLARED)
        planned = plan_changes(olds, news)
        if all(c.kind in _DETAIL_UNCHANGED for c in planned.changes):
            # Provider-only settings, or the log-stream override (its own endpoint): the
            # instance and its connection info stay as they are, so no read. Outputs are the
            # new inputs plus what Render computed; an input dropped from the program must
            # not linger.
            if planned.log_stream is not None:
                spec = KeyValueSpec.from_inputs(news)
                self._set_log_stream(self._client(), _id, spec.log_stream)
            computed = {k: olds[k] for k in _convert.COMPUTED_OUTPUTS if k in olds}
            return UpdateResult(self._move_maintenance(_id, olds, {**news, **computed}))
        client = self._client()
        spec = KeyValueSpec.from_inputs(news)
        detail = self._reconcile(client, _id, planned, spec)
        if planned.restarts and not planned.suspends:  # a suspension waited for it already
            try:
                detail = self._wait(client, _id, spec, f"Key Value {spec.name!r}")
            except WaitTimedOut as err:
                raise WaitTimedOut(
                    f"{str(err).rstrip('.')}. The change was sent; once it is available, "
                    "`pulumi refresh` records it (or raise wait_timeout)"
                ) from None
        outs = self._updated_outputs(client, _id, olds, news, planned=planned, detail=detail)
        return UpdateResult(self._move_maintenance(_id, olds, outs))

    def _move_maintenance(
        self, id_: str, olds: Mapping[str, Any], outs: dict[str, Any]
    ) -> dict[str, Any]:
        """Move the pending maintenance run when ``maintenanceScheduledAt`` asks it; the outputs.

        Judged from the old outputs' run, as diff judged it (no read first). After the PATCH
        the run is read back, so the state shows Render's time; ``maintenanceMoved`` records
        the move, so a run Render has not moved yet is not patched again.
        """
        planned = maintenance_plan.plan_maintenance(olds, outs, datetime.now(UTC))
        if planned.rejections:  # diff refuses these first; this guards direct callers
            raise PlanRejected("; ".join(str(p) for p in planned.rejections))
        if planned.move_to is None or planned.run_id is None:
            return _convert.deployed(outs)
        run_id, move_to = planned.run_id, planned.move_to
        client = self._client()
        self._call(
            f"move maintenance {run_id} of Key Value {id_}",
            lambda: client.update_maintenance(run_id, move_to),
        )
        run = self._call(f"read maintenance {run_id}", lambda: client.retrieve_maintenance(run_id))
        log_progress(
            f"Key Value {outs.get('name')!r} ({id_}): maintenance {run_id} moved to "
            f"{maintenance_plan.shown(move_to)}"
        )
        outs[maintenance_plan.OUTPUT] = maintenance_plan.output(
            run.id, run.type, run.state, run.scheduled_at, run.pending_maintenance_by
        )
        outs[maintenance_plan.MOVED] = {
            "id": run_id,
            "scheduledAt": canonical_time(move_to),
        }
        return _convert.deployed(outs)

    @staticmethod
    def _warn_if_maintenance_soon(name: Any, outs: Mapping[str, Any]) -> None:
        run = maintenance_plan.Run.from_output(outs.get(maintenance_plan.OUTPUT))
        warning = None if run is None else maintenance_plan.soon_warning(run, datetime.now(UTC))
        if warning:
            _warn(name, warning)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        props = _convert.user_inputs(_props)
        holder = self._holdings().holder(_id)
        if holder is not None:
            # Only Pulumi's record goes: a renamed resource (or a second one) still holds the
            # instance, and deleting it would delete that resource's data.
            log_progress(
                f"Key Value {props.get('name')!r} ({_id}) leaves this stack's state but is not "
                f"deleted: {holder.describe()}"
            )
            return
        what = f"Key Value {props.get('name')!r} ({_id})"
        if props.get("deletionProtection") is True:
            if props.get("pulumiProtect") is not True:
                raise DeletionProtected(_protected_message(what, _engine_urn()))
            # KeyValue registered it with Pulumi's protect, and the engine sends no Delete for
            # a protected resource: protect was taken off in the state (the engine's own way
            # out, `pulumi state unprotect`), which is the user's consent to delete.
            log_progress(
                f"{what}: deletion_protection=True, but Pulumi's protect was removed from the "
                "state (`pulumi state unprotect`): deleting it"
            )
        client = self._client()
        self._delete(f"delete Key Value {_id}", lambda: client.delete_key_value(_id))

    # --- helpers ---------------------------------------------------------------------------

    def _read_or_confirm_gone(
        self, client: RenderClient, id_: str, prior: Mapping[str, Any]
    ) -> KeyValueDetail | None:
        """The live instance, or None once its disappearance is confirmed.

        Render answers 404 for a deleted instance and for one this key may not see. Dropping
        on the first 404 would let a wrong or rotated key orphan every instance (and the next
        `pulumi up` create them again), so read once more, and check that the key sees the
        instance's workspace at all.
        """
        from pulumi_render_kv.client import NotFoundError, RenderError  # noqa: PLC0415

        for _ in range(2):
            try:
                return client.retrieve_key_value(id_)
            except NotFoundError:
                continue
            except RenderError as err:
                raise RenderCallFailed(f"read Key Value {id_}", err) from err
        owner = prior.get("ownerId")
        if not isinstance(owner, str) or not owner:
            return None  # state from before ownerId was recorded: nothing to check against
        owners = self._call("list the workspaces the API key can see", client.list_owners)
        if owner not in {o.id for o in owners}:
            visible = ", ".join(o.id for o in owners) or "none"
            raise WorkspaceNotVisible(
                f"Key Value {prior.get('name')!r} ({id_}) was not found, and the Render API key "
                f"cannot see workspace {owner} at all (it sees: {visible}). The key is probably "
                "wrong or was rotated to another account; the instance is kept in state. Set "
                "the right key (render:apiKey or RENDER_API_KEY) and refresh again"
            )
        return None

    def _post(
        self,
        client: RenderClient,
        spec: KeyValueSpec,
        owner_id: str,
        what: str,
        *,
        existing: Sequence[KeyValueSummary],
    ) -> KeyValueDetail:
        """POST the instance; a create the client could not resolve is handed to the user."""
        from pulumi_render_kv.client import (  # noqa: PLC0415
            AmbiguousCreateError,
            InvalidRequestError,
            RenderError,
        )

        body = _convert.create_body(spec, owner_id)
        try:
            # wait_timeout bounds the create too, the lookup after an uncertain POST included.
            return client.create_key_value(
                body,
                timeout=spec.wait_timeout,
                existing=[kv.id for kv in existing],
                take_over=spec.adopt_existing,
            )
        except AmbiguousCreateError as err:
            how = ""
            if err.candidate_ids:
                ids = ",".join(err.candidate_ids)
                how = (
                    f" If no other stack or person creates instances named {spec.name!r} in this "
                    f"workspace, it is this stack's: take it over with `{ENV_ADOPT}={ids} "
                    "pulumi up`; otherwise give this resource another name"
                )
            raise CreateIncomplete(
                f"Could not create {what}: {str(err).rstrip('.')}.{how}",
                candidate_ids=err.candidate_ids,
            ) from err
        except InvalidRequestError as err:
            if spec.plan == catalog.Plan.FREE.value:
                self._explain_second_free(client, owner_id, what, err)
            raise RenderCallFailed(f"create {what}", err) from err
        except RenderError as err:
            raise RenderCallFailed(f"create {what}", err) from err

    def _explain_second_free(
        self, client: RenderClient, owner_id: str, what: str, err: InvalidRequestError
    ) -> None:
        """A refused free create, with a free instance already there: say why and the way out.

        A renamed resource is the usual cause: without an alias, Pulumi creates the new
        resource before it deletes the old one, and the check that could catch it at preview
        would need an API call (check makes none).
        """
        from pulumi_render_kv.client import RenderError  # noqa: PLC0415

        try:
            free = [
                kv
                for kv in client.list_key_value(owner_id=owner_id)
                if kv.plan == catalog.Plan.FREE.value
            ]
        except RenderError:
            return  # Render's own message stands
        if not free:
            return
        existing = ", ".join(f"{kv.name!r} ({kv.id})" for kv in free)
        raise PlanRejected(
            f"Could not create {what}: Render allows one free Key Value instance per workspace, "
            f"and workspace {owner_id} has {existing}. If you renamed this resource in the "
            "program, Pulumi creates the new one before deleting the old: add "
            'opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="<old resource name>")]) '
            "so it keeps the existing instance, or remove the old one in a separate `pulumi up` "
            f"first. Render said: {err.message.rstrip('.')} (request id {err.request_id})"
        ) from err

    def _choose_adoption(
        self,
        client: RenderClient,
        spec: KeyValueSpec,
        owner_id: str,
        named: Sequence[KeyValueSummary],
    ) -> KeyValueDetail | None:
        """The instance this create takes over, or None to create one.

        ``named`` are the instances already called ``spec.name`` in the workspace and region.
        One named in ``RENDER_KV_ADOPT`` is taken over, as is the only one with
        ``adopt_existing=True``; otherwise any of them stops the create, unless the program
        asks for a same-named twin with ``allow_duplicate_name=True``.
        """
        where = f"in workspace {owner_id} ({spec.region})"
        listing = "; ".join(f"{kv.id} ({_age(kv)})" for kv in named)
        chosen = [kv for kv in named if kv.id in adopt_ids()]
        if len(chosen) > 1:
            raise LookupFailed(
                f"{ENV_ADOPT} names {len(chosen)} instances called {spec.name!r} {where} "
                f"({', '.join(kv.id for kv in chosen)}): name only the one this resource takes"
            )
        if not chosen and spec.adopt_existing:
            if len(named) > 1:
                raise LookupFailed(
                    f"adopt_existing found {len(named)} Key Value instances named {spec.name!r} "
                    f"{where}: {listing}. Take one over with `{ENV_ADOPT}=<id> pulumi up`, or "
                    "rename all but one"
                )
            chosen = list(named)
        if chosen:
            held = self._holdings().hold(chosen[0].id, spec.name, How.ADOPTED)
            if held is not None:
                raise InstanceHeld(
                    f"Key Value {spec.name!r} ({chosen[0].id}) cannot be adopted: "
                    f"{held.describe()}, and two resources must not manage one instance (the "
                    "second one's delete would delete the first one's data). Remove one of "
                    "them from the program, or give one another name"
                )
            return self._call(
                f"read Key Value {chosen[0].id}", lambda: client.retrieve_key_value(chosen[0].id)
            )
        if named and not spec.allow_duplicate_name:
            ids = ",".join(kv.id for kv in named)
            there = (
                "an instance with that name already exists"
                if len(named) == 1
                else (f"{len(named)} instances with that name already exist")
            )
            raise NameTaken(
                f"Could not create Key Value {spec.name!r}: {there} "
                f"{where} that this stack's state does not hold: {listing}. Nothing was "
                "created. If an interrupted `pulumi up` of this stack created it, take it "
                f"over: `{ENV_ADOPT}={ids} pulumi up`. If you renamed this resource, add "
                'opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="<old resource '
                'name>")]) instead. If another stack or resource uses it, give this one another '
                "name (prefix it with the stack name, say); to create a second instance with "
                "the same name anyway, set allow_duplicate_name=True",
                existing_ids=tuple(kv.id for kv in named),
            )
        return None

    def _declare(self, instance_id: str, name: Any) -> None:
        """A resource the program declares holds ``instance_id``; refuse a second holder."""
        held = self._holdings().hold(instance_id, str(name), How.DECLARED)
        if held is not None and held.how is How.ADOPTED:
            raise InstanceHeld(
                f"Key Value {name!r} ({instance_id}) is in this stack's state, and "
                f"{held.describe()} as well: two resources must not manage one instance. "
                "Remove one of them from the program (the instance is kept while the other "
                "holds it)"
            )

    def _reconcile(
        self,
        client: RenderClient,
        id_: str,
        planned: PlannedChanges,
        spec: KeyValueSpec,
        *,
        fallback: KeyValueDetail | None = None,
    ) -> KeyValueDetail | None:
        """Apply planned changes; the detail the last answer or read gave (else ``fallback``).

        Order: resume (and wait) → one PATCH → environment move → log-stream override →
        suspend (after any restart the PATCH started), so that no call reaches Render while
        it would refuse it.

        ``fallback`` is the instance as last read. None comes back only when no call answered
        with the detail (an environment move alone): the move's request determined the one
        thing it changes, ``environmentId``, which is an input, so nothing is read back. The
        outputs use no other field of the detail that a move could change.
        """
        from pulumi_render_kv.client import KeyValuePATCHInput  # noqa: PLC0415

        if planned.rejections:  # check refuses these first; this guards adoption and callers
            raise PlanRejected("; ".join(str(p) for p in planned.rejections))
        what = f"Key Value {id_}"
        # The waits add the id to what they are given: `Key Value 'cache' (red-…)`, where
        # `Key Value red-… (red-…)` named it twice.
        named = f"Key Value {spec.name!r}"
        detail = fallback
        if planned.resumes:
            # First: Render refuses every PATCH to a suspended instance.
            detail = self._resume(client, id_, spec, named)
        if planned.patch:
            detail = self._patch(client, id_, KeyValuePATCHInput.model_validate(planned.patch))
        if planned.environment_move is not None:
            old_env, new_env = planned.environment_move
            if old_env:
                self._call(
                    f"move {what} out of {old_env}",
                    lambda: client.remove_resources_from_environment(old_env, [id_]),
                )
            if new_env:
                self._call(
                    f"move {what} into {new_env}",
                    lambda: client.add_resources_to_environment(new_env, [id_]),
                )
        if planned.log_stream is not None:
            self._set_log_stream(client, id_, spec.log_stream)
        if planned.suspends:
            if planned.restarts:
                self._wait(client, id_, spec, named)  # let the restart finish, then stop it
            detail = self._suspend(client, id_, spec, named)
        return detail

    def _patch(self, client: RenderClient, id_: str, body: KeyValuePATCHInput) -> KeyValueDetail:
        from pulumi_render_kv.client import ConflictError, RenderError  # noqa: PLC0415

        what = f"Key Value {id_}"
        try:
            return client.update_key_value(id_, body)
        except ConflictError as err:
            status = self._call(f"read {what}", lambda: client.retrieve_key_value(id_)).status
            if status != catalog.SUSPENDED_STATUS:
                raise RenderCallFailed(f"update {what}", err) from err
            raise PlanRejected(
                f"Could not change {what}: it was suspended outside Pulumi (in the Dashboard?), "
                "and Render refuses changes to a suspended instance. Run `pulumi refresh` to "
                "record the suspension; then `pulumi up` with suspended=False resumes it and "
                "applies the change, or set suspended=True to keep it suspended and leave the "
                f"change for later. Render said: {err.message.rstrip('.')}"
            ) from err
        except RenderError as err:
            raise RenderCallFailed(f"update {what}", err) from err

    def _read_log_stream(self, client: RenderClient, id_: str) -> ResourceLogStream | None:
        return self._call(
            f"read the log-stream override of Key Value {id_}",
            lambda: client.get_resource_log_stream(id_),
        )

    def _set_log_stream(
        self, client: RenderClient, id_: str, log_stream: LogStreamSpec | None
    ) -> None:
        """Put the override, or delete it: ``None`` is the workspace's default stream."""
        what = f"the log-stream override of Key Value {id_}"
        if log_stream is not None:
            body = _convert.log_stream_body(log_stream)
            self._call(f"set {what}", lambda: client.update_resource_log_stream(id_, body))
            return
        self._delete(f"delete {what}", lambda: client.delete_resource_log_stream(id_))

    def _suspend(
        self, client: RenderClient, id_: str, spec: KeyValueSpec, what: str
    ) -> KeyValueDetail:
        self._call(f"suspend {what} ({id_})", lambda: client.suspend_key_value(id_))
        log_progress(f"{what}: suspended; it refuses connections until resumed")
        return self._wait(client, id_, spec, what, target=catalog.SUSPENDED_STATUS)

    def _resume(
        self, client: RenderClient, id_: str, spec: KeyValueSpec, what: str
    ) -> KeyValueDetail:
        self._call(f"resume {what} ({id_})", lambda: client.resume_key_value(id_))
        log_progress(f"{what}: resuming")
        # Render's resume is asynchronous: reads may say `suspended` for a while after the 202.
        return self._wait(
            client, id_, spec, what, transitional=frozenset({catalog.SUSPENDED_STATUS})
        )

    def _wait(
        self,
        client: RenderClient,
        id_: str,
        spec: KeyValueSpec,
        what: str,
        *,
        target: str = "available",
        transitional: frozenset[str] = frozenset(),
    ) -> KeyValueDetail:
        return self._call(
            f"wait for {what} ({id_})",
            lambda: wait_until_available(
                lambda left: client.retrieve_key_value(id_, timeout=left),
                timeout=spec.wait_timeout,
                what=f"{what} ({id_})",
                dashboard=catalog.DASHBOARD_URL.format(id=id_),
                progress=log_progress,
                target=target,
                transitional=transitional,
                pacer=_poll_pacer(client),
            ),
        )

    def _updated_outputs(
        self,
        client: RenderClient,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        planned: PlannedChanges,
        detail: KeyValueDetail | None,
    ) -> dict[str, Any]:
        """The outputs after an update: the new inputs, plus what Render computed.

        Render's part is read only where the update could have changed it and no answer
        already said it. ``detail`` (the PATCH's answer, or a wait's last read) gives the
        status and version; without one (an environment move alone) they are as before.

        The connection strings are carried over unless the change can move the server.
        They are named by what an update cannot change: the instance id (internal
        ``redis://red-…:6379``, and the external user), its region (the external host,
        ``<region>-keyvalue.render.com``) and its password. A rename, an allow list (which
        admits addresses, it does not move the endpoint), a move between environments (a
        project grouping), a policy or persistence restart and a paid plan upgrade (data
        kept: the same instance restarted) change none of these, and a suspension stops the
        server where it is. Two changes may bring it back elsewhere, so they read again:
        a resume (the server starts anew: the emulator's takes new ports when its old ones
        were taken, and Render does not say it keeps them) and leaving the free plan (all
        data is lost: a new server, in effect; Render does not say its endpoints stay).
        State without the outputs (written before one existed) is read too.
        """
        carried = {k: olds[k] for k in _convert.COMPUTED_OUTPUTS if k in olds}
        what = f"Key Value {id_}"
        if detail is None and any(k not in olds for k in _convert.DETAIL_OUTPUTS):
            detail = self._call(f"read {what}", lambda: client.retrieve_key_value(id_))
        outs = {**news, **carried}
        if detail is not None:
            outs.update(_convert.detail_outputs(detail))
        leaves_free = any(
            c.property == "plan" and c.old == catalog.Plan.FREE.value for c in planned.changes
        )
        if planned.resumes or leaves_free or any(k not in olds for k in _convert.ENDPOINT_OUTPUTS):
            connection = self._call(
                f"read the connection info of {id_}",
                lambda: client.retrieve_key_value_connection_info(id_),
            )
            outs.update(_convert.connection_outputs(connection))
        return outs

    def _outputs(
        self, client: RenderClient, inputs: Mapping[str, Any], detail: KeyValueDetail
    ) -> dict[str, Any]:
        connection = self._call(
            f"read the connection info of {detail.id}",
            lambda: client.retrieve_key_value_connection_info(detail.id),
        )
        return _convert.outputs(inputs, detail, connection)
