"""Train a small MLP on scikit-learn's bundled digits with autograd_c's nn/optim, then the same
with the scikit-learn-style estimator.  Run: python examples/train_mlp_digits.py"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import autograd_c as ag
from autograd_c import nn, optim
from autograd_c.models import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train = scaler.transform(X_train).astype(np.float32)
X_test = scaler.transform(X_test).astype(np.float32)

# 1. by hand: a module, an optimizer, mini-batches
ag.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
opt = optim.Adam(model.parameters(), lr=1e-3)
sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
for epoch in range(30):
    model.train()
    for xb, yb in ag.data.batches(X_train, y_train, batch_size=64, shuffle=True, seed=epoch):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sched.step()
    if epoch % 10 == 9:
        model.eval()
        with ag.no_grad():
            acc = (model(ag.tensor(X_test)).numpy().argmax(1) == y_test).mean()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}, test accuracy {acc:.4f}")

# 2. the estimator
clf = MLPClassifier(hidden_layer_sizes=(128,), batch_size=64, max_iter=50, random_state=0,
                    verbose=True)
clf.fit(X_train, y_train)
print(f"MLPClassifier: test accuracy {clf.score(X_test, y_test):.4f} after {clf.n_iter_} epochs")
