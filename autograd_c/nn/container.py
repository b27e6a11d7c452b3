"""Containers that register the modules they hold: ModuleList and ModuleDict.

Neither defines ``forward``: they hold layers for a ``forward`` written by hand.  Their modules
are ordinary sub-modules, so ``parameters()``, ``train()``/``eval()``, ``to()`` and
``state_dict()`` (names "0.weight", "encoder.bias", ...) reach them.
"""
import operator

from .module import Module

__all__ = ["ModuleList", "ModuleDict"]


def _check_module(m, where):
    if not isinstance(m, Module):
        raise TypeError(f"{where}: expected a Module, got {type(m).__name__}")
    return m


def _seq_index(idx, n, who):
    """``idx`` (an integer, negative from the end) as a position in [0, n), or the
    TypeError/IndexError a list would raise, naming ``who`` and the length."""
    try:
        i = operator.index(idx)
    except TypeError:
        raise TypeError(f"{who} indices must be integers or slices, got "
                        f"{type(idx).__name__}") from None
    if not -n <= i < n:
        raise IndexError(f"{who} index {i} is out of range for length {n}")
    return i + n if i < 0 else i


def _extend(container, modules, who):
    """``container.append`` every module of the iterable ``modules``, all checked first (a bad
    element adds nothing); returns ``container``."""
    try:
        mods = list(modules)
    except TypeError:
        raise TypeError(f"{who}: expected an iterable of Modules, got "
                        f"{type(modules).__name__}") from None
    for m in mods:
        _check_module(m, who)
    for m in mods:
        container.append(m)
    return container


def _renumber(container, mods):
    """Re-register ``mods`` in ``container`` under the names "0", "1", ... (after a deletion or
    an insertion), as PyTorch does."""
    for name in list(container.__dict__["_module_names"]):
        delattr(container, name)
    for i, m in enumerate(mods):
        setattr(container, str(i), m)


class ModuleList(Module):
    """A list of modules, registered under the names "0", "1", ...

    Supports indexing (a slice gives a new ModuleList), assignment and deletion by index,
    ``append``, ``extend``, ``insert``, ``+=``, iteration and ``len``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> layers = ag.nn.ModuleList([ag.nn.Linear(2, 3), ag.nn.Linear(3, 1)])
    >>> layers.append(ag.nn.ReLU())
    ModuleList(...)
    >>> len(layers), type(layers[-1]).__name__
    (3, 'ReLU')
    >>> list(layers.state_dict())
    ['0.weight', '0.bias', '1.weight', '1.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _mods(self):
        d = self.__dict__
        return [d[name] for name in d["_module_names"]]

    def _renumber(self, mods):
        _renumber(self, mods)

    def _index(self, idx):
        return _seq_index(idx, len(self), "ModuleList")

    def __len__(self):
        return len(self.__dict__["_module_names"])

    def __iter__(self):
        return iter(self._mods())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(self._mods()[idx])
        return self._mods()[self._index(idx)]

    def __setitem__(self, idx, module):
        if isinstance(idx, slice):
            raise TypeError("ModuleList does not support slice assignment (assign one index, "
                            "or use del, insert and extend)")
        if not hasattr(idx, "__index__"):
            raise TypeError(f"ModuleList indices must be integers, got {type(idx).__name__}")
        _check_module(module, "ModuleList.__setitem__")
        setattr(self, str(self._index(idx)), module)

    def __delitem__(self, idx):
        mods = self._mods()
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[self._index(idx)]
        self._renumber(mods)

    def append(self, module):
        """Add ``module`` at the end; returns ``self``."""
        setattr(self, str(len(self)), _check_module(module, "ModuleList.append"))
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules``; returns ``self``."""
        return _extend(self, modules, "ModuleList.extend")

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        _check_module(module, "ModuleList.insert")
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"ModuleList.insert: index must be an integer, got "
                            f"{type(index).__name__}") from None
        mods = self._mods()
        mods.insert(index, module)
        self._renumber(mods)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        if not isinstance(other, ModuleList):
            return NotImplemented
        return ModuleList(self._mods() + other._mods())


class ModuleDict(Module):
    """A dict of modules, each registered under its key (a str without "."; a key that names
    an attribute of the container, such as "keys" or "training", is refused).

    Keeps insertion order; supports ``d[key]``, assignment, ``del``, ``in``, ``len``, iteration
    over the keys, ``keys()``, ``values()``, ``items()``, ``update``, ``pop`` and ``clear``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> heads = ag.nn.ModuleDict({"a": ag.nn.Linear(4, 2), "b": ag.nn.Linear(4, 3)})
    >>> heads["b"](ag.ones(5, 4)).shape
    (5, 3)
    >>> "a" in heads, list(heads)
    (True, ['a', 'b'])
    >>> list(heads.state_dict())
    ['a.weight', 'a.bias', 'b.weight', 'b.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self:
            raise KeyError(key)
        return self.__dict__[key]

    def __setitem__(self, key, module):
        _check_module(module, f"ModuleDict[{key!r}]")
        self.add_module(key, module)

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        delattr(self, key)

    def __contains__(self, key):
        return key in self.__dict__["_module_names"]

    def __len__(self):
        return len(self.__dict__["_module_names"])

    def __iter__(self):
        return iter(list(self.__dict__["_module_names"]))

    def keys(self):
        """The keys, in insertion order."""
        return list(self)

    def values(self):
        """The modules, in insertion order."""
        return [self.__dict__[k] for k in self]

    def items(self):
        """(key, module) pairs, in insertion order."""
        return [(k, self.__dict__[k]) for k in self]

    def update(self, modules):
        """Add or replace entries from a mapping or an iterable of (key, module) pairs."""
        if hasattr(modules, "keys"):
            pairs = [(k, modules[k]) for k in modules.keys()]
        else:
            try:
                pairs = list(modules)
            except TypeError:
                raise TypeError(f"ModuleDict.update: expected a mapping or an iterable of "
                                f"(key, module) pairs, got {type(modules).__name__}") from None
            for j, p in enumerate(pairs):
                if not isinstance(p, (tuple, list)) or len(p) != 2:
                    raise ValueError(f"ModuleDict.update: element {j} is not a (key, module) "
                                     f"pair: {p!r}")
        for k, m in pairs:  # everything is checked before anything changes
            _check_module(m, f"ModuleDict.update[{k!r}]")
            self._check_new_name("ModuleDict.update", k, self.__dict__["_module_names"])
        for k, m in pairs:
            self[k] = m

    def pop(self, key):
        """Remove the entry ``key`` and return its module."""
        m = self[key]
        del self[key]
        return m

    def clear(self):
        """Remove every entry."""
        for k in list(self):
            del self[k]
