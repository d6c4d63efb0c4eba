"""The pricing analyzer: keyed records, exact money, currencies, lines, CSV quirks, bad input."""

from __future__ import annotations

import csv
import io
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff
from app.risk import evaluate, load_rule_pack, tier_for
from app.semdiff.common.documents import read_documents
from app.semdiff.pricing.analyzer import analyze, detect, money_text, parse_money
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pricing"
RULES = Path(__file__).resolve().parents[3] / "risk_rules"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def run(
    base: str | None,
    head: str | None,
    path: str = "catalog/plans.json",
    rule: PathRule | None = None,
) -> list[Change]:
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=None if base is None else base.encode(),
        head=None if head is None else head.encode(),
    )
    return analyze(file, rule or PathRule())


def by_address(changes: list[Change]) -> dict[str, Change]:
    out = {c.address: c for c in changes}
    assert len(out) == len(changes), "one change per address"
    return out


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.before, f.after) for f in change.fields}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# -- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("12.00", Decimal("12.00")),
        ("$10", Decimal("10")),
        ("-$1,000", Decimal("-1000")),
        (" 0.2874 ", Decimal("0.2874")),
        ("€9.99", Decimal("9.99")),
        (".5", Decimal("0.5")),
        (29.4, Decimal("29.4")),
        (49, Decimal("49")),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_money_accepts_written_amounts(raw: Any, expected: Decimal | None) -> None:
    assert parse_money(raw) == expected


