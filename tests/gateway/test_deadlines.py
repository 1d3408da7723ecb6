"""Request deadlines with an injected clock."""

from __future__ import annotations

from supervisor.gateway.deadlines import DeadlineBook


def test_nothing_expires_before_its_deadline() -> None:
    book = DeadlineBook()
    book.add(1, 30.0)
    assert book.pop_expired(29.999) == []


def test_expired_requests_come_out_earliest_first_and_only_once() -> None:
    book = DeadlineBook()
    book.add(1, 30.0)
    book.add(2, 10.0)
    book.add(3, 50.0)
    assert book.pop_expired(30.0) == [2, 1]
    assert book.pop_expired(30.0) == []
    assert book.next_due() == 50.0


def test_discarded_request_never_expires() -> None:
    book = DeadlineBook()
    book.add(1, 5.0)
    book.add(2, 6.0)
    book.discard(1)
    assert book.next_due() == 6.0
    assert book.pop_expired(100.0) == [2]
    assert len(book) == 0


def test_re_adding_replaces_the_deadline() -> None:
    book = DeadlineBook()
    book.add(1, 5.0)
    book.add(1, 9.0)
    assert book.pop_expired(6.0) == []
    assert book.pop_expired(9.0) == [1]


def test_empty_book_has_no_next_deadline() -> None:
    book = DeadlineBook()
    assert book.next_due() is None
    book.discard(42)
    assert book.pop_expired(1e9) == []
