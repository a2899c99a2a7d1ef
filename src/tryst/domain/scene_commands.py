"""Commands about scenes, logs and franked messages, as every door produces them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ProposeScene:
    persona_ids: tuple[str, ...]
    title: str
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    choices: Mapping[str, bool] | None = None  # the proposer's own grants (default: all)
    minutes: int | None = None


@dataclass(frozen=True, slots=True)
class AcceptScene:
    scene_id: str
    choices: Mapping[str, bool] = field(default_factory=dict)
    minutes: int | None = None
    version: int | None = None  # the card version read; refused if it has changed


@dataclass(frozen=True, slots=True)
class DeclineScene:
    scene_id: str


@dataclass(frozen=True, slots=True)
class CounterScene:
    scene_id: str
    title: str
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    choices: Mapping[str, bool] | None = None
    minutes: int | None = None


@dataclass(frozen=True, slots=True)
class StartScene:
    scene_id: str


@dataclass(frozen=True, slots=True)
class SceneSend:
    scene_id: str
    text: str
    style: str = "say"


@dataclass(frozen=True, slots=True)
class CallRed:
    """The safeword. Without a scene: every running scene of the account."""

    scene_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallYellow:
    scene_id: str


@dataclass(frozen=True, slots=True)
class ConfirmResume:
    scene_id: str


@dataclass(frozen=True, slots=True)
class LeaveScene:
    scene_id: str


@dataclass(frozen=True, slots=True)
class EndScene:
    scene_id: str


@dataclass(frozen=True, slots=True)
class GrantChannel:
    scene_id: str
    channel: str
    minutes: int | None = None


@dataclass(frozen=True, slots=True)
class RevokeChannel:
    scene_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class ListScenes:
    pass


@dataclass(frozen=True, slots=True)
class ListLogs:
    pass


@dataclass(frozen=True, slots=True)
class ExportLog:
    log_id: str
    format: str = "text"


@dataclass(frozen=True, slots=True)
class WithdrawLog:
    log_id: str


@dataclass(frozen=True, slots=True)
class FrankedLine:
    sender: str
    stream: str
    seq: int
    at: str
    text: str
    tag: str


@dataclass(frozen=True, slots=True)
class VerifyMessages:
    messages: tuple[FrankedLine, ...]


SceneCommand = (ProposeScene | AcceptScene | DeclineScene | CounterScene | StartScene
                | SceneSend | CallRed | CallYellow | ConfirmResume | LeaveScene | EndScene
                | GrantChannel | RevokeChannel | ListScenes | ListLogs | ExportLog | WithdrawLog
                | VerifyMessages)
SCENE_TYPES = (ProposeScene, AcceptScene, DeclineScene, CounterScene, StartScene, SceneSend,
               CallRed, CallYellow, ConfirmResume, LeaveScene, EndScene, GrantChannel,
               RevokeChannel, ListScenes, ListLogs, ExportLog, WithdrawLog, VerifyMessages)
# Commands that need no persona: logs and verification belong to the account.
ACCOUNT_SCENE_TYPES = (ListLogs, ExportLog, WithdrawLog, VerifyMessages, CallRed)