@pytest.mark.parametrize("raw", ["ten dollars", "1,23.4", "12,5", "1.2.3", "1e3", True, [10]])
def test_parse_money_refuses_non_amounts(raw: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_money(raw)


def test_money_text_is_exact_with_cents() -> None:
    assert money_text(Decimal("49")) == "49.00"
    assert money_text(Decimal("29.4")) == "29.40"
    assert money_text(Decimal("0.28740")) == "0.2874"
    assert money_text(Decimal("18750.00")) == "18750.00"
    assert money_text(None) is None


# -- JSON plan catalog -----------------------------------------------------------------------


def test_plan_catalog_reprice_add_remove_and_currency() -> None:
    base, head = fixture("saas_plans.json"), fixture("saas_plans_head.json")
    changes = by_address(run(base, head))
    assert set(changes) == {
        "catalog/plans.json",
        "id:team-monthly",
        "id:startup-monthly",
        "id:team-annual",
        "id:business-monthly",
    }

    cut = changes["id:team-monthly"]
    assert cut.op == "update"
    assert cut.kind == "pricing"
    assert fields(cut) == {"price": (49.0, 29.4)}
    assert cut.facts["price_field"] == "price"
    assert cut.facts["price_before"] == "49.00"
    assert cut.facts["price_after"] == "29.40"
    assert cut.facts["price_delta_pct"] == -40.0
    assert cut.facts["price_before_num"] == 49.0
    assert cut.facts["key_field"] == "id"
    assert cut.facts["key"] == "team-monthly"
    assert cut.line == line_of(head, '"id": "team-monthly"')

    added = changes["id:startup-monthly"]
    assert added.op == "create"
    assert added.facts["price_after"] == "99.00"
    assert added.facts["price_delta_pct"] is None
    assert fields(added)["name"] == (None, "Startup")
    assert added.line == line_of(head, '"id": "startup-monthly"')

    removed = changes["id:team-annual"]
    assert removed.op == "delete"
    assert removed.facts["price_before"] == "490.00"
    assert removed.facts["price_after"] is None
    assert removed.line == line_of(base, '"id": "team-annual"')

    moved = changes["id:business-monthly"]
    assert fields(moved) == {"currency": ("USD", "EUR"), "setup_fee": (500.0, 250.0)}
    assert moved.facts["currency_before"] == "USD"
    assert moved.facts["currency_after"] == "EUR"
    assert moved.facts["currency_changed"] is True
    assert moved.facts["prices"]["setup_fee"] == {
        "before": "500.00",
        "after": "250.00",
        "delta_pct": -50.0,
    }

    book = changes["catalog/plans.json"]
    assert book.facts == {"book_settings": True}
    assert fields(book) == {"catalog_version": ("2024-06-01", "2024-07-01")}


def test_identical_and_reformatted_json_is_no_change() -> None:
    base = fixture("saas_plans.json")
    data = json.loads(base)
    data["plans"].reverse()
    for plan in data["plans"]:
        plan.update(dict(reversed(list(plan.items()))))
    reformatted = json.dumps(dict(reversed(list(data.items()))), indent=4, sort_keys=True)
    assert run(base, base) == []
    assert run(base, reformatted) == []


def test_detect_finds_price_books_and_ignores_other_data() -> None:
    plans = read_documents(fixture("saas_plans.json").encode(), "json", "plans.json")
    assert detect(plans, PathRule())
    book = read_documents(fixture("eu_price_book.yaml").encode(), "yaml", "eu.yaml")
    assert detect(book, PathRule())
    tariffs = read_documents(fixture("utility_tariffs.csv").encode(), "csv", "t.csv")
    assert detect(tariffs, PathRule())
    package = read_documents(b'{"name": "web", "version": "1.2.0", "private": true}', "json", "p")
    assert not detect(package, PathRule())
    users = read_documents(b'[{"id": 1, "email": "a@example.com"}]', "json", "users.json")
    assert not detect(users, PathRule())
    assert detect(users, PathRule(kind="pricing"))


# -- YAML price book keyed by SKU --------------------------------------------------------------


def test_yaml_sku_mapping_reprice_and_book_currency() -> None:
    base = fixture("eu_price_book.yaml")
    head = base.replace("unit_price: 12.00", "unit_price: 10.80")
    changes = by_address(run(base, head, "prices/eu.yaml"))
    assert set(changes) == {"sku:pro-monthly"}
    change = changes["sku:pro-monthly"]
    assert change.facts["price_delta_pct"] == -10.0
    assert change.facts["currency_before"] == change.facts["currency_after"] == "EUR"
    assert change.line == line_of(head, "  pro-monthly:")

    # Switching the book's currency reprices every SKU that inherits it.
    swiss = base.replace("currency: EUR", "currency: CHF")
    changes = by_address(run(base, swiss, "prices/eu.yaml"))
    assert len(changes) == 5
    assert fields(changes["sku:team-monthly"]) == {"currency": ("EUR", "CHF")}
    assert changes["sku:team-monthly"].facts["currency_changed"] is True
    assert fields(changes["prices/eu.yaml"]) == {"currency": ("EUR", "CHF")}


def test_yaml_comments_and_order_are_no_change() -> None:
    base = fixture("eu_price_book.yaml")
    head = (
        "# reordered by the formatter\n"
        "skus:\n"
        "  storage-addon-100gb: {tax_code: txcd_10000000, unit_price: 2, title: 'Extra storage,"
        " 100 GB'}\n"
        "  team-monthly: {min_seats: 3, unit_price: 9.5, tax_code: txcd_10103001,"
        " title: 'Team (monthly, per seat)'}\n"
        "  pro-annual: {unit_price: 120, tax_code: txcd_10103001, title: Pro (annual)}\n"
        "  pro-monthly:\n"
        "    trial_days: 14\n"
        "    tax_code: txcd_10103001\n"
        "    unit_price: 12.0\n"
        "    title: Pro (monthly)\n"
        "rounding: half_even\n"
        'effective_from: "2024-07-01"\n'
        "currency: EUR\n"
    )
    assert run(base, head, "prices/eu.yaml") == []


# -- CSV tariffs -------------------------------------------------------------------------------


def test_csv_quoting_separators_and_precision_are_no_change() -> None:
    base = fixture("utility_tariffs.csv")
    rows = list(csv.reader(io.StringIO(base, newline="")))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    head = out.getvalue().replace('"0.53"', '" 0.530 "').replace('"18,750.00"', '"18750"')
    assert head != base
    assert run(base, head, "tariffs/uk.csv") == []


def test_csv_reprice_with_thousands_separator_and_multiline_row() -> None:
    base = fixture("utility_tariffs.csv")
    head = base.replace('"18,750.00"', '"19,687.50"').replace('"1,234.50"', '"1,234.5"')
    head = head.replace("SME-FLEX-S,south,business", "SME-FLEX-S,south,business")
    head = head.replace("RES-E7-N,north,residential", "RES-E7-N,north,residential")
    head = head.replace(
        "IND-HV-S,south,industrial,High voltage industrial,0.1988",
        "IND-HV-S,south,industrial,High voltage industrial,0.2087",
    )
    changes = by_address(run(base, head, "tariffs/uk.csv"))
    assert set(changes) == {"tariff_code:IND-HV-S"}
    change = changes["tariff_code:IND-HV-S"]
    # The row after a quoted field spanning two lines starts on line 6, not line 5.
    assert change.line == 6
    assert change.facts["price_field"] == "unit_price"
    assert change.facts["price_before"] == "0.1988"
    assert change.facts["price_after"] == "0.2087"
    assert change.facts["price_delta_pct"] == 4.98
    capacity = change.facts["prices"]["annual_capacity_price"]
    assert capacity == {"before": "18750.00", "after": "19687.50", "delta_pct": 5.0}
    assert fields(change)["annual_capacity_price"] == ("18,750.00", "19,687.50")


def test_csv_rows_added_and_removed_carry_row_lines() -> None:
    base = fixture("utility_tariffs.csv")
    lines = base.splitlines(keepends=True)
    head = lines[0] + lines[1] + "".join(lines[3:]) + 'EV-NIGHT-N,north,residential,"EV night",'
    head += "0.0850,0.53,,GBP,\n"
    changes = by_address(run(base, head, "tariffs/uk.csv"))
    assert changes["tariff_code:RES-E7-N"].op == "delete"
    assert changes["tariff_code:RES-E7-N"].line == 3
    assert changes["tariff_code:EV-NIGHT-N"].op == "create"
    assert changes["tariff_code:EV-NIGHT-N"].line == 6
    assert changes["tariff_code:EV-NIGHT-N"].facts["price_after"] == "0.085"
    assert set(changes) == {"tariff_code:RES-E7-N", "tariff_code:EV-NIGHT-N"}


def test_repo_config_key_and_price_fields() -> None:
    rule = PathRule(kind="pricing", key="zone", price_fields=("net_price",))
    base = fixture("zone_tariffs.csv")
    head = base.replace("south,0.2650,0.2783", "south,0.2385,0.2504")
    changes = run(base, head, "tariffs/zones.csv", rule)
    assert [c.address for c in changes] == ["zone:south"]
    change = changes[0]
    assert change.facts["price_field"] == "net_price"
    assert change.facts["price_delta_pct"] == -10.0
    assert "prices" not in change.facts  # gross_price is not configured as a price field
    assert fields(change) == {
        "gross_price": ("0.2783", "0.2504"),
        "net_price": ("0.2650", "0.2385"),
    }
    assert change.line == 3


def test_configured_key_names_mapping_records() -> None:
    base = fixture("eu_price_book.yaml")
    head = base.replace("unit_price: 2.00", "unit_price: 2.50")
    rule = PathRule(key="plan_code", price_fields=("unit_price",))
    assert [c.address for c in run(base, head, "p.yaml", rule)] == ["plan_code:storage-addon-100gb"]


def test_added_and_removed_files() -> None:
    book = fixture("saas_plans.json")
    created = run(None, book)
    assert {c.op for c in created} == {"create"}
    assert len(created) == 6  # five plans and the book settings
    deleted = run(book, None)
    assert {c.op for c in deleted} == {"delete"}
    assert {c.address for c in deleted} == {c.address for c in created}


def test_zero_price_has_no_delta_pct() -> None:
    base = fixture("saas_plans.json")
    head = base.replace('"price": 0,', '"price": 5,')
    [change] = run(base, head)
    assert change.address == "id:free"
    assert change.facts["price_before"] == "0.00"
    assert change.facts["price_delta_pct"] is None


def test_secret_fields_in_records_are_redacted() -> None:
    base = '[{"sku": "api-basic", "price": 10, "webhook_secret": "whsec_9f8e7d6c5b4a"}]'
    head = '[{"sku": "api-basic", "price": 12, "webhook_secret": "whsec_0a1b2c3d4e5f"}]'
    dumped = json.dumps([c.model_dump(mode="json") for c in run(base, head)])
    assert "whsec_" not in dumped
    assert "<redacted>" in dumped


# -- bad input ----------------------------------------------------------------------------------


def test_unparseable_price_names_the_line() -> None:
    base = fixture("saas_plans.json")
    head = base.replace('"price": 199.00,', '"price": "ten dollars",')
    with pytest.raises(UnparseableError, match="ten dollars") as info:
        run(base, head)
    assert info.value.line == line_of(head, '"id": "business-monthly"')


def test_unparseable_csv_price_names_the_row() -> None:
    base = fixture("zone_tariffs.csv")
    head = base.replace("east,0.2712", "east,twenty-seven pence")
    rule = PathRule(key="zone", price_fields=("net_price",))
    with pytest.raises(UnparseableError, match="net_price") as info:
        run(base, head, "tariffs/zones.csv", rule)
    assert info.value.line == 4
    assert info.value.file == "tariffs/zones.csv"


def test_duplicate_keys_name_both_lines() -> None:
    base = fixture("zone_tariffs.csv")
    head = base + "north,0.2900,0.3045,GBP,2024-10-01\n"
    rule = PathRule(key="zone", price_fields=("net_price",))
    with pytest.raises(UnparseableError, match="lines 2 and 6"):
        run(base, head, "tariffs/zones.csv", rule)


def test_missing_configured_key_and_no_key_field() -> None:
    base = fixture("zone_tariffs.csv")
    with pytest.raises(UnparseableError, match="tariff_id"):
        run(base, base, "tariffs/zones.csv", PathRule(key="tariff_id"))
    no_key = '[{"price": 10, "label": "a"}, {"price": 10, "label": "a"}]'
    with pytest.raises(UnparseableError, match="no key field"):
        run(no_key, no_key)


def test_malformed_files_raise_unparseable() -> None:
    with pytest.raises(UnparseableError) as info:
        run('{"plans": [', '{"plans": []}')
    assert info.value.line == 1
    with pytest.raises(UnparseableError, match="fields"):
        run("zone,net_price\nnorth,1\n", "zone,net_price\nnorth,1,2\n", "t.csv")
    with pytest.raises(UnparseableError, match="no list of price records"):
        run('{"plans": "coming soon"}', '{"plans": "coming soon"}', rule=PathRule(kind="pricing"))


# -- properties -----------------------------------------------------------------------------------

PLAN_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
AMOUNTS = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False)


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(PLAN_IDS, min_size=1, max_size=8, unique=True))
    return [
        {
            "plan_code": plan,
            "monthly_price": f"{draw(AMOUNTS):,}",
            "currency": draw(st.sampled_from(["USD", "EUR", "GBP"])),
            "tier": draw(st.sampled_from(["self-serve", "sales-led"])),
        }
        for plan in ids
    ]


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


