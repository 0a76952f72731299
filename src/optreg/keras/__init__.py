"""Keras 3 twins of every algorithm in ``optreg``, written from the equations with ``keras.ops``.

Importing this package imports Keras (and its backend); ``import optreg`` alone does not.
Submodules: ``optimizers``, ``schedules``, ``callbacks``, ``layers``, ``initializers``,
``regularizers``, ``constraints``, ``models``.
"""
