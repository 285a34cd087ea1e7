from migrator.backends.cassandra.compare_plan import rename_where


def test_rename_where_substitutes_identifiers_but_not_literals():
    renames = {"tenant": "org", "Kind": "category"}
    assert rename_where("tenant = 'tenant' AND x > 1", renames) == "\"org\" = 'tenant' AND x > 1"
    assert rename_where('"Kind" = \'a\'', renames) == "\"category\" = 'a'"
    assert rename_where("TENANT = 1", renames) == '"org" = 1'  # unquoted identifiers are case-insensitive
    assert rename_where("tenant = 1", {}) == "tenant = 1"
    assert rename_where(None, renames) is None