COLUMNS = ["plan_code", "monthly_price", "currency", "tier"]


@settings(max_examples=examples(60), deadline=None)
@given(catalogs(), st.randoms(use_true_random=False))
def test_property_same_or_shuffled_book_is_no_change(
    rows: list[dict[str, Any]], rnd: random.Random
) -> None:
    as_json = json.dumps({"plans": rows})
    assert run(as_json, as_json) == []
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    assert run(as_json, json.dumps({"plans": shuffled})) == []
    columns = COLUMNS[:]
    rnd.shuffle(columns)
    assert run(to_csv(rows, COLUMNS), to_csv(shuffled, columns), "plans.csv") == []


@settings(max_examples=examples(60), deadline=None)
@given(catalogs(), catalogs())
def test_property_swapping_sides_swaps_ops_and_delta_sign(
    base_rows: list[dict[str, Any]], head_rows: list[dict[str, Any]]
) -> None:
    base, head = to_csv(base_rows, COLUMNS), to_csv(head_rows, COLUMNS)
    forward = by_address(run(base, head, "plans.csv"))
    backward = by_address(run(head, base, "plans.csv"))
    assert forward.keys() == backward.keys()
    swap = {"create": "delete", "delete": "create", "update": "update"}
    for address, change in forward.items():
        other = backward[address]
        assert other.op == swap[change.op]
        assert other.facts["price_before"] == change.facts["price_after"]
        assert other.facts["price_after"] == change.facts["price_before"]
        there, back = change.facts["price_delta_pct"], other.facts["price_delta_pct"]
        if there is not None and back is not None:
            assert (there > 0) == (back < 0)
            assert (there == 0) == (back == 0)


