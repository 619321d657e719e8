"""The README's grid search: eta and the hidden layer's size, 5-fold CV on 5,000 MNIST images.

    python docs/sklearn_grid.py [MNIST_FOLDER]

Two fits at a time (n_jobs=2), each on one kernel thread (threads=1). Prints every
setting's cross-validated accuracy (mean and standard deviation over the folds), the best
setting, and its accuracy on the 10,000 test images once GridSearchCV has refitted it on
all 5,000.
"""
import sys

from sklearn.model_selection import GridSearchCV

from fastnet.mnist_loader import load_data
from fastnet.sklearn import NetworkClassifier

(X, y), _, (X_test, y_test) = load_data(sys.argv[1] if len(sys.argv) > 1 else None)
search = GridSearchCV(NetworkClassifier(epochs=10, random_state=0, threads=1),
                      {"eta": [0.5, 3.0], "hidden_layer_sizes": [(30,), (100,)]},
                      cv=5, n_jobs=2)
search.fit(X[:5000], y[:5000])
results = search.cv_results_
for params, mean, std in zip(results["params"], results["mean_test_score"],
                             results["std_test_score"]):
    print(f"eta={params['eta']:<4} hidden={params['hidden_layer_sizes']}:  {mean:.4f} +- {std:.4f}")
print(f"best: {search.best_params_}  cross-validated accuracy {search.best_score_:.4f}")
print(f"refit on all 5,000, test accuracy: {search.score(X_test, y_test):.4f}")
