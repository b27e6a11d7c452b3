"""Where numpy itself changed between the supported releases (1.26 .. 2.x), the library follows
the newer numpy; these helpers let a test compare against that answer on an older numpy too."""
import numpy as np

NUMPY = np.lib.NumpyVersion(np.__version__)


def closest_observation_as_numpy_2(monkeypatch):
    """numpy < 2.0.1 rounds quantile(method="closest_observation") ties to the nearest odd
    order statistic (numpy issue 26656, fixed in 2.0.1; Hyndman & Fan's definition 3 takes the
    even one).  Give that numpy 2.0.1's rule for the duration of a test."""
    if NUMPY >= "2.0.1":
        return
    from numpy.lib import function_base as fb

    def virtual_index(n, quantiles):
        return fb._discret_interpolation_to_boundaries(
            n * quantiles - 1 - 0.5, lambda gamma, index: (gamma == 0) & (np.floor(index) % 2 == 1))

    monkeypatch.setitem(fb._QuantileMethods["closest_observation"], "get_virtual_index",
                        virtual_index)