def test_top_level_mapping_of_records() -> None:
    base = (
        '{\n  "pro-monthly": {"price": 10, "currency": "USD"},\n  "pro-annual": {"price": 100}\n}\n'
    )
    head = base.replace('"price": 100', '"price": 96')
    [change] = run(base, head, "prices.json")
    assert change.address == "key:pro-annual"
    assert change.line == 3
    assert change.facts["price_delta_pct"] == -4.0
    [named] = run(base, head, "prices.json", PathRule(key="sku"))
    assert named.address == "sku:pro-annual"


def test_credit_delta_follows_the_direction_of_the_move() -> None:
    base = "code,amount,currency\nloyalty-credit,-10.00,USD\n"
    head = "code,amount,currency\nloyalty-credit,-5.00,USD\n"
    [change] = run(base, head, "credits.csv")
    assert change.facts["price_delta_pct"] == 50.0
    [back] = run(head, base, "credits.csv")
    assert back.facts["price_delta_pct"] == -100.0


# -- price-book shapes from real price books -----------------------------------------------------


def pack_tier(changes: list[Change]) -> tuple[int | str, list[str]]:
    findings = evaluate(load_rule_pack(RULES), changes, is_agent=True, author="pricing-bot[bot]")
    return tier_for(findings), sorted(f.rule for f in findings)


