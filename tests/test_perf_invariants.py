"""Properties the speed depends on: no allocation per epoch, no float64 arithmetic in
float32 mode, few compiled specialisations. Each check runs in a fresh subprocess
(NRT statistics must be switched on before Numba starts; IR inspection needs a
compilation that did not come from the cache)."""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fastnet import _pool, _trainers, network


ROOT = Path(__file__).resolve().parent.parent


def _execute(script, tmp_path, timeout=600, without=(), **env):
    """Run ``script`` in a fresh interpreter (kernel cache in ``tmp_path``; None: the suite's
    own; none of the variables named in ``without``) that must succeed; returns its
    ``CompletedProcess`` (stdout and stderr as text)."""
    cache = {} if tmp_path is None else {"NUMBA_CACHE_DIR": str(tmp_path)}
    ours = {name: value for name, value in os.environ.items() if name not in without}
    environment = dict(ours, PYTHONPATH=str(ROOT), **cache, **env)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=environment,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done


def run(script, tmp_path, without=(), **env):
    """Run ``script`` in a fresh interpreter; its last stdout line is JSON."""
    done = _execute(script, tmp_path, without=without, **env)
    return json.loads(done.stdout.strip().splitlines()[-1])


ALLOCATIONS = """
    import json, numpy as np
    from numba.core.runtime import rtsys
    import fastnet.network as network
    from fastnet import _trainers

    def allocations(step):
        before = rtsys.get_allocation_stats().alloc
        step()
        return rtsys.get_allocation_stats().alloc - before

    rng = np.random.default_rng(0)
    counts = {}
    for sizes, threads, zeros in (([20, 16, 4], 1, 0.0), ([48, 320, 350, 3], 2, 0.0),
                                  ([64, 40, 5], 1, 0.8), ([64, 300, 5], 2, 0.8),
                                  ([64, 30, 20, 5], 2, 0.8)):
        net = network.Network(sizes, threads=threads)
        X = rng.random((95, sizes[0]))
        X[rng.random(X.shape) < zeros] = 0
        T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 95)]
        order = rng.permutation(95)
        trainer = _trainers.choose(net, X, T, 10, 1.0, set())
        with trainer.epoch():
            net._train_samples(trainer, order, 0.5)     # compile, build the workspace
            counts[f"{sizes} {type(trainer).__name__}"] = [
                allocations(lambda: net._train_samples(trainer, order[:n], 0.5)) for n in (10, 95)]
    print(json.dumps(counts))
"""


def test_an_epoch_allocates_nothing_per_mini_batch(tmp_path):
    """NRT counts one allocation per array argument passed in from Python (the call's
    boxing); beyond that, an epoch of 10 mini-batches must allocate what one does."""
    counts = run(ALLOCATIONS, tmp_path, NUMBA_NRT_STATS="1")
    assert sum("SparseTrainer" in key for key in counts) == 3, counts
    for one_batch, ten_batches in counts.values():
        assert one_batch > 0, "the allocation counter sees nothing: the check is void"
        assert ten_batches == one_batch


PRECISION = r"""
    import json, re, numpy as np
    import fastnet.network as network
    from fastnet import _kernels

    rng = np.random.default_rng(0)
    X, y = rng.random((30, 20)), rng.integers(0, 4, 30)
    for dtype in (np.float32, np.float64):
        net = network.Network([20, 16, 4], dtype=dtype)
        list(net.train((X, y), 1, 10, 0.5, test_data=(X, y)))
    found = {}
    for sig in _kernels.train_epoch.signatures:
        ir = _kernels.train_epoch.inspect_llvm(sig)
        found[str(sig[0].dtype)] = len(re.findall(r"\b(?:fadd|fsub|fmul|fdiv)\b[^\n]*\bdouble\b", ir))
    print(json.dumps({"double_ops": found,
                      "specialisations": {k.__name__: len(k.signatures) for k in
                                          (_kernels.train_epoch, _kernels.predict,
                                           _kernels._first_layer_step, _kernels._affine,
                                           _kernels._descend, _kernels._backward_block)}}))
"""


