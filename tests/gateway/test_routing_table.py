"""The routing table: gateway-assigned request ids back to (session, message_id)."""

from __future__ import annotations

import pytest

from supervisor.gateway.routing import Route, RoutingTable


def admit(
    table: RoutingTable,
    session: str = "s1",
    message_id: str | None = "m1",
    character: str = "a",
    *,
    serial: bool = False,
) -> Route | None:
    return table.admit(
        session_id=session,
        message_id=message_id,
        character_id=character,
        message_type="chat_request",
        message=None,
        user="user",
        serial=serial,
        stream=False,
        now=0.0,
    )


def test_every_route_gets_a_distinct_request_id_even_for_equal_client_ids() -> None:
    table = RoutingTable(per_session_limit=10)
    first = admit(table, "s1", "1")
    second = admit(table, "s2", "1")
    third = admit(table, "s1", "1")
    assert first and second and third
    assert len({first.request_id, second.request_id, third.request_id}) == 3


def test_reply_lookup_names_the_sender_and_its_message_id() -> None:
    table = RoutingTable(per_session_limit=10)
    route = admit(table, "s7", "hello-1", "zen")
    assert route is not None
    found = table.get(route.request_id)
    assert found is not None
    assert (found.session_id, found.message_id, found.character_id) == ("s7", "hello-1", "zen")


def test_session_limit_refuses_beyond_and_frees_on_complete() -> None:
    table = RoutingTable(per_session_limit=2)
    first = admit(table)
    assert admit(table) is not None
    assert admit(table) is None
    assert admit(table, session="other") is not None
    assert first is not None
    table.complete(first.request_id)
    assert admit(table) is not None


def test_abandoned_route_stops_counting_against_the_session_but_stays_routable() -> None:
    table = RoutingTable(per_session_limit=1)
    route = admit(table)
    assert route is not None
    table.abandon(route.request_id)
    assert table.owed("s1") == 0
    assert table.get(route.request_id) is route
    assert admit(table) is not None
    table.complete(route.request_id)
    assert table.owed("s1") == 1


def test_abandoning_twice_releases_once() -> None:
    table = RoutingTable(per_session_limit=5)
    route = admit(table)
    admit(table)
    assert route is not None
    table.abandon(route.request_id)
    table.abandon(route.request_id)
    assert table.owed("s1") == 1


def test_find_skips_abandoned_routes() -> None:
    table = RoutingTable(per_session_limit=5)
    route = admit(table, message_id="x")
    assert route is not None
    assert table.find("s1", "x") is route
    table.abandon(route.request_id)
    assert table.find("s1", "x") is None


def test_take_character_removes_only_that_characters_routes() -> None:
    table = RoutingTable(per_session_limit=5)
    a1 = admit(table, "s1", "1", "a")
    b1 = admit(table, "s2", "1", "b")
    a2 = admit(table, "s3", "2", "a")
    taken = table.take_character("a")
    assert [r.request_id for r in taken] == [a1.request_id, a2.request_id]  # type: ignore[union-attr]
    assert b1 is not None and table.get(b1.request_id) is b1
    assert table.owed("s1") == 0 and table.owed("s3") == 0


def test_take_all_empties_the_table() -> None:
    table = RoutingTable(per_session_limit=5)
    admit(table, "s1")
    admit(table, "s2")
    assert len(table.take_all()) == 2
    assert len(table) == 0 and table.live() == 0


def test_live_counts_only_routes_owing_an_answer() -> None:
    table = RoutingTable(per_session_limit=5)
    route = admit(table)
    admit(table, "s2")
    assert route is not None
    table.abandon(route.request_id)
    assert (len(table), table.live()) == (2, 1)


def test_completing_an_unknown_id_is_harmless() -> None:
    table = RoutingTable(per_session_limit=5)
    assert table.complete(12345) is None
    assert table.abandon(12345) is None


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RoutingTable(per_session_limit=0)
