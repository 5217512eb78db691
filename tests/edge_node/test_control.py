from __future__ import annotations

import asyncio
import threading

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text

from edge_node.control import Control, ControlService, ResumeRefused, TradingState, Transition
from shared import control_flags as flags
from shared.config import ControlConfig
from shared.db.engine import create_engine, migrate
from tests.support.waiting import WITHIN_S, eventually_async


def test_the_state_machine() -> None:
    seen: list[Transition] = []
    c = Control()
    c.listeners.append(seen.append)

    def state() -> TradingState:  # read fresh each time (no narrowing across transitions)
        return c.state

    assert c.can_trade
    assert c.pause("op", "look") is not None
    assert state() is TradingState.PAUSED
    assert c.pause("op", "again") is None  # no transition, no event
    assert c.emergency_stop("op", "fire") is not None
    assert c.pause("risk", "failures") is None  # a stop is not downgraded to a pause
    assert state() is TradingState.STOPPED
    assert c.resume("op", "fixed") is not None
    assert [t.state for t in seen] == ["paused", "stopped", "running"]
    assert seen[1].previous is TradingState.PAUSED


@pytest.fixture
def engine(db_url: str):
    e = create_engine(db_url)
    migrate(e)
    yield e
    e.dispose()


async def test_the_database_flag_stops_the_node_as_the_manual_says(engine) -> None:
    control = Control()
    service = ControlService(control, engine, ControlConfig(poll_interval_s=0.05))
    await service.poll_once()
    assert control.can_trade
    # Exactly what the operations manual tells an operator to run:
    with engine.begin() as conn:
        conn.execute(text("UPDATE system_config SET value='true' WHERE key='emergency_stop'"))
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await eventually_async(lambda: control.state is TradingState.STOPPED, what="the stop")
    stop.set()
    await task
    assert control.state is TradingState.STOPPED
    assert control.actor.startswith("database flag")


async def test_resume_clears_the_flags_and_needs_an_operator(engine) -> None:
    control = Control()
    service = ControlService(control, engine, ControlConfig())
    await service.emergency_stop("cli", "test")
    assert flags.read_db_flags(engine).emergency_stop
    await service.poll_once()  # the flag keeps it stopped...
    assert control.state is TradingState.STOPPED
    await service.resume("cli", "done")
    assert control.can_trade
    assert not flags.read_db_flags(engine).emergency_stop
    await service.poll_once()  # ...and once cleared, it does not come back
    assert control.can_trade


async def test_a_stopped_node_starts_stopped(engine) -> None:
    flags.write_db_flag(engine, flags.EMERGENCY_STOP, True, "runbook", "incident")
    control = Control()
    await ControlService(control, engine, ControlConfig()).load()
    assert control.state is TradingState.STOPPED
    assert "runbook" in control.actor


async def _rounds_until(service: ControlService, state: TradingState) -> None:
    """The poller's rounds until the control is in ``state`` (a read slower than a round is
    used by a later round: on a loaded machine moto can take longer than one)."""

    async def reached() -> bool:
        await service.poll_once()
        return service.control.state is state

    deadline = asyncio.get_running_loop().time() + WITHIN_S
    while not await reached():
        assert asyncio.get_running_loop().time() < deadline, f"not {state.value} in time"


@pytest.fixture
def ssm():
    with mock_aws():
        yield boto3.client("ssm", region_name="ap-southeast-1")


async def test_the_remote_flag(sqlite_url: str, ssm) -> None:
    engine = create_engine(sqlite_url)
    migrate(engine)
    cfg = ControlConfig(ssm_parameter="/edge/bsc/emergency-stop", aws_region="ap-southeast-1")
    control = Control()
    service = ControlService(control, engine, cfg, ssm)
    await service.poll_once()  # no parameter yet: not a stop
    assert control.can_trade
    ssm.put_parameter(Name=cfg.ssm_parameter, Value="true", Type="String")  # a runbook
    await _rounds_until(service, TradingState.STOPPED)
    assert control.actor == "remote flag"
    await service.resume("op", "ok")
    assert ssm.get_parameter(Name=cfg.ssm_parameter)["Parameter"]["Value"] == "false"
    assert control.can_trade
    engine.dispose()


async def test_the_remote_flag_can_ask_for_a_pause(sqlite_url: str, ssm) -> None:
    """A runbook that cannot reach the API pauses through the remote flag: "pause" pauses the
    node (pending transactions carry on), at start-up too, and never weakens a stop."""
    engine = create_engine(sqlite_url)
    migrate(engine)
    name = "/edge/bsc/emergency-stop"
    cfg = ControlConfig(ssm_parameter=name, aws_region="ap-southeast-1")
    control = Control()
    service = ControlService(control, engine, cfg, ssm)
    assert flags.pause_ssm(ssm, name) is flags.RemoteState.PAUSE
    await _rounds_until(service, TradingState.PAUSED)
    assert control.actor == "remote flag"
    restarted = Control()
    await ControlService(restarted, engine, cfg, ssm).load()
    assert restarted.state is TradingState.PAUSED
    flags.write_ssm_flag(ssm, name, True)
    # a pause asked after a stop leaves the stop in place
    assert flags.pause_ssm(ssm, name) is flags.RemoteState.STOP
    assert ssm.get_parameter(Name=cfg.ssm_parameter)["Parameter"]["Value"] == "true"
    await service.resume("op", "ok")
    assert control.can_trade
    engine.dispose()


