"""Seeded fault injection: kill the driver of a real run at random points, resume, and check
that nothing committed is lost, changed or evaluated again.

`scenarios` holds the objectives and specs, `store_view` reads a store without writing to
it, `harness` runs the kill-and-resume loop and `checks` judges the result. The tests run a
fixed seed; ``benchmarks/faults.py`` runs hundreds of kill points with the same code.
"""
