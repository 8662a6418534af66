"""The coach aggregate: given events, when a command, then new events or a refusal."""

from __future__ import annotations

import pytest

from coachledger.domain import Coach, InvalidValue
from coachledger.ids import client_id, coach_id

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"


def test_a_coach_is_added_with_a_hash_and_its_own_stream() -> None:
    coach = Coach.add("lena", "maria", False, HASH)
    (added,) = coach.collect_events()
    assert isinstance(added, Coach.Added)
    assert (added.name, added.admin, added.password_hash, added.actor) == ("maria", False, HASH, "lena")
    assert coach.id == coach_id("maria") != client_id("maria")


@pytest.mark.parametrize("name", ["", " maria", "maria garcia", "-maria", "m" * 65, "mária", "a\nb"])
def test_a_name_that_cannot_be_a_coach_is_refused(name: str) -> None:
    with pytest.raises(InvalidValue, match="coach name"):
        Coach.add("lena", name, False, HASH)


@pytest.mark.parametrize("secret", ["correct horse battery", "$argon2i$v=19$x", "", "$2b$12$bcrypt"])
def test_only_an_argon2id_hash_is_recorded_never_a_password(secret: str) -> None:
    with pytest.raises(InvalidValue, match="argon2id"):
        Coach.add("lena", "maria", False, secret)
    coach = Coach.add("lena", "maria", False, HASH)
    coach.collect_events()
    with pytest.raises(InvalidValue, match="argon2id"):
        coach.change_password("maria", secret)
    assert coach.collect_events() == []


def test_disable_and_enable_each_only_once() -> None:
    coach = Coach.add("lena", "maria", True, HASH)
    coach.disable("lena")
    assert coach.disabled
    with pytest.raises(InvalidValue, match="already disabled"):
        coach.disable("lena")
    coach.enable("lena")
    assert not coach.disabled
    with pytest.raises(InvalidValue, match="not disabled"):
        coach.enable("lena")
    assert [type(e).__name__ for e in coach.collect_events()] == ["CoachAdded", "CoachDisabled", "CoachEnabled"]
    assert coach.version == 3
