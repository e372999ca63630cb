"""The sparsity study in one command: ``python sweep.py --sparsity 0,0.5,0.667,0.75``.

Thin entry point; the sweep lives in ``sparsesweep.sweep`` (see ``python sweep.py --help``);
``sparsesweep sweep`` and ``sparsesweep.sweep()`` run the same sweep.
"""

if __name__ == "__main__":
    import sys

    from sparsesweep.sweep.cli import main

    sys.exit(main())
