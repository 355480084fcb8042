"""H264 ``profile-level-id`` (RFC 6184 §8.1): which profile and level a parameter set names,
whether two codecs share a profile, and the level to answer with. mediasoup matches H264
codecs with these rules (its ``h264-profile-level-id`` dependency); a producer and a router
codec match only when their profiles agree.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "Level",
    "Profile",
    "ProfileLevelId",
    "answer_profile_level_id",
    "is_same_profile",
    "parse_profile_level_id",
]

# RFC 6184 §8.1: a parameter set without profile-level-id means Constrained Baseline 3.1.
DEFAULT_PROFILE_LEVEL_ID = "42e01f"


class Profile(enum.Enum):
    """H264 profiles WebRTC endpoints negotiate."""

    CONSTRAINED_BASELINE = "constrained-baseline"
    BASELINE = "baseline"
    MAIN = "main"
    CONSTRAINED_HIGH = "constrained-high"
    HIGH = "high"
    PREDICTIVE_HIGH_444 = "predictive-high-444"


class Level(enum.IntEnum):
    """level_idc values; 1b has no level_idc of its own (it is 11 with constraint_set3)."""

    L1_B = 0
    L1 = 10
    L1_1 = 11
    L1_2 = 12
    L1_3 = 13
    L2 = 20
    L2_1 = 21
    L2_2 = 22
    L3 = 30
    L3_1 = 31
    L3_2 = 32
    L4 = 40
    L4_1 = 41
    L4_2 = 42
    L5 = 50
    L5_1 = 51
    L5_2 = 52


@dataclass(frozen=True)
class ProfileLevelId:
    """A parsed ``profile-level-id``."""

    profile: Profile
    level: Level


# (profile_idc, profile_iop bit pattern from the most significant bit; x = either) per
# profile, RFC 6184 table 5 and its errata as WebRTC implementations apply them.
_PATTERNS: tuple[tuple[int, str, Profile], ...] = (
    (0x42, "x1xx0000", Profile.CONSTRAINED_BASELINE),
    (0x4D, "1xxx0000", Profile.CONSTRAINED_BASELINE),
    (0x58, "11xx0000", Profile.CONSTRAINED_BASELINE),
    (0x42, "x0xx0000", Profile.BASELINE),
    (0x58, "10xx0000", Profile.BASELINE),
    (0x4D, "0x0x0000", Profile.MAIN),
    (0x64, "00000000", Profile.HIGH),
    (0x64, "00001100", Profile.CONSTRAINED_HIGH),
    (0xF4, "00000000", Profile.PREDICTIVE_HIGH_444),
)

# constraint_set3_flag: with level_idc 11 in the Baseline family it means level 1b.
_CONSTRAINT_SET3 = 0x10

_PROFILE_IDC_IOP: dict[Profile, str] = {
    Profile.CONSTRAINED_BASELINE: "42e0",
    Profile.BASELINE: "4200",
    Profile.MAIN: "4d00",
    Profile.CONSTRAINED_HIGH: "640c",
    Profile.HIGH: "6400",
    Profile.PREDICTIVE_HIGH_444: "f400",
}

_LEVEL_1B_STRINGS: dict[Profile, str] = {
    Profile.CONSTRAINED_BASELINE: "42f00b",
    Profile.BASELINE: "42100b",
    Profile.MAIN: "4d100b",
}


def _matches(pattern: str, value: int) -> bool:
    return all(
        bit == "x" or int(bit) == (value >> (7 - index)) & 1 for index, bit in enumerate(pattern)
    )


def parse_profile_level_id(text: str) -> ProfileLevelId | None:
    """The profile and level of a 6-hex-digit ``profile-level-id``; None if it names none."""
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    profile_idc, profile_iop, level_idc = value >> 16, (value >> 8) & 0xFF, value & 0xFF
    try:
        level = Level(level_idc)
    except ValueError:
        return None
    if level is Level.L1_1 and profile_iop & _CONSTRAINT_SET3:
        level = Level.L1_B
    for idc, pattern, profile in _PATTERNS:
        if idc == profile_idc and _matches(pattern, profile_iop):
            return ProfileLevelId(profile, level)
    return None


def _of(parameters: Mapping[str, object]) -> ProfileLevelId | None:
    value = parameters.get("profile-level-id")
    return parse_profile_level_id(DEFAULT_PROFILE_LEVEL_ID if value is None else str(value))


def is_same_profile(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    """Whether two codecs' parameters name the same H264 profile."""
    first, second = _of(a), _of(b)
    return first is not None and second is not None and first.profile is second.profile


def _is_less(a: Level, b: Level) -> bool:
    # 1b sits between 1 and 1.1.
    if a is Level.L1_B:
        return b not in (Level.L1, Level.L1_B)
    if b is Level.L1_B:
        return a is Level.L1
    return a < b


def _level_asymmetry_allowed(parameters: Mapping[str, object]) -> bool:
    return str(parameters.get("level-asymmetry-allowed")) == "1"


def _to_string(profile_level_id: ProfileLevelId) -> str | None:
    if profile_level_id.level is Level.L1_B:
        return _LEVEL_1B_STRINGS.get(profile_level_id.profile)
    return f"{_PROFILE_IDC_IOP[profile_level_id.profile]}{profile_level_id.level.value:02x}"


def answer_profile_level_id(
    local: Mapping[str, object], remote: Mapping[str, object]
) -> str | None:
    """The ``profile-level-id`` to answer ``remote``'s codec with from ``local``'s (RFC
    6184 §8.2.2): the remote profile at the lower level, or at the local level when both
    allow level asymmetry. None when neither side gave one (the default applies). Raises
    ``ValueError`` when the profiles differ or one is invalid."""
    if "profile-level-id" not in local and "profile-level-id" not in remote:
        return None
    ours, theirs = _of(local), _of(remote)
    if ours is None or theirs is None:
        raise ValueError("invalid profile-level-id")
    if ours.profile is not theirs.profile:
        raise ValueError("H264 profiles differ")
    if _level_asymmetry_allowed(local) and _level_asymmetry_allowed(remote):
        level = ours.level
    else:
        level = theirs.level if _is_less(theirs.level, ours.level) else ours.level
    answer = _to_string(ProfileLevelId(theirs.profile, level))
    if answer is None:
        raise ValueError("no profile-level-id for level 1b in this profile")
    return answer