def test_plans_list_keyed_by_plan_id_is_a_price_book() -> None:
    book = fixture("saas_plans.yaml")
    assert detect(read_documents(book.encode(), "yaml", "pricing/plans.yaml"), PathRule())
    head = book.replace("annual_price: 240.00", "annual_price: 180.00")
    [change] = run(book, head, "pricing/plans.yaml")
    assert change.kind == "pricing"
    assert change.address == "plan_id:team"
    assert change.line == line_of(head, "  - plan_id: team")
    assert fields(change) == {"annual_price": (240.0, 180.0)}
    assert change.facts["price_field"] == "monthly_price"
    assert change.facts["price_delta_pct"] == 0.0
    assert change.facts["prices"]["annual_price"] == {
        "before": "240.00",
        "after": "180.00",
        "delta_pct": -25.0,
    }
    assert change.facts["max_delta_pct"] == -25.0
    assert change.facts["max_delta_field"] == "annual_price"
    assert (change.facts["max_delta_before"], change.facts["max_delta_after"]) == (
        "240.00",
        "180.00",
    )


def test_annual_cut_weighs_the_same_as_a_monthly_cut() -> None:
    book = fixture("saas_plans.yaml")
    annual = run(book, book.replace("annual_price: 240.00", "annual_price: 180.00"), "p.yaml")
    monthly = run(book, book.replace("monthly_price: 25.00", "monthly_price: 18.75"), "p.yaml")
    assert monthly[0].facts["max_delta_pct"] == annual[0].facts["max_delta_pct"] == -25.0
    assert pack_tier(annual) == pack_tier(monthly) == (2, ["pricing.large-change"])


