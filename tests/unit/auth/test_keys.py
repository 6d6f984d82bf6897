import pytest

from climasense.auth.keys import KeyHasher, KeyKind, generate_key, parse_key


@pytest.mark.parametrize("kind", list(KeyKind))
def test_generated_keys_parse_back_to_their_kind(kind: KeyKind) -> None:
    key = generate_key(kind)
    assert key.startswith(f"{kind.value}_")
    assert parse_key(key) is kind


def test_keys_are_unique_and_carry_256_bits() -> None:
    keys = {generate_key(KeyKind.DEVICE) for _ in range(1000)}
    assert len(keys) == 1000
    # 43 base62 characters hold 256 bits: 62**43 > 2**256
    assert 62**43 > 2**256


def test_a_single_changed_character_fails_the_checksum() -> None:
    key = generate_key(KeyKind.DEVICE)
    for position in range(4, len(key)):
        replacement = "A" if key[position] != "A" else "B"
        mutated = key[:position] + replacement + key[position + 1 :]
        assert parse_key(mutated) is None, position


@pytest.mark.parametrize(
    "bad",
    ["", "csd_", "xyz_" + "A" * 49, "csd-" + "A" * 49, "csd_" + "A" * 48, "csd_" + "!" * 49],
)
def test_malformed_keys_are_refused(bad: str) -> None:
    assert parse_key(bad) is None


def test_hash_is_keyed_by_the_server_secret() -> None:
    key = generate_key(KeyKind.DEVICE)
    first, second = KeyHasher("a" * 40), KeyHasher("b" * 40)
    assert first.hash(key) == KeyHasher("a" * 40).hash(key)
    assert first.hash(key) != second.hash(key)
    assert len(first.hash(key)) == 32
