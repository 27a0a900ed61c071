"""Code recognition: DTCs, NHTSA campaign/ODI numbers, bulletin and part numbers, and their comparison keys."""

from rag_car.text.codes import candidate_tokens, code_key, find_codes, split_delimited


def kinds(text):
    return [(c.kind, c.key) for c in find_codes(text)]


def test_dtc_codes_in_any_case_and_only_whole():
    assert kinds("P0303 and p0301, then U0100 and B1A2F") == [
        ("dtc", "P0303"), ("dtc", "P0301"), ("dtc", "U0100"), ("dtc", "B1A2F")]
    assert kinds("XP0303 P03031 P4303 A0303") == []  # glued, too long, first digit > 3, not P/B/C/U


def test_campaign_numbers_normalised_to_the_nhtsa_form():
    assert kinds("recall 02V288000") == [("campaign", "02V288000")]
    assert kinds("campaign 02V-288") == [("campaign", "02V288000")]
    assert kinds("a 12V battery") == []


def test_odi_numbers():
    assert kinds("investigation PE02-011 and EA02004") == [("odi", "PE02011"), ("odi", "EA02004")]


def test_bulletins_and_parts_need_a_word_that_names_them():
    assert kinds("TSB 21-004") == [("bulletin", "21004")]
    assert kinds("service bulletin no. 05/91") == [("bulletin", "0591")]
    assert kinds("part number F1FZ-12A650-A") == [("part", "F1FZ12A650A")]
    assert kinds("is there a bulletin for this?") == []
    assert kinds("21-004") == []  # bare: only recognised against the index (candidate_tokens)
    assert "21-004" in candidate_tokens("what does 21-004 fix")


def test_keys_compare_spellings():
    assert code_key("TSB 21-004") == code_key("21-004") == code_key("tsb21004") == "21004"
    assert code_key("SB-10042") == "10042"
    assert code_key("NTB12-034") == "NTB12034"  # NTB is part of Nissan's numbers
    assert split_delimited(",P0301,P0303,") == ["P0301", "P0303"]
    assert split_delimited("") == [] and split_delimited(None) == []


def test_each_key_once_in_order():
    assert kinds("P0303 ... p0303 ... P0300") == [("dtc", "P0303"), ("dtc", "P0300")]


def test_real_makers_bulletin_and_campaign_numbers():
    """Numbers as Toyota, Hyundai/Kia, GM and NHTSA publish them, recognised without a word that names them."""
    assert kinds("Toyota T-SB-0123-21 covers the noise") == [("bulletin", "012321")]
    assert kinds("Lexus L-SB-0045-19") == [("bulletin", "LSB004519")]
    assert kinds("Hyundai 21-EM-003H and GM 18-NA-123") == [("bulletin", "21EM003H"), ("bulletin", "18NA123")]
    assert kinds("GM PIP5438 (rev PIP5438A)") == [("bulletin", "PIP5438"), ("bulletin", "PIP5438A")]
    assert kinds("NHTSA 24V-123") == kinds("NHTSA 24V123000") == [("campaign", "24V123000")]
    assert code_key("T-SB-0123-21") == code_key("TSB 0123-21")  # typed without the hyphens
    # dates, model years and sizes are not bulletins
    assert kinds("a 12-volt battery, the 2021-22 models, 18-inch wheels, 05-10 km") == []