def test_limits_are_changes_of_their_plan() -> None:
    book = fixture("saas_plans.yaml")
    head = book.replace("      projects: 10\n", "      projects: 5\n")
    head = head.replace("      seats: 25\n", "      seats: 50\n")
    changes = by_address(run(book, head, "pricing/plans.yaml"))
    starter, team = changes["plan_id:starter"], changes["plan_id:team"]
    assert fields(starter) == {"limits.projects": (10, 5)}
    assert starter.facts["limits"] == {"limits.projects": {"before": 10, "after": 5}}
    assert starter.facts["limit_reduced"] is True
    assert starter.facts["max_delta_pct"] is None
    assert team.facts["limit_reduced"] is False
    assert pack_tier([starter]) == (1, ["pricing.limit-reduced", "pricing.record-update"])
    unlimited = book.replace(
        "      projects: unlimited\n      seats: 25\n", "      projects: 100\n      seats: 25\n"
    )
    [capped] = run(book, unlimited, "pricing/plans.yaml")
    assert capped.facts["limits"] == {"limits.projects": {"before": "unlimited", "after": 100}}
    assert capped.facts["limit_reduced"] is True


def test_stripe_minor_units_and_zero_decimal_currencies() -> None:
    book = fixture("stripe_prices.json")
    head = book.replace('"unit_amount": 4900,\n      "unit_amount_decimal": "4900"', (
        '"unit_amount": 3900,\n      "unit_amount_decimal": "3900"'
    )).replace('"unit_amount": 7400,\n      "unit_amount_decimal": "7400"', (
        '"unit_amount": 5900,\n      "unit_amount_decimal": "5900"'
    ))  # fmt: skip
    changes = by_address(run(book, head, "billing/prices.json"))
    usd = changes["id:price_1QkPro7Ldv4m3EUvKq2Pro01"]
    assert fields(usd) == {"unit_amount": (4900, 3900), "unit_amount_decimal": ("4900", "3900")}
    assert (usd.facts["price_before"], usd.facts["price_after"]) == ("49.00", "39.00")
    assert usd.facts["price_before_num"] == 49.0
    assert usd.facts["price_delta_pct"] == -20.41
    assert usd.line == line_of(head, '"id": "price_1QkPro7Ldv4m3EUvKq2Pro01"')
    jpy = changes["id:price_1QkProJP4m3EUvKq2ProJP"]
    assert (jpy.facts["price_before"], jpy.facts["price_after"]) == ("7400.00", "5900.00")
    assert jpy.facts["currency_after"] == "jpy"
    assert jpy.facts["price_delta_pct"] == -20.27


def test_stripe_graduated_tiers_are_changes_of_their_price() -> None:
    book = fixture("stripe_prices.json")
    head = book.replace('"unit_amount_decimal": "0.2"}', '"unit_amount_decimal": "0.1"}')
    [change] = run(book, head, "billing/prices.json")
    assert change.address == "id:price_1QkApiCalls3EUvKq2Api01"
    assert fields(change) == {"tiers[up_to=inf].unit_amount_decimal": ("0.2", "0.1")}
    assert change.facts["tiers"]["up_to=inf"]["unit_amount_decimal"] == {
        "before": "0.002",
        "after": "0.001",
        "delta_pct": -50.0,
    }
    assert change.facts["tiers"]["up_to=inf"]["flat_amount"]["before"] == "500.00"
    assert change.facts["max_delta_pct"] == -50.0
    assert change.facts["max_delta_field"] == "tiers[up_to=inf].unit_amount_decimal"
    assert change.facts["tiers_mode_changed"] is False
    assert pack_tier([change]) == (2, ["pricing.large-change"])

    volume = book.replace('"tiers_mode": "graduated"', '"tiers_mode": "volume"')
    [mode] = run(book, volume, "billing/prices.json")
    assert fields(mode) == {"tiers_mode": ("graduated", "volume")}
    assert mode.facts["tiers_mode_changed"] is True
    assert pack_tier([mode])[1] == ["pricing.record-update", "pricing.tiers-mode-change"]

    reordered = json.loads(book)
    reordered["data"][2]["tiers"].reverse()
    assert run(book, json.dumps(reordered), "billing/prices.json") == [], "tiers keyed by up_to"


