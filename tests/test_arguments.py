"""One set of argument types for every command: a count, a seed, a path mean the same
thing to `train` and to `experiments`, and say the same thing when they are wrong."""
import pytest

#: Each command with enough options that, should it accept a value, it runs quickly.
COMMANDS = {
    "train": ["train", "--sizes", "784,10,10", "--limit", "100"],
    "experiments": ["experiments", "chapter1", "--only", "no-hidden", "--seeds", "0",
                    "--limit", "100", "--epochs", "1"],
}


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "epochs must be an integer >= 1, got 0"),
    ("--epochs", "-3", "epochs must be an integer >= 1, got -3"),
    ("--epochs", "two", "invalid int value: 'two'"),
    ("--batch", "0", "batch must be an integer >= 1, got 0"),
    ("--batch", "2.5", "invalid int value: '2.5'"),
    ("--limit", "0", "limit must be an integer >= 1, got 0"),
])
@pytest.mark.parametrize("command", COMMANDS)
def test_train_and_experiments_take_counts_alike(run, tmp_path, command, option, value, message):
    code, out, err = run(*COMMANDS[command], "--out" if command == "experiments" else "--log",
                         str(tmp_path / "out"), option, value)
    assert code == 2 and out == ""
    assert f"argument {option}: {message}" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--seed", "-1"], "argument --seed: seed must be an integer from 0 to 2**32 - 1, got -1"),
    (["train", "--seed", "4294967296"], "argument --seed: seed must be an integer from 0 to 2**32 - 1, "
                                        "got 4294967296"),
    (["experiments", "chapter1", "--seeds", "-1"], "argument --seeds: seeds must be integers or "
                                                   "ranges such as 0-19, 0,1,2 or 0-4,10; got '-1'"),
    (["experiments", "chapter1", "--seeds", "0,4294967296"], "argument --seeds: seeds[1] must be an "
                                                             "integer from 0 to 2**32 - 1, got 4294967296"),
    (["experiments", "chapter1", "--seeds", "0,a"], "argument --seeds: seeds must be integers or "
                                                    "ranges such as 0-19, 0,1,2 or 0-4,10; got '0,a'"),
    (["experiments", "chapter1", "--seeds", "0-2,1"], "argument --seeds: seeds must differ, got 1 twice"),
    (["experiments", "chapter1", "--seeds", "1,2,1"], "argument --seeds: seeds must differ, got 1 twice"),
    (["train", "--threads", "0"], "argument --threads: threads must be an integer >= 1, got 0"),
    (["train", "--lmbda", "-1"], "argument --lmbda: lmbda must be finite and >= 0, got -1.0"),
    (["train", "--lmbda", "inf"], "argument --lmbda: lmbda must be finite and >= 0, got inf"),
    (["train", "--cost", "hinge"], "argument --cost: invalid choice: 'hinge'"),
    (["train", "--init", "zeros"], "argument --init: invalid choice: 'zeros'"),
])
def test_seeds_and_the_new_training_options_are_checked(run, tmp_path, argv, message):
    code, out, err = run(*argv, "--limit", "100", *(["--out", str(tmp_path)] if argv[0] == "experiments" else []))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("seeds, message", [
    ("0-99999999999", "seeds[4294967296] must be an integer from 0 to 2**32 - 1, got 4294967296"),
    ("7,99999999999-99999999999999", "seeds[1] must be an integer from 0 to 2**32 - 1, "
                                     "got 99999999999"),
    ("0,4294967294-4294967297", "seeds[3] must be an integer from 0 to 2**32 - 1, got 4294967296"),
    ("0-4294967295", "seeds '0-4294967295' name 4,294,967,296 seeds; a command takes at most 1,000,000"),
])
@pytest.mark.parametrize("command", ["experiments", "sweep"])
def test_a_range_of_seeds_is_bounded_before_it_is_expanded(run, tmp_path, command, seeds, message):
    argv = ["experiments", "chapter1", "--out", str(tmp_path)] if command == "experiments" else [
        "sweep", "--out", str(tmp_path / "sweep.jsonl")]
    code, out, err = run(*argv, "--seeds", seeds, "--limit", "100")
    assert code == 2 and out == ""
    assert f"argument --seeds: {message}" in err and err.count("\n") == 1