async def test_resume_is_refused_if_a_flag_cannot_be_cleared(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    migrate(engine)

    class BrokenSsm:
        def put_parameter(self, **_: object) -> None:
            raise ConnectionError("no route to SSM")

    cfg = ControlConfig(ssm_parameter="/x", aws_region="ap-southeast-1")
    control = Control(TradingState.STOPPED)
    with pytest.raises(ResumeRefused, match="no route to SSM"):
        await ControlService(control, engine, cfg, BrokenSsm()).resume("op", "try")
    assert control.state is TradingState.STOPPED
    engine.dispose()


class _Ssm:
    """An SSM client whose reads fail, or hang until the test releases them."""

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.release = threading.Event()
        self.reads = 0

    def get_parameter(self, **_: object) -> dict[str, object]:
        self.reads += 1
        if self.hang:
            self.release.wait(WITHIN_S)
            return {"Parameter": {"Value": "false"}}
        raise ConnectionError("could not connect to the SSM endpoint")


@pytest.mark.parametrize("hang", [False, True])
async def test_an_unreadable_remote_flag_never_hides_the_database_flag(
    sqlite_url: str, hang: bool
) -> None:
    engine = create_engine(sqlite_url)
    migrate(engine)
    cfg = ControlConfig(ssm_parameter="/x", aws_region="ap-southeast-1", poll_interval_s=0.2)
    control = Control()
    ssm = _Ssm(hang)
    service = ControlService(control, engine, cfg, ssm)
    flags.write_db_flag(engine, flags.EMERGENCY_STOP, True, "dba", "UPDATE system_config")
    try:
        # A hung read is not waited out: the rounds end while it still hangs.
        await service.poll_once()
        assert control.state is TradingState.STOPPED
        assert service.last_poll_error is not None and "SSM" in service.last_poll_error
        await service.poll_once()
        assert ssm.reads == (1 if hang else 2)  # a hanging read is never piled up
    finally:
        ssm.release.set()
        engine.dispose()


# --- a resume wins over flag reads that started before it ---------------------------------------


def state_of(control: Control) -> TradingState:
    return control.state  # read fresh each time (no narrowing across transitions)


def poll_error(service: ControlService) -> str | None:
    return service.last_poll_error  # read fresh each time (no narrowing across rounds)


async def test_a_database_read_from_before_a_resume_does_not_stop_the_node_again(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    engine = create_engine(sqlite_url)
    migrate(engine)
    control = Control()
    service = ControlService(control, engine, ControlConfig())
    await service.emergency_stop("op", "incident")
    real_read = flags.read_db_flags
    has_read, release = threading.Event(), threading.Event()

    def slow_read(e: object) -> flags.Flags:
        value = real_read(e)  # type: ignore[arg-type]
        has_read.set()
        release.wait(10)  # the answer arrives after the resume
        return value

    monkeypatch.setattr(flags, "read_db_flags", slow_read)
    poll = asyncio.create_task(service.poll_once())
    assert await asyncio.to_thread(has_read.wait, 10)
    monkeypatch.setattr(flags, "read_db_flags", real_read)
    await service.resume("op", "fixed")
    release.set()
    await poll
    assert state_of(control) is TradingState.RUNNING
    # Reads that start after the resume still act: a stop set afterwards stops.
    flags.write_db_flag(engine, flags.EMERGENCY_STOP, True, "dba", "again")
    await service.poll_once()
    assert state_of(control) is TradingState.STOPPED
    engine.dispose()


async def test_a_remote_read_from_before_a_resume_is_not_used_by_a_later_round(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    engine = create_engine(sqlite_url)
    migrate(engine)
    release = threading.Event()

    class SlowSsm:
        """Answers the first read ("set") only when released; later reads at once."""

        def __init__(self) -> None:
            self.value = "true"
            self.reads = 0

        def get_parameter(self, **_: object) -> dict[str, object]:
            self.reads += 1
            if self.reads == 1:
                release.wait(10)
                return {"Parameter": {"Value": "true"}}
            return {"Parameter": {"Value": self.value}}

        def put_parameter(self, Value: str, **_: object) -> None:
            self.value = Value

    ssm = SlowSsm()
    cfg = ControlConfig(ssm_parameter="/x", aws_region="ap-southeast-1", poll_interval_s=0.2)
    control = Control(TradingState.STOPPED)
    service = ControlService(control, engine, cfg, ssm)
    await service.poll_once()  # the read hangs past the round: carried to the next round
    assert service.last_poll_error is not None
    await service.resume("op", "fixed")
    assert state_of(control) is TradingState.RUNNING
    # The next round takes over the read still in flight; it answers "set" (read before the
    # resume) once this round waits for it, just after this round's database read.
    loop = asyncio.get_running_loop()
    real_read = flags.read_db_flags

    def db_read_then_release(e: object) -> flags.Flags:
        value = real_read(e)  # type: ignore[arg-type]
        loop.call_soon_threadsafe(loop.call_later, 0.05, release.set)
        return value

    monkeypatch.setattr(flags, "read_db_flags", db_read_then_release)
    # A round long enough for the released read to answer in it on a loaded machine.
    service.cfg = cfg.model_copy(update={"poll_interval_s": 5.0})
    await service.poll_once()  # this round started after the resume, but the read did not
    assert release.is_set()
    assert poll_error(service) is None  # the read answered in this round...
    assert state_of(control) is TradingState.RUNNING  # ...and its "set" was not used
    monkeypatch.setattr(flags, "read_db_flags", real_read)
    await service.poll_once()  # a fresh read: the flag the resume cleared
    assert state_of(control) is TradingState.RUNNING
    engine.dispose()
