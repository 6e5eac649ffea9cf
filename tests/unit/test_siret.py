import pytest

from runtime.errors import InvalidInput
from runtime.siret import LA_POSTE_SIREN, luhn_ok
from services.membership.domain import is_valid_siret, normalize_siret, siren_of, validate_siret


def test_real_siret_is_valid():
    assert is_valid_siret("73282932000074")
    assert validate_siret("732 829 320 00074") == "73282932000074"
    assert siren_of("73282932000074") == "732829320"


@pytest.mark.parametrize("value", ["73282932000075", "7328293200007", "732829320000744", "7328293200007A",
                                   "", "１２３４５６７８９０１２３４"])
def test_invalid_sirets(value):
    assert not is_valid_siret(normalize_siret(value))
    with pytest.raises(InvalidInput) as exc:
        validate_siret(value)
    assert exc.value.field == "siret"


def test_field_name_is_reported():
    with pytest.raises(InvalidInput) as exc:
        validate_siret("123", field="organisation.siret")
    assert exc.value.field == "organisation.siret"


def test_la_poste_head_office_passes_luhn():
    assert luhn_ok("35600000000048") and is_valid_siret("35600000000048")


def test_la_poste_establishments_use_digit_sum_multiple_of_5():
    # 3+5+6 = 14, + 1 = 15: a multiple of 5, though the Luhn checksum fails.
    siret = LA_POSTE_SIREN + "00001"
    assert not luhn_ok(siret)
    assert is_valid_siret(siret)
    assert validate_siret("356 000 000 00001") == siret
    # digit sum 16: neither rule holds
    assert not is_valid_siret(LA_POSTE_SIREN + "00002") and not luhn_ok(LA_POSTE_SIREN + "00002")


def test_digit_sum_rule_is_only_for_la_poste():
    siret = "73282932000004"  # digit sum 40, Luhn fails
    assert sum(map(int, siret)) % 5 == 0 and not luhn_ok(siret)
    assert not is_valid_siret(siret)


def test_with_check_digit_makes_valid_sirets_and_refuses_wrong_lengths():
    import pytest as _pytest

    from runtime.siret import is_valid_siret, with_check_digit
    for body in ("7328293200007", "0000000000000", "9999999999999", "1234567890123"):
        siret = with_check_digit(body)
        assert siret.startswith(body) and is_valid_siret(siret)
    with _pytest.raises(ValueError):
        with_check_digit("123")


def test_thirteen_digits_are_no_siret_even_when_their_luhn_sum_passes():
    assert luhn_ok("1000000000009")
    assert not is_valid_siret("1000000000009")
    with pytest.raises(InvalidInput) as caught:
        validate_siret("1000000000009")
    assert caught.value.detail == "a SIRET has 14 digits, got '1000000000009'"


def test_refusals_say_what_is_wrong():
    with pytest.raises(InvalidInput) as caught:
        validate_siret("732 829 320 00075")
    assert caught.value.detail == "SIRET 73282932000075 fails its checksum"
    with pytest.raises(InvalidInput) as caught:
        validate_siret("7328293200007A")
    assert caught.value.detail == "a SIRET has 14 digits, got '7328293200007A'"


def test_only_separators_are_dropped_from_a_typed_siret():
    assert normalize_siret("732.829\u00a0320\u202f000\t74-") == "73282932000074"
    assert normalize_siret("X7 3-2") == "X732"


def test_with_check_digit_names_what_it_got():
    from runtime.siret import with_check_digit
    with pytest.raises(ValueError) as caught:
        with_check_digit("123")
    assert str(caught.value) == "13 digits expected, got '123'"
