from uuid import uuid4

from climasense.auth.cache import CredentialCache
from climasense.auth.principals import AdminPrincipal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = CredentialCache(ttl=10, stale_after=1e9, clock=clock)
    principal = AdminPrincipal(uuid4(), "ops")
    cache.put(b"h", principal)
    assert cache.get(b"h") == principal
    clock.now += 10
    assert cache.get(b"h") is None


def test_cache_is_bypassed_when_the_revocation_feed_is_stale() -> None:
    clock = Clock()
    cache = CredentialCache(ttl=300, stale_after=4, clock=clock)
    cache.put(b"h", AdminPrincipal(uuid4(), "ops"))
    clock.now += 4.5
    assert cache.get(b"h") is None


def test_size_is_bounded_oldest_first() -> None:
    cache = CredentialCache(max_entries=2, stale_after=1e9)
    for name in (b"a", b"b", b"c"):
        cache.put(name, AdminPrincipal(uuid4(), name.decode()))
    assert cache.get(b"a") is None
    assert cache.get(b"b") is not None
    assert cache.get(b"c") is not None
