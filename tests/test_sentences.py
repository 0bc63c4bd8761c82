from diplostance.sentences import split_sentences


def test_offsets_point_into_the_text_and_respect_paragraphs():
    text = "Title line\n\nCARACAS, Jan. 24 - The U.S. recognized Guaido.  Russia backed Maduro.\nIt said so.\n\nLast one"
    spans = split_sentences(text)
    sentences = [text[s:e] for s, e in spans]
    assert sentences == [
        "Title line",
        "CARACAS, Jan. 24 - The U.S. recognized Guaido.",
        "Russia backed Maduro.",
        "It said so.",
        "Last one",
    ]


def test_empty_text_has_no_sentences():
    assert split_sentences("") == [] and split_sentences("\n\n  \n") == []
