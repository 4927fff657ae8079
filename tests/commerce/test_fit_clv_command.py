"""`textpilot fit_clv --transactions FILE.csv [--calibration-end DATE]`: the CDNOW sample as a
customer_id,date,amount file gives the published parameters as JSON; a bad file or date is
one line naming the problem and the line, exit status 2, never a traceback. No database."""
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cdnow import CALIBRATION_END, PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, half_unit, write_csv
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args) -> dict:
    out = StringIO()
    call_command("fit_clv", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("cdnow") / "cdnow.csv")


def test_cdnow_file_gives_the_published_parameters(cdnow_csv):
    report = run("--transactions", str(cdnow_csv), "--calibration-end", CALIBRATION_END.isoformat())
    assert (report["calibration_end"], report["unit"], report["customers"], report["converged"]) == \
        ("1997-09-30", "weeks", 2357, True)
    assert report["rows_fitted"] + report["rows_after_calibration_end"] == 6919
    for name, published in PUBLISHED_BGNBD.items():
        assert abs(report["bgnbd"][name] - published) <= half_unit(published), name
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert abs(report["gamma_gamma"][name] - published) <= half_unit(published), name
    assert report["bgnbd"]["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert (report["bgnbd"]["customers"], report["gamma_gamma"]["customers"]) == (2357, 946)
    assert report["bgnbd"]["converged"] and report["gamma_gamma"]["converged"] and report["warnings"] == []
    assert report["gamma_gamma"]["mean_order_value"] == pytest.approx(6.25 * 15.44 / 2.74, rel=0.01)


def write(tmp_path, text: str, name="t.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


GOOD = "customer_id,date,amount\na,2026-01-01,10\na,2026-01-08,12.50\nb,2026-01-03,8\n"


@pytest.mark.parametrize(("content", "message"), [
    ("", "the file is empty"),
    ("customer,date,amount\na,2026-01-01,10\n", "line 1 (header): missing column customer_id"),
    ("customer_id,date,amount\n", "the file has a header but no transactions"),
    ("customer_id,date,amount\na,2026-01-01,10\nb,2026-13-01,10\n", "line 3: date '2026-13-01' is not a date"),
    ("customer_id,date,amount\na,01/02/2026,10\n", "line 2: date '01/02/2026' is not a date (expected YYYY-MM-DD)"),
    ("customer_id,date,amount\na,2026-01-01,ten\n", "line 2: amount 'ten' is not a number"),
    ("customer_id,date,amount\na,2026-01-01,$10\n", "line 2: amount '$10' is not a number"),
    ("customer_id,date,amount\na,2026-01-01,nan\n", "line 2: amount 'nan' is not a finite number"),
    ("customer_id,date,amount\na,2026-01-01,-5\n", "line 2: amount '-5' is negative"),
    ("customer_id,date,amount\n,2026-01-01,5\n", "line 2: customer_id is empty"),
    ("customer_id,date,amount\na,2026-01-01\n", "line 2: 2 fields where the header has 3"),
    (b"customer_id,date,amount\na,2026-01-01,5\n\xff\xfe,2026-01-02,5\n", "not UTF-8 text"),
])
def test_a_bad_file_names_the_problem(tmp_path, content, message):
    with pytest.raises(CommandError) as caught:
        run("--transactions", write(tmp_path, content))
    assert message in str(caught.value) and caught.value.returncode == 2


def test_bad_arguments_name_the_problem(tmp_path):
    good = write(tmp_path, GOOD)
    for args, message in [
        (["--transactions", str(tmp_path / "missing.csv")], "missing.csv: no such file"),
        (["--transactions", str(tmp_path)], "is a directory"),
        (["--transactions", good, "--calibration-end", "2026-02-30"], "--calibration-end '2026-02-30' is not a date"),
        (["--transactions", good, "--calibration-end", "2025-12-31"], "is before the first transaction (2026-01-01)"),
    ]:
        with pytest.raises(CommandError) as caught:
            run(*args)
        assert message in str(caught.value) and caught.value.returncode == 2, args


def test_columns_in_any_order_extra_columns_blank_lines_and_the_last_day_as_default_end(tmp_path):
    text = "Amount,order_id,Date,Customer_ID\n10,1,2026-01-01,a\n\n12.5,2,2026-01-08T10:30:00,a\n8,3,2026-01-03,b\n"
    report = run("--transactions", write(tmp_path, text))
    assert (report["customers"], report["rows_fitted"], report["calibration_end"]) == (2, 3, "2026-01-08")
    # Fitted, but with a warning that a store would show "not enough data" instead.
    assert report["warnings"] == ["too little data for meaningful estimates: 2 buyers; the model needs at least 200"]


def test_no_repeat_purchase_means_no_spend_model(tmp_path):
    report = run("--transactions", write(tmp_path, "customer_id,date,amount\na,2026-01-01,10\nb,2026-01-03,8\n"))
    assert report["gamma_gamma"] is None and report["converged"] is False and report["customers"] == 2


def test_the_console_script_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = write(tmp_path, "customer_id,date,amount\na,2026-01-01,10\nb,yesterday,5\n")
    textpilot = Path(sys.executable).with_name("textpilot")
    done = subprocess.run([str(textpilot), "fit_clv", "--transactions", bad], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "line 3: date 'yesterday' is not a date (expected YYYY-MM-DD)" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
