"""What the copy needs to know of an item in its wire form: expiry, renames, size."""

from __future__ import annotations

from migrator.backends.dynamodb import items

NOW = 1_800_000_000.0


def test_an_item_is_expired_only_by_a_past_number_in_the_ttl_attribute():
    assert items.expired({"exp": {"N": str(int(NOW) - 1)}}, "exp", NOW)
    assert items.expired({"exp": {"N": str(int(NOW))}}, "exp", NOW)
    assert not items.expired({"exp": {"N": str(int(NOW) + 1)}}, "exp", NOW)


def test_items_lacking_the_attribute_or_holding_another_type_never_expire():
    assert not items.expired({"id": {"S": "a"}}, "exp", NOW)  # upstream #233 lost these
    assert not items.expired({"exp": {"S": "1"}}, "exp", NOW)
    assert not items.expired({"exp": {"N": "1"}}, None, NOW)  # TTL not enabled


def test_a_ttl_more_than_five_years_old_is_ignored_as_dynamodb_does():
    old = NOW - items.TTL_IGNORED_AFTER_S - 10
    assert not items.expired({"exp": {"N": str(old)}}, "exp", NOW)


def test_renames_apply_to_top_level_attributes_only_and_keep_values_as_they_are():
    item = {"a": {"N": "1.50E+3"}, "m": {"M": {"a": {"S": "x"}}}}
    assert items.renamed(item, {"a": "b"}) == {"b": {"N": "1.50E+3"}, "m": {"M": {"a": {"S": "x"}}}}
    assert items.renamed(item, {}) is item


def test_item_size_counts_names_and_values_by_dynamodb_s_rules():
    assert items.item_size({"id": {"S": "héllo"}}) == 2 + 6
    assert items.item_size({"b": {"B": b"\x00\x01"}, "t": {"BOOL": True}, "n": {"NULL": True}}) == 1 + 2 + 1 + 1 + 1 + 1
    assert items.item_size({"l": {"L": [{"S": "ab"}, {"N": "12345"}]}}) == 1 + 3 + (1 + 2) + (1 + 4)
    assert items.item_size({"m": {"M": {"k": {"SS": ["a", "bc"]}}}}) == 1 + 3 + 1 + 1 + 3


def test_the_item_digest_follows_dynamodb_equality():
    from migrator.backends.dynamodb.items import item_digest

    one = {"id": {"S": "a"}, "n": {"N": "1.50E+3"}, "tags": {"SS": ["x", "y"]}, "b": {"B": "AAE="},
           "m": {"M": {"z": {"N": "-0"}, "l": {"L": [{"NULL": True}, {"BOOL": False}]}}}}
    same = {"m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}, "z": {"N": "0"}}}, "b": {"B": b"\x00\x01"},
            "tags": {"SS": ["y", "x"]}, "n": {"N": "1500"}, "id": {"S": "a"}}
    assert item_digest(one) == item_digest(same) and len(item_digest(one)) == 32
    assert item_digest(one) != item_digest({**one, "n": {"N": "1501"}})
    assert item_digest(one) != item_digest({**one, "n": {"S": "1500"}})  # a string is not a number
    reordered = {"z": {"N": "0"}, "l": {"L": [{"BOOL": False}, {"NULL": True}]}}
    assert item_digest(one) != item_digest({**one, "m": {"M": reordered}})  # a list's order is its value
    assert item_digest({**one, "at": {"N": "5"}}, ignore=["at"]) == item_digest(one)