def test_coupons_a_bigger_or_longer_discount_is_a_price_cut() -> None:
    book = fixture("stripe_coupons.json")
    assert detect(read_documents(book.encode(), "json", "coupons.json"), PathRule())
    head = book.replace('"percent_off": 20.0', '"percent_off": 50.0')
    head = head.replace('"amount_off": 1000', '"amount_off": 2500')
    head = head.replace(
        '"duration": "repeating",\n      "duration_in_months": 3',
        '"duration": "forever",\n      "duration_in_months": null',
    )
    changes = by_address(run(book, head, "billing/coupons.json"))

    nonprofit = changes["id:NONPROFIT"]
    assert fields(nonprofit) == {"percent_off": (20.0, 50.0)}
    assert nonprofit.facts["discount_before"] == "20"
    assert nonprofit.facts["discount_after"] == "50"
    assert nonprofit.facts["discount_increased"] is True
    assert nonprofit.facts["max_delta_pct"] == -37.5, "80 % of list → 50 % of list"

    welcome = changes["id:WELCOME10"]
    assert fields(welcome) == {"amount_off": (1000, 2500)}
    assert (welcome.facts["discount_before"], welcome.facts["discount_after"]) == (
        "10.00",
        "25.00",
    )
    assert welcome.facts["discount_delta_pct"] == 150.0
    assert welcome.facts["discount_increased"] is True
    assert welcome.facts["max_delta_pct"] is None

    fewer = run(book, book.replace('"max_redemptions": 500', '"max_redemptions": 100'))
    assert "limit_reduced" not in fewer[0].facts, "fewer coupons is not a plan losing limits"

    launch = changes["id:LAUNCH25"]
    assert launch.facts["duration_before"] == "repeating"
    assert launch.facts["duration_after"] == "forever"
    assert launch.facts["discount_increased"] is True

    tiers = {a: pack_tier([c]) for a, c in changes.items()}
    assert tiers["id:NONPROFIT"] == (2, ["pricing.large-change"])
    assert tiers["id:WELCOME10"] == (2, ["pricing.discount-increase", "pricing.record-update"])
    assert tiers["id:LAUNCH25"] == (2, ["pricing.discount-increase", "pricing.record-update"])

    smaller = by_address(run(head, book, "billing/coupons.json"))
    assert {a: c.facts["discount_increased"] for a, c in smaller.items()} == {
        "id:NONPROFIT": False,
        "id:WELCOME10": False,
        "id:LAUNCH25": False,
    }
    assert smaller["id:NONPROFIT"].facts["max_delta_pct"] == 60.0


@settings(max_examples=examples(60), deadline=None)
@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
    st.sampled_from(["usd", "eur", "jpy", "kwd"]),
)
def test_property_minor_unit_delta_is_exact(before: int, after: int, currency: str) -> None:
    base = json.dumps({"data": [{"id": "price_a", "currency": currency, "unit_amount": before}]})
    head = json.dumps({"data": [{"id": "price_a", "currency": currency, "unit_amount": after}]})
    changes = run(base, head, "prices.json")
    if before == after:
        assert changes == []
        return
    [change] = changes
    exponent = {"jpy": 0, "kwd": 3}.get(currency, 2)
    assert Decimal(change.facts["price_before"]) == Decimal(before).scaleb(-exponent)
    exact = (Decimal(after) - Decimal(before)) / Decimal(before) * 100
    assert change.facts["price_delta_pct"] == float(exact.quantize(Decimal("0.01")))
