from diplostance.corpus import Example
from diplostance.encoding import CHALLENGER, INCUMBENT, EncodingOptions, encode, role_names, surname_alias


def test_surname_alias_only_for_person_names():
    assert surname_alias("Nicolas Maduro") == "Maduro"
    assert surname_alias("Abd-Rabbu Mansour Hadi") == "Hadi"
    assert surname_alias("National Unity Government") is None
    assert surname_alias("the Taliban") is None


def test_row_aliases_win_over_registry(registry):
    ex = Example("x", "venezuela-2019", "s", (), "Nicolas Maduro", "Juan Guaido", ("Nico",), None)
    inc, chal = role_names(ex, registry)
    assert inc == ("Nicolas Maduro", "Nico", "Maduro")
    assert chal == ("Juan Guaido", "Guaido", "the opposition leader")


def test_unknown_crisis_works_from_row_names(registry):
    ex = Example("x", "atlantis-2031", "s", (), "Ana Reyes", "the Council", None, None)
    assert role_names(ex, registry) == (("Ana Reyes", "Reyes"), ("the Council",))


def test_encode_marks_target_and_replaces_roles_outside_mentions():
    s = "Russia backed Maduro, while Canada recognized Juan Guaido and Guaido thanked Canada."
    inc, chal = ("Nicolas Maduro", "Maduro"), ("Juan Guaido", "Guaido")
    out = encode(s, 28, 34, inc, chal)
    assert out == f"Russia backed {INCUMBENT}, while [TGT] Canada [/TGT] recognized {CHALLENGER} and {CHALLENGER} thanked Canada."
    masked = encode(s, 0, 6, inc, chal, options=EncodingOptions(mask_target=True, replace_roles=False))
    assert masked.startswith("[TGT] [COUNTRY] [/TGT] backed Maduro")
    others = encode(s, 0, 6, inc, chal, others=((0, 6), (28, 34)), options=EncodingOptions(mark_others=True))
    assert "[ENT] Canada [/ENT]" in others and others.startswith("[TGT] Russia [/TGT]")


def test_role_name_inside_a_mention_is_not_replaced():
    # a (badly chosen) alias that is also a country mention must not break the target
    s = "Venezuela's ally Cuba backed the government."
    out = encode(s, 0, 9, ("Venezuela",), ())
    assert out == "[TGT] Venezuela [/TGT]'s ally Cuba backed the government."
