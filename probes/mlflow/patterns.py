"""Names of metrics, tags and artifacts that show monitoring, validation and responsible-AI work.

Matching is on lower-cased names split at separators, so ``psi`` matches ``feature_psi`` and
``val/psi`` but not ``epsilon``.
"""

from __future__ import annotations

import re
from functools import lru_cache

# category -> word patterns (regex fragments matched against whole "words" of a name)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "drift": (r"drift\w*", r"psi", r"population_stability\w*", r"ks(_stat\w*|_test|_pvalue)?",
              r"kolmogorov\w*", r"kl_div\w*", r"js_div\w*", r"jensen\w*", r"wasserstein\w*",
              r"chi2_drift"),
    "data_quality": (r"data_quality\w*", r"dq", r"expectations?\w*", r"great_expectations",
                     r"null_(count|fraction|rate|ratio)", r"missing_(values|rate|ratio|fraction)",
                     r"schema_(violations?|errors?|check)", r"pandera", r"deequ",
                     r"validation_(errors?|failures?|success\w*)", r"duplicate_rows?"),
    "fairness": (r"bias\w*", r"fairness\w*", r"demographic_parity\w*", r"equali[sz]ed_odds\w*",
                 r"equal_opportunity\w*", r"disparate_impact\w*", r"statistical_parity\w*",
                 r"fairlearn", r"aif360", r"selection_rate_(ratio|difference)"),
    "explainability": (r"shap\w*", r"lime", r"explain\w*", r"integrated_gradients",
                       r"feature_attribution\w*", r"permutation_importance\w*"),
    "gate": (r"validation_(passed|status|gate)", r"gate\w*", r"threshold_(passed|met|check)",
             r"passed_threshold\w*", r"model_validation\w*", r"champion_challenger\w*"),
    "evaluation": (r"example_count", r"eval_results_table", r"evaluation\w*",
                   r"eval_\w*"),
}

_COMPILED = {cat: re.compile(r"(?:^|[^a-z0-9])(?:" + "|".join(p) + r")(?:$|[^a-z0-9])")
             for cat, p in CATEGORIES.items()}

#: params that say a run spanned several processes or machines
DISTRIBUTED_PARAMS = ("world_size", "num_nodes", "nnodes", "num_workers", "num_gpus",
                      "instance_count", "num_processes", "n_workers")


@lru_cache(maxsize=8192)
def categories(name: str) -> frozenset[str]:
    """Categories a metric, tag or artifact name belongs to (usually none). Cached: the same
    few names repeat on every run."""
    low = name.lower().replace("-", "_").replace(" ", "_")
    return frozenset(cat for cat, rx in _COMPILED.items() if rx.search(low))
