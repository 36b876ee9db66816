"""Signal prefixes this probe emits, and which of them each listing could have produced
(an Unobserved names the latter, so the engine says unknown rather than unmet)."""

RUN_SIGNALS = ("tracking.runs", "schedule", "lineage.code", "lineage.data", "distributed",
               "monitoring", "fairness", "explainability", "data_validation", "validation",
               "compute", "platform", "tempo.training_runs_per_week")
REGISTRY_SIGNALS = ("registry", "governance", "lineage.model", "metadata",
                    "tempo.model_versions_per_month", "tempo.promotion_lead_time_days",
                    "tempo.production_model_age_days")
ALL_SIGNALS = ("tracking", "tool", "metadata", "tempo", "lineage", "schedule", "distributed",
               "monitoring", "fairness", "explainability", "data_validation", "validation",
               "compute", "platform", "registry", "governance")
