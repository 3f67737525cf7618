"""The benchmark scripts, run as modules from the repository root, e.g.
``python -m benchmarks.run_quality --preset cpu``.

- ``protocol``: the shared PTB-XL protocol (data, label budgets, probe, scores, result files);
- ``baselines``: raw signal, MiniRocket and from-scratch baselines on that protocol;
- ``quality_report``: the label-efficiency table and plot rebuilt from saved results;
- ``methods``: one module of presets per method;
- the scripts: ``run_quality``, ``reduced_leads``, ``zero_shot`` and ``run_speed``.
"""