def test_float32_kernels_do_no_float64_arithmetic_and_specialisations_are_few(tmp_path):
    found = run(PRECISION, tmp_path)
    assert found["double_ops"]["float64"] > 0, "the IR pattern finds nothing: the check is void"
    assert found["double_ops"]["float32"] == 0
    # one per dtype: a literal integer argument between kernels would add another
    assert found["specialisations"] == {"train_epoch": 2, "predict": 2, "_first_layer_step": 2,
                                        "_affine": 2, "_descend": 2, "_backward_block": 2}


THREADED_FROM_CACHE = """
    import json, random, numpy as np
    import fastnet.network as network
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 48)), rng.integers(0, 3, 20)
    np.random.seed(0)
    random.seed(0)
    net = network.Network([48, 320, 350, 3], threads=2)
    list(net.train((X, y), 1, 10, 0.5))
    print(json.dumps(float(net.weights[1].sum())))
"""


def test_threaded_kernels_run_when_loaded_from_the_cache(tmp_path):
    """A second process loads the kernels from the cache; the thread pool must still start."""
    compiled = run(THREADED_FROM_CACHE, tmp_path)
    assert run(THREADED_FROM_CACHE, tmp_path) == compiled


VECTORS = """
    import json, numpy as np
    import fastnet.network as network
    from fastnet import _kernels
    from fastnet._codegen import PREFER_512

    net = network.Network([20, 16, 4])
    X, y = np.random.default_rng(0).random((30, 20)), np.arange(30) % 4
    list(net.train((X, y), 1, 10, 0.5))
    marked = {}
    for kernel in (_kernels._affine, _kernels._sigmoid_all, _kernels._descend, _kernels._input_deltas):
        ir = kernel.inspect_llvm(kernel.signatures[0])
        marked[kernel.__name__] = PREFER_512 in ir
    buffers = [net._params] + [vars(w)[name] for w in net._workspaces.values()
                               for name in ("activations", "spare", "deltas")]
    print(json.dumps({"marked": marked, "addresses": [b.ctypes.data % 64 for b in buffers]}))
"""


def test_dense_kernels_ask_for_wide_vectors_over_cache_aligned_buffers(tmp_path):
    found = run(VECTORS, tmp_path)
    assert found["marked"] == {"_affine": True, "_sigmoid_all": True, "_descend": True,
                               "_input_deltas": True}
    assert len(found["addresses"]) >= 4
    assert set(found["addresses"]) == {0}


COMPILE_ONE_KERNEL = """
    import json, random
    import fastnet.network  # installs the note
    from fastnet import _shuffle
    _shuffle.shuffle(random.Random(0), list(range(5)))
    print(json.dumps(None))
"""


def test_the_first_compilation_is_announced_once_and_a_cached_run_is_quiet(tmp_path):
    """A kernel compiled from scratch says so on stderr; loaded from the cache, nothing."""
    from fastnet._compiling import MESSAGE
    said = []
    for _ in range(2):
        done = _execute(COMPILE_ONE_KERNEL, tmp_path, timeout=300)
        said.append(done.stderr.count(MESSAGE))
    assert said == [1, 0]


#: 300 rows like MNIST's (a fifth non-zero) and their labels, as ``X`` and ``y``, in a script.
MNIST_LIKE = """
    _trainers.CSR_PARALLEL_ROWS = 100   # these rows convert as MNIST's many do
    rows = np.random.default_rng(1)
    X = (rows.random((300, 784)) * (rows.random((300, 784)) < 0.2)).astype(np.float32)
    y = rows.integers(0, 10, 300)
"""


PARALLEL_LOOPS = """
    import json, warnings
    import numpy as np
    from numba.core.errors import NumbaPerformanceWarning
    from fastnet import _trainers, network

    warnings.simplefilter("error", NumbaPerformanceWarning)   # a prange run as a plain loop
""" + MNIST_LIKE + """
    for sparse in (True, False):
        net = network.Network([784, 24, 10], sparse=sparse, threads=2)
        for _ in net.train((X, y), 1, 10, 3.0, test_data=(X, y)):
            pass
    print(json.dumps(None))
"""


