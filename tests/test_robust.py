"""dozor robust: evasion, constraints, membership inference, extraction, backdoor scan, CLI.

Tiny models, fixed seeds, few steps: the whole file runs in well under a minute on two
cores. Benchmarks against ART and torchattacks live in bench/robust/.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn = pytest.importorskip("sklearn")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.robust.backdoor import scan_backdoor  # noqa: E402
from dozor.robust.constraints import Constraints  # noqa: E402
from dozor.robust.evasion import evaluate, pgd, square  # noqa: E402
from dozor.robust.extraction import extract  # noqa: E402
from dozor.robust.models import (  # noqa: E402
    CallableClassifier,
    SklearnClassifier,
    TorchClassifier,
    accuracy,
)
from dozor.robust.privacy import default_shadow, shadow_attack, threshold_attack  # noqa: E402


def _digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)


def _mlp(x: np.ndarray, y: np.ndarray, steps: int = 150, seed: int = 0) -> TorchClassifier:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return TorchClassifier.wrap(net, (x.shape[1],), clip_values=(0.0, 1.0))


@pytest.fixture(scope="module")
def digits_model() -> tuple[TorchClassifier, np.ndarray, np.ndarray]:
    x, y = _digits()
    model = _mlp(x[:1200], y[:1200])
    return model, x[1200:1500], y[1200:1500]


def test_pgd_lowers_accuracy_and_stays_in_budget(digits_model) -> None:  # type: ignore[no-untyped-def]
    model, x, y = digits_model
    clean = accuracy(model, x, y)
    assert clean > 0.85
    for norm, eps in (("inf", 0.1), ("2", 1.0)):
        xa = pgd(model, x, y, eps=eps, norm=norm, steps=10)
        assert accuracy(model, xa, y) < clean - 0.2
        assert Constraints.box(0, 1).violations(xa, x, eps, norm) == []
    curve = evaluate(model, x, y, attack="pgd", eps=[0.02, 0.1, 0.3], steps=10)
    accs = [b.robust_accuracy for b in curve.budgets]
    assert accs[0] >= accs[1] >= accs[2] and accs[2] < 0.1
    fg = evaluate(model, x, y, attack="fgsm", eps=[0.1])
    assert fg.budgets[0].robust_accuracy >= curve.budgets[1].robust_accuracy - 0.02


def _tabular() -> tuple[np.ndarray, np.ndarray, Constraints]:
    """Breast cancer plus an integer column, a 3-way one-hot group and an immutable column."""
    d = load_breast_cancer()
    rng = np.random.default_rng(0)
    n = len(d.data)
    age = rng.integers(20, 80, n).astype(np.float64)
    cat = np.eye(3)[rng.integers(0, 3, n)]
    x = np.column_stack([d.data, age, cat])
    groups = ((31, 32, 33),)
    cons = Constraints.from_data(x, categorical=groups, immutable=(0, 30))
    return x, d.target, cons


def test_blackbox_lowers_gradient_boosting_and_respects_constraints() -> None:
    x, y, cons = _tabular()
    gb = GradientBoostingClassifier(n_estimators=40, random_state=0).fit(x[:400], y[:400])
    model = SklearnClassifier(gb)
    xt, yt = x[400:], model.labels_to_index(y[400:])
    clean = accuracy(model, xt, yt)
    assert 30 in cons.integer
    for eps, norm in ((0.1, "inf"), (0.3, "2")):
        xa, used = square(model, xt, yt, eps=eps, norm=norm, queries=150, constraints=cons)
        assert used > len(xt)
        assert accuracy(model, xa, yt) < clean - 0.1
        assert cons.violations(xa, xt, eps, norm) == []
        assert np.array_equal(xa[:, [0, 30]], xt[:, [0, 30]])


def test_blackbox_through_a_plain_callable() -> None:
    x, y, cons = _tabular()
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(x[:400], y[:400])
    model = CallableClassifier(lr.predict_proba, 2)
    res = evaluate(model, x[400:], y[400:], attack="blackbox", eps=[0.2], queries=100,
                   constraints=cons)
    assert res.budgets[0].robust_accuracy < res.clean_accuracy
    assert model.calls > 0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.01, 3.0), norm=st.sampled_from(["inf", "2"]))
def test_projection_always_valid(seed: int, eps: float, norm: str) -> None:
    rng = np.random.default_rng(seed)
    n = 20
    x0 = np.column_stack([rng.uniform(0, 5, n), rng.integers(0, 10, n),
                          np.eye(4)[rng.integers(0, 4, n)], rng.normal(size=n)])
    cons = Constraints(lower=np.array([0, 0, 0, 0, 0, 0, -3.0]),
                       upper=np.array([5, 9, 1, 1, 1, 1, 3.0]),
                       integer=(1,), categorical=((2, 3, 4, 5),), immutable=(6,),
                       scale=np.array([5, 9, 1, 1, 1, 1, 1.0]))
    x0[:, 6] = np.clip(x0[:, 6], -3, 3)
    wild = x0 + rng.normal(scale=10, size=x0.shape)
    assert cons.violations(cons.project(wild, x0, eps, norm), x0, eps, norm) == []


def test_membership_inference_on_an_overfit_model() -> None:
    x, y = _digits()
    rng = np.random.default_rng(0)
    noisy = y.copy()
    flip = rng.random(len(y)) < 0.2
    noisy[flip] = rng.integers(0, 10, flip.sum())
    tree = DecisionTreeClassifier(random_state=0).fit(x[:600], noisy[:600])  # memorises
    model = SklearnClassifier(tree)
    res = threshold_attack(model, x[:300], noisy[:300], x[600:900], noisy[600:900])
    assert res.auc > 0.7 and res.advantage > 0.3  # a pure-leaf tree ties: no low-FPR point
    sh = shadow_attack(model, x[:300], noisy[:300], x[600:900], noisy[600:900],
                       x_pool=x[900:1500], y_pool=noisy[900:1500],
                       make_shadow=default_shadow(model), n_shadows=2)
    assert sh.auc > 0.6
    lr = SklearnClassifier(LogisticRegression(C=0.05, max_iter=2000).fit(x[:600], y[:600]))
    # a regularised model leaks much less than the memorising tree
    assert threshold_attack(lr, x[:300], y[:300], x[600:900], y[600:900]).auc < res.auc - 0.1


def test_extraction_agreement() -> None:
    x, y = _digits()
    target = SklearnClassifier(LogisticRegression(max_iter=2000).fit(x[:800], y[:800]))
    res = extract(target, x[800:1300], x[1300:], y[1300:], queries=500)
    assert res.agreement > 0.85 and res.queries == 500
    few = extract(target, x[800:1300], x[1300:], y[1300:], queries=20)
    assert few.agreement < res.agreement


def _poison(x: np.ndarray, y: np.ndarray, rate: float, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    x, y = x.copy(), y.copy()
    idx = rng.choice(np.nonzero(y != 0)[0], int(rate * len(x)), replace=False)
    img = x.reshape(-1, 8, 8)
    img[idx, -3:-1, -3:-1] = 1.0  # 2x2 trigger, bottom right
    y[idx] = 0
    mask = np.zeros(len(x), dtype=bool)
    mask[idx] = True
    return img.reshape(len(x), 64), y, mask


def test_backdoor_found_and_clean_model_not_flagged() -> None:
    x, y = _digits()
    xp, yp, mask = _poison(x[:1200], y[:1200], 0.08)
    bad = _mlp(xp, yp, steps=250)
    trig = xp[mask][:1]
    assert bad.predict_proba(trig).argmax() == 0  # the backdoor was learned
    res = scan_backdoor(bad, xp, yp, poisoned=mask)
    assert res.suspect_classes == (0,)
    assert res.precision is not None and res.precision > 0.8
    assert res.recall is not None and res.recall > 0.6
    clean = _mlp(x[:1200], y[:1200], steps=250)
    assert scan_backdoor(clean, x[:1200], y[:1200]).suspect_classes == ()


# --- CLI ---------------------------------------------------------------------------


def _cli(args: list[str]):  # type: ignore[no-untyped-def]
    from dozor.cli import app

    return CliRunner().invoke(app, args)


@pytest.fixture(scope="module")
def tabular_files(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    import joblib
    import pandas as pd

    d = load_breast_cancer(as_frame=True)
    frame = d.frame
    folder = tmp_path_factory.mktemp("robust")
    gb = GradientBoostingClassifier(n_estimators=30, random_state=0)
    gb.fit(frame.drop(columns="target").iloc[:400], frame.target.iloc[:400])
    joblib.dump(gb, folder / "gb.joblib")
    frame.iloc[400:].to_csv(folder / "test.csv", index=False)
    pd.DataFrame(frame.iloc[:400]).to_csv(folder / "train.csv", index=False)
    return folder


def test_cli_json_report(tabular_files: Path) -> None:
    out = tabular_files / "r.json"
    r = _cli(["robust", str(tabular_files / "gb.joblib"), "--data",
              str(tabular_files / "test.csv"), "--label", "target", "--eps", "0.05",
              "--eps", "0.2", "--queries", "60", "--immutable", "mean radius",
              "-a", "blackbox", "-a", "extraction", "--format", "json", "--output", str(out)])
    assert r.exit_code in (0, 1), r.output
    data = json.loads(out.read_text())["robust"]
    assert 0.8 < data["clean_accuracy"] <= 1.0
    assert set(data["robust_accuracy"]) == {"0.05", "0.2"}
    assert data["robust_accuracy"]["0.2"] < data["clean_accuracy"]
    assert 0 <= data["extraction"]["agreement"] <= 1


def test_cli_refuses_a_model_the_scanner_flags(tmp_path: Path) -> None:
    marker = Path(tempfile.gettempdir()) / "dozor-robust-test-PWNED"
    marker.unlink(missing_ok=True)

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.touch, (marker,))

    model = tmp_path / "model.joblib"
    model.write_bytes(pickle.dumps(Payload()))
    data = tmp_path / "d.csv"
    data.write_text("a,y\n1,0\n2,1\n")
    r = _cli(["robust", str(model), "--data", str(data), "--label", "y"])
    assert r.exit_code == 1
    assert "refused to load" in r.output
    assert not marker.exists()


def test_cli_bad_input_is_one_line(tabular_files: Path) -> None:
    r = _cli(["robust", str(tabular_files / "gb.joblib"), "--data",
              str(tabular_files / "test.csv"), "--label", "nope"])
    assert r.exit_code == 2 and "no column 'nope'" in r.output
    assert "Traceback" not in r.output


def test_html_report_renders_in_chromium(tmp_path: Path, digits_model) -> None:  # type: ignore[no-untyped-def]
    from tests.browser import dump_dom, require_chromium

    require_chromium()
    from dozor.findings import Report
    from dozor.robust.report import RobustThresholds, evasion_findings, render_page

    model, x, y = digits_model
    curve = evaluate(model, x[:100], y[:100], attack="pgd", eps=[0.05, 0.1, 0.2], steps=5)
    report = Report(findings=evasion_findings(curve, "m.pt", RobustThresholds()))
    page = tmp_path / "robust.html"
    page.write_text(render_page(report, {"model": "m.pt", "rows": 100,
                                         "clean_accuracy": curve.clean_accuracy}, [curve]))
    dom = dump_dom(page)
    assert 'alt="robust accuracy against budget"' in dom
    assert "data:image/png;base64," in dom and "<svg" in dom
    assert "DZ-ROB-001" in dom


def test_cli_torch_files(tmp_path: Path, digits_model) -> None:  # type: ignore[no-untyped-def]
    model, x, y = digits_model
    scripted = tmp_path / "m_ts.pt"
    torch.jit.save(torch.jit.script(model.module), str(scripted))
    state = tmp_path / "m_sd.pt"
    torch.save(model.module.state_dict(), state)
    data = tmp_path / "d.npz"
    np.savez(data, x=x[:100], y=y[:100])
    out = tmp_path / "r.json"
    r = _cli(["robust", str(scripted), "--data", str(data), "--label", "y", "--clip", "0,1",
              "-a", "pgd", "--eps", "0.1", "--steps", "10", "-f", "json", "-o", str(out)])
    assert r.exit_code == 1, r.output  # accuracy at eps=0.1 is below 50%: DZ-ROB-001
    doc = json.loads(out.read_text())
    assert doc["robust"]["robust_accuracy"]["0.1"] < 0.5
    assert any(f["rule_id"] == "DZ-ROB-001" for f in doc["findings"])
    r = _cli(["robust", str(state), "--data", str(data), "--label", "y"])
    assert r.exit_code == 2 and "--arch" in r.output


@settings(max_examples=30, deadline=None)
@given(blob=st.binary(max_size=2000), suffix=st.sampled_from([".npz", ".csv", ".parquet"]))
def test_data_loader_survives_garbage(blob: bytes, suffix: str) -> None:
    from dozor.robust.loading import LoadError, load_data

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"d{suffix}"
        path.write_bytes(blob)
        try:
            x, y, names = load_data(path, "y", max_rows=50)
        except LoadError:
            return
        assert len(x) == len(y) <= 50
