"""fastnet.sklearn.NetworkClassifier: scikit-learn's estimator checks, pipelines, grid
searches (also on a Dask cluster), labels of any type, pickling and determinism."""
import importlib
import pickle
import random
import sys
import warnings

import numpy as np
import pytest

from needs import needed


def require(module):
    """Import an optional dependency: under CI a missing one fails, elsewhere it skips."""
    try:
        return importlib.import_module(module)
    except ImportError:
        needed(f"{module} is not installed: pip install -e '.[sklearn,distributed]' "
               f"(CI installs both)")


require("sklearn")

from sklearn.base import clone                                            # noqa: E402
from sklearn.datasets import load_digits                                  # noqa: E402
from sklearn.exceptions import NotFittedError                             # noqa: E402
from sklearn.model_selection import GridSearchCV                          # noqa: E402
from sklearn.pipeline import make_pipeline                                # noqa: E402
from sklearn.preprocessing import StandardScaler                          # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks        # noqa: E402

from fastnet.sklearn import NetworkClassifier                             # noqa: E402

GRID = {"eta": [0.1, 3.0], "hidden_layer_sizes": [(5,), (30,)]}


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits (shipped with it), pixels scaled to [0, 1]: 600 to train."""
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture(scope="module")
def mnist_subset(mnist):
    """2,000 MNIST training images and 1,000 test images."""
    (X, y), _, (X_test, y_test) = mnist
    return X[:2000], y[:2000], X_test[:1000], y_test[:1000]


@pytest.fixture
def dask_client():
    """A real two-process Dask cluster and its client, closed after the test."""
    distributed = require("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@parametrize_with_checks([
    NetworkClassifier(),
    NetworkClassifier(hidden_layer_sizes=(), eta=0.5, lmbda=0.1, cost="cross-entropy",
                      init="scaled", dtype="float32", threads=1),
])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_pipeline_with_standard_scaler_learns_mnist(mnist_subset):
    X, y, X_test, y_test = mnist_subset
    model = make_pipeline(StandardScaler(),
                          NetworkClassifier(epochs=5, init="scaled", random_state=0))
    # 12 seeds scored 0.855-0.881 here; an estimator that mislabels or does not train
    # scores about 0.1.
    assert model.fit(X, y).score(X_test, y_test) > 0.83


def test_string_labels_train_the_same_network_as_integers(digits):
    X, y = digits
    names = np.array([f"digit {d}" for d in range(10)])   # sorted like the digits
    as_numbers = NetworkClassifier(epochs=3, random_state=0).fit(X, y)
    as_names = NetworkClassifier(epochs=3, random_state=0).fit(X, names[y])
    assert as_names.classes_.tolist() == names.tolist()
    np.testing.assert_array_equal(as_names.network_.parameters, as_numbers.network_.parameters)
    np.testing.assert_array_equal(as_names.predict(X), names[as_numbers.predict(X)])


def test_two_classes_get_one_output_each_and_proba_rows_sum_to_one(digits):
    X, y = digits
    labels = np.where(y < 5, "low", "high")
    model = NetworkClassifier(epochs=3, random_state=0).fit(X, labels)
    assert model.network_.sizes == (64, 30, 2)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert model.score(X, labels) > 0.8


def test_outputs_all_zero_give_uniform_proba(digits):
    X, y = digits
    model = NetworkClassifier(epochs=1, random_state=0).fit(X, y)
    model.network_.biases[-1][...] = -1000.0      # every output's sigmoid underflows to 0
    np.testing.assert_array_equal(model.network_.outputs(X[:3]), 0.0)
    np.testing.assert_array_equal(model.predict_proba(X[:3]), 0.1)


def test_parameters_reach_the_network(digits):
    X, y = digits
    model = NetworkClassifier(hidden_layer_sizes=[20, 15], epochs=2, cost="cross-entropy",
                              init="scaled", dtype="float32", threads=1, random_state=0)
    network = model.fit(X, y).network_
    assert network.sizes == (64, 20, 15, 10)
    assert (network.cost.name, network.init, network.dtype, network.threads) == (
        "cross-entropy", "scaled", np.float32, 1)
    assert model.n_iter_ == 2 and model.n_features_in_ == 64


def test_inputs_are_used_as_given(digits):
    X, y = digits
    counts = np.rint(X * 2).astype(np.uint8)             # 0, 1, 2: not rescaled as bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_bytes = NetworkClassifier(epochs=1, random_state=0).fit(counts, y)
    from_floats = NetworkClassifier(epochs=1, random_state=0).fit(counts.astype(float), y)
    np.testing.assert_array_equal(from_bytes.network_.parameters,
                                  from_floats.network_.parameters)


def test_random_state_fixes_the_network_and_leaves_global_generators_alone(digits):
    X, y = digits
    python_state, numpy_state = random.getstate(), np.random.get_state()
    first = NetworkClassifier(epochs=2, random_state=7).fit(X, y).network_.parameters
    again = NetworkClassifier(epochs=2, random_state=7).fit(X, y).network_.parameters
    other = NetworkClassifier(epochs=2, random_state=8).fit(X, y).network_.parameters
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert random.getstate() == python_state
    after = np.random.get_state()
    np.testing.assert_array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


def test_partial_fit_trains_one_epoch_like_fit(digits):
    X, y = digits
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        NetworkClassifier().partial_fit(X, y)
    stepwise = NetworkClassifier(random_state=0).partial_fit(X, y, classes=np.arange(10))
    at_once = NetworkClassifier(epochs=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(stepwise.network_.parameters, at_once.network_.parameters)
    assert stepwise.n_iter_ == 1
    before = stepwise.score(X, y)
    for _ in range(4):
        stepwise.partial_fit(X, y)
    assert stepwise.n_iter_ == 5 and stepwise.score(X, y) > before


def test_partial_fit_accepts_batches_missing_classes_but_not_unknown_ones(digits):
    X, y = digits
    model = NetworkClassifier(random_state=0)
    model.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert model.network_.sizes[-1] == 10
    model.partial_fit(X[y >= 5], y[y >= 5])
    with pytest.raises(ValueError, match=r"y holds labels \[10\] that are not among the classes"):
        model.partial_fit(X[:3], np.array([1, 10, 2]))


@pytest.mark.parametrize("params, match", [
    ({"eta": 0}, "'eta' parameter .* Got 0 instead"),
    ({"epochs": 0}, "'epochs' parameter .* Got 0 instead"),
    ({"cost": "hinge"}, "'cost' parameter .* Got 'hinge' instead"),
    ({"dtype": np.int32}, "'dtype' parameter"),
    ({"hidden_layer_sizes": (30, 0)}, r"hidden_layer_sizes must be positive integers.*\(30, 0\)"),
    ({"hidden_layer_sizes": {30, 100}}, r"hidden_layer_sizes must be .* in order, .*\(a set has no order\)"),
])
def test_bad_parameters_are_named_in_fit(digits, params, match):
    X, y = digits
    model = NetworkClassifier(**params)                    # __init__ only stores them
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


def test_a_failed_fit_leaves_the_fitted_model_as_it_was(digits):
    X, y = digits
    model = NetworkClassifier(random_state=0, epochs=2).fit(X, y)
    predicted, parameters = model.predict(X), model.network_.parameters.copy()
    for params, data in (({"lmbda": 1e4}, (X, y)),                       # refused by the network
                         ({}, (X * 1e300, y))):                          # too large for float32
        model.set_params(**params, dtype="float32" if not params else np.float64)
        with pytest.raises(ValueError, match="lmbda=10000 is too large|^X: values too large"):
            model.fit(*data)
        assert model.n_iter_ == 2 and np.array_equal(model.predict(X), predicted)
        np.testing.assert_array_equal(model.network_.parameters, parameters)


def test_a_failed_first_partial_fit_leaves_the_model_unfitted(digits):
    X, y = digits
    model = NetworkClassifier(random_state=0)
    with pytest.raises(ValueError, match=r"y holds labels \[5, 6, 7, 8, 9\]"):
        model.partial_fit(X, y, classes=np.arange(5))
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.partial_fit(X, y, classes=np.arange(10))          # the corrected call works
    assert model.n_iter_ == 1 and list(model.classes_) == list(range(10))


def test_pickle_round_trip_predicts_the_same(digits):
    X, y = digits
    model = NetworkClassifier(epochs=2, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))


def test_clone_is_unfitted_with_the_same_parameters(digits):
    X, y = digits
    model = NetworkClassifier(hidden_layer_sizes=(12,), eta=1.5, random_state=3).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "network_")
    with pytest.raises(NotFittedError):
        copy.predict(X)


def grid_search(X, y, n_jobs):
    """3-fold search over GRID; threads=1, as concurrent fits on shared cores need."""
    search = GridSearchCV(NetworkClassifier(epochs=5, threads=1, random_state=0), GRID, cv=3,
                          n_jobs=n_jobs)
    return search.fit(X, y)


def test_grid_search_in_process_and_on_a_dask_cluster_agree(digits, dask_client):
    import joblib
    from distributed import get_task_stream
    X, y = digits
    local = grid_search(X, y, n_jobs=1)
    with joblib.parallel_backend("dask"), get_task_stream(dask_client) as stream:
        remote = grid_search(X, y, n_jobs=-1)
    assert len(stream.data) >= 3 * 4                      # the 12 fits ran on the cluster
    scores = local.cv_results_["mean_test_score"]
    assert len(set(scores)) == 4                          # every setting scored on its own
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], scores)
    assert remote.best_params_ == local.best_params_


def test_without_scikit_learn_says_what_to_install(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "sklearn"]:
        monkeypatch.setitem(sys.modules, name, None)      # None: "not installed"
    monkeypatch.delitem(sys.modules, "fastnet.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'fastnet-nndl\[sklearn\]'"):
        importlib.import_module("fastnet.sklearn")