def test_every_parallel_loop_compiles_to_a_parallel_loop(tmp_path):
    """Numba runs a ``prange`` loop it cannot split (an exit from its body, say a check
    that raises in an inlined helper) as a plain loop, with only a warning: compiled from
    scratch, the sparse and dense paths' parallel kernels give none."""
    run(PARALLEL_LOOPS, tmp_path)


PRELOAD = """
    import gc, json, random
    import numpy as np
    from numba.core.dispatcher import Dispatcher
    from fastnet import _trainers, network

    def loaded():
        return {(kernel.py_func.__qualname__, str(types)) for kernel in gc.get_objects()
                if isinstance(kernel, Dispatcher) and kernel.py_func.__module__.startswith("fastnet")
                for types in kernel.overloads}

    net = network.Network([784, 24, 10], dtype=np.%s, rng=np.random.RandomState(0))
    _trainers.preload(net, 10)
    preloaded = loaded()
""" + MNIST_LIKE + """
    for _ in net.train((X, y), 2, 10, 3.0, test_data=(X, y), rng=random.Random(2)):
        pass
    print(json.dumps({"preloaded": len(preloaded), "new": sorted(map(str, loaded() - preloaded))}))
"""


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_preload_loads_every_kernel_a_training_on_mnist_like_data_calls(dtype):
    """After ``_trainers.preload`` a training on sparse float32 rows, tested each epoch,
    loads no kernel more: the command loads them while it reads MNIST. (The suite's
    kernel cache: compiled by the tests before, or once here.)"""
    found = run(PRELOAD % dtype, None)
    assert found["preloaded"] >= 8
    assert found["new"] == []


COLD_PRELOAD = """
    import json
    from numba.core import event
    from fastnet import _trainers, network

    compiled = []

    class Compiled(event.Listener):
        def on_start(self, happening):
            compiled.append(happening.data["dispatcher"].py_func.__qualname__)

        def on_end(self, happening):
            pass

    event.register("numba:compile", Compiled())
    _trainers.preload(network.Network([784, 24, 10]), 10)
    print(json.dumps(compiled))
"""


def test_a_first_preload_leaves_the_evaluation_to_a_second_process(tmp_path):
    """With an empty kernel cache, ``preload`` compiles the training epoch while a second
    process compiles the other kernels (``_compiling.second_process``); the evaluation and
    the mirror's way back it then loads from the cache, never compiles."""
    compiled = run(COLD_PRELOAD, tmp_path)
    assert "train_epoch" in compiled and "all_finite" in compiled
    assert "predict" not in compiled and "unmirror" not in compiled


def test_the_second_process_is_waited_for_and_else_stopped_at_once():
    from fastnet import _compiling
    quick = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    _compiling.finish(quick)   # waited for: it ends by itself
    assert quick.returncode == 0
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    _compiling.finish(slow, wait=False)   # after an error or an interrupt: stopped, not waited for
    assert slow.returncode == -signal.SIGKILL
    _compiling.finish(None)   # none started: nothing to do


CACHED_LOAD = """
    import json, sys, numpy as np
    import numba
    from fastnet import _trainers, network

    _trainers.preload(network.Network([784, 30, 10]), 10)
    registries = "numba.np.arraymath" in sys.modules   # imported when Numba sets them up
    arrays = "numba.np.arrayobj" in sys.modules   # imported for the environment of reshape
    total = numba.njit(lambda a: a.sum())(np.arange(4.0))   # compiling sets them up
    print(json.dumps({"registries": registries, "arrays": arrays, "total": total}))
"""


def test_kernels_load_from_the_cache_without_numbas_registries():
    """A process whose kernels all come from the cache loads them without setting up
    Numba's typing and lowering registries (``_jit``), nor importing Numba's array
    implementations (``_views``: no kernel calls ``reshape``); a function compiled
    afterwards in that process still compiles with them."""
    _trainers.preload(network.Network([784, 30, 10]), 10)   # the suite's cache holds them now
    assert run(CACHED_LOAD, None) == {"registries": False, "arrays": False, "total": 6.0}


def test_preload_changes_neither_the_network_nor_any_random_state():
    net = network.Network([784, 16, 10], rng=np.random.RandomState(3))
    before, numpy_state, python_state = net.parameters.copy(), np.random.get_state(), random.getstate()
    _trainers.preload(net, 10)
    np.testing.assert_array_equal(net.parameters, before)
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]


