"""The row writers' cheap masking pre-check never skips what the masker would change."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txdiag.render.writers import unmasked
from txdiag.safety.mask import mask_text

_ALPHABET = st.sampled_from(list("0123456789") * 4 + list("aAkKIzZeEyJxXTu.-_:=@ ") +
                            ["AKIA", "ASIA", "AKID", "AIza", "eyJ", "name", "NAME", "holder",
                             "bearer", "１"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join))
def test_what_the_pre_check_lets_through_masks_to_itself(text: str) -> None:
    if unmasked(text):
        assert mask_text(text) == text


@pytest.mark.parametrize("text", [
    "T20261111000000001", "u702254", "199.89", "333.0", "12", "CNY", "wx1234567890abcdef",
    "2026111100", "",
])
def test_ids_amounts_and_small_numbers_skip_the_masker(text: str) -> None:
    assert unmasked(text)
    assert mask_text(text) == text


@pytest.mark.parametrize("text", [
    "13812345678", "6222020000000000000", "a@b.co", "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOi",
    "username", "1234567890.5", "0 13812345678", "token=abc",
])
def test_what_may_hold_personal_data_goes_to_the_masker(text: str) -> None:
    assert not unmasked(text)