def _globals_named(function, argument_types):
    """The globals ``function``'s code names once Numba's dead-branch pruning (a pass of
    every compilation) has seen arguments of ``argument_types``."""
    from numba.core import compiler, ir
    from numba.core.analysis import dead_branch_prune
    code = compiler.run_frontend(function.py_func)
    dead_branch_prune(code, argument_types)
    return {statement.value.name for block in code.blocks.values() for statement in block.body
            if isinstance(statement, ir.Assign) and isinstance(statement.value, ir.Global)}


def test_one_hidden_layer_compiles_without_the_layers_above_the_first():
    """``train_epoch``'s ``deep`` is None for one hidden layer: the band's code then never
    names the layers above the first, so they are not compiled (a third of the main job's
    first compilation)."""
    from numba.core import types
    from fastnet import _sparse
    others, grouping = (types.int64,) * 9, types.none   # not looked at by the pruning
    assert "_upper_layers" not in _globals_named(_sparse._train_band,
                                                 (*others, types.none, grouping))
    assert "_upper_layers" in _globals_named(_sparse._train_band,
                                             (*others, types.int64[::1], grouping))


def test_networks_too_narrow_to_group_compile_without_the_grouping():
    """``train_epoch``'s ``grouping`` is None when no thread's band can be grouped by pixel
    (784-30-10): the first layer's code then never names the grouping's kernels, so they
    are not compiled (a quarter of the main job's first run)."""
    from numba.core import types
    from fastnet import _sparse
    from fastnet._layout import Workspace
    grouped = {"_regroup", "_first_half", "_update_half", "_forward_half"}
    others = (types.int64,) * 13   # not looked at by the pruning
    assert not grouped & _globals_named(_sparse._first_layer, (*others, types.none))
    assert grouped <= _globals_named(_sparse._first_layer, (*others, types.int64[:, ::1]))

    def grouping(hidden):
        layout = network.Network([784, hidden, 10])._layout
        return _sparse.grouping_of(_sparse.scratch(layout, 10, np.float64, 2,
                                                   Workspace(layout, 10, np.float64)))
    assert grouping(30) is None and grouping(120) is None   # 15 vectors in all
    assert grouping(128) is not None   # 16: a team of one thread groups them


IDLE_SPIN = """
    import json, os, time
    before = dict(os.environ)
    import numba, numpy as np
    import fastnet.network as network
    kept = dict(os.environ) == before
    net = network.Network([64, 32, 4], threads=2)
    X = np.random.default_rng(0).random((256, 64))
    idle = []
    for _ in range(5):
        net.outputs(X)   # a parallel region of two threads
        started = time.process_time()
        time.sleep(0.1)
        idle.append(time.process_time() - started)
    gnu = any("libgomp" in line for line in open("/proc/self/maps"))
    print(json.dumps({"kept": kept, "idle": sorted(idle)[2], "threads": numba.get_num_threads(),
                      "layer": numba.threading_layer(), "gnu": gnu}))
"""


def test_idle_workers_stop_spinning_soon_unless_the_user_says_otherwise(tmp_path):
    """After a parallel region, Numba's idle OpenMP worker spins for about a millisecond,
    not GNU OpenMP's 7 ms (CPU time of the process while it sleeps, the median of five
    sleeps). The environment is the user's before and after; a wait of the user's own
    (GNU's default spin, set explicitly) is the one that runs."""
    ours, users = (run(IDLE_SPIN, tmp_path, without=_pool.USER_SETTINGS, **extra)
                   for extra in ({}, {"GOMP_SPINCOUNT": "300000"}))
    if not (ours["layer"] == "omp" and ours["gnu"] and ours["threads"] >= 2):
        pytest.skip(f"needs GNU OpenMP and two threads: {ours}")
    if users["idle"] < 0.003:
        pytest.skip(f"GNU's default spin is too short on this CPU to tell: {users}")
    assert ours["kept"] and users["kept"]
    assert ours["idle"] < users["idle"] / 2, (ours, users)
